import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALERT_LOG_SOURCE } from "../src/sources/alert-log.js";
import { alertLogRecords } from "../src/sources/alert-log-records.js";
import { openSqliteTrail } from "../src/sources/sqlite-trail-store.js";
import { anchorBody, sealPending } from "../src/sources/trail-sealer.js";
import type { DecidedEvent } from "../src/trail/decide.js";
import { summariseAlerts } from "../src/trail/alert-summary.js";
import { eventId } from "../src/trail/event-bytes.js";
import type { TrailSourceKind } from "../src/trail/event.js";
import { generateSignerKey } from "../src/evidence/signed-note.js";
import { median, report, round, time } from "./measure.js";

/**
 * alert-summary/anchor: the alert summary a trail-anchor record carries (reading the alert log's
 * records from the chain through the anchor's end, and summarising them) against the whole of
 * building that anchor's body (coverage, counts per agent and class, and the summary). The
 * ratio is the summary's share of anchoring; ≥ 3 samples of each, min and median.
 *
 * CHARTER_BENCH_ALERT_EVENTS other events (default 200,000), one alert per 100 of them, half of
 * the alerts evaluated.
 */
const EVENTS = Number(process.env["CHARTER_BENCH_ALERT_EVENTS"] ?? 200_000);
const BATCH = 5_000;
const T0 = Date.parse("2026-03-01T00:00:00Z");

function event(source: TrailSourceKind, key: string, at: number, action: string, resource: string, detail: Record<string, string>): DecidedEvent {
  return {
    id: eventId(source, source === ALERT_LOG_SOURCE ? "charter" : "crm-prod", key),
    source,
    sourceInstance: source === ALERT_LOG_SOURCE ? "charter" : "crm-prod",
    attested: true,
    sourceKey: key,
    observedAt: new Date(at).toISOString(),
    receivedAt: new Date(at).toISOString(),
    principal: source === ALERT_LOG_SOURCE ? "charter-detection" : "charter_support_triage",
    claimedAgent: null,
    tokenAgent: null,
    action,
    system: null,
    resource,
    instance: null,
    outcome: "allowed",
    errorCode: null,
    traceId: null,
    spanId: null,
    tool: null,
    model: null,
    inputTokens: null,
    outputTokens: null,
    detail,
    // The infrastructure's events belong to an agent, as real traffic does; the alert log's have none.
    agent: source === ALERT_LOG_SOURCE ? null : "support-triage",
    permission: null,
    manifestSeq: null,
    manifestCommit: null,
    inScope: null,
    localDay: null,
    localHour: null,
    withinHours: null,
    dataClasses: [],
    flags: [],
  };
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "charter-alert-summary-bench-"));
  try {
    const store = openSqliteTrail(join(dir, "trail.sqlite"), { durable: false });
    let alerts = 0;
    for (let from = 0; from < EVENTS; from += BATCH) {
      const batch: DecidedEvent[] = [];
      for (let i = from; i < Math.min(EVENTS, from + BATCH); i++) {
        const at = T0 + i * 1000;
        batch.push(event("pgaudit", `e${i}`, at, "select", "crm.public.customers", {}));
        if (i % 100 === 99) {
          const id = alerts.toString(16).padStart(64, "0");
          batch.push(event(ALERT_LOG_SOURCE, `raised:${id}`, at, "alert-raised", id, { rule: `charter/rule-${alerts % 7}`, severity: "high", agent: `agent-${alerts % 13}`, digest: "0".repeat(64) }));
          if (alerts % 2 === 0) batch.push(event(ALERT_LOG_SOURCE, `acknowledged:${id}`, at + 500, "alert-acknowledged", id, { from: "open", to: "acknowledged", digest: "0".repeat(64) }));
          alerts++;
        }
      }
      await store.append(batch);
    }
    const keys = generateSignerKey("charter-bench-alert-summary");
    await sealPending(store, keys.signerKey);
    const tip = (await store.tip()).seq;
    const summaryMs: number[] = [];
    const anchorMs: number[] = [];
    for (let r = 0; r < 3; r++) {
      summaryMs.push(await time(async () => summariseAlerts(await alertLogRecords(store, tip), 1, tip)));
      anchorMs.push(await time(() => anchorBody(store)));
    }
    report({
      bench: "alert-summary/anchor",
      events: tip,
      alerts,
      evaluations: Math.ceil(alerts / 2),
      ms_min: round(Math.min(...summaryMs)),
      ms_median: round(median(summaryMs)),
      samples: summaryMs.length,
      baseline: "the whole anchor body (coverage, counts and the summary)",
      baseline_ms_min: round(Math.min(...anchorMs)),
      baseline_ms_median: round(median(anchorMs)),
      baseline_samples: anchorMs.length,
      ratio: round(median(summaryMs) / median(anchorMs), 3),
    });
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
