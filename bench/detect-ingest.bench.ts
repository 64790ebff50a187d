import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { manifestCatalog } from "../src/detect/manifests-in-force.js";
import { resolveSettings } from "../src/detect/settings.js";
import { LiveDetection } from "../src/sources/live-detection.js";
import { openSqliteAlerts } from "../src/sources/sqlite-alert-store.js";
import { openSqliteTrail } from "../src/sources/sqlite-trail-store.js";
import type { DecidedEvent } from "../src/trail/decide.js";
import { eventId } from "../src/trail/event-bytes.js";
import { events, manifests, sigmaRules } from "./detect.bench.js";
import { median, report, round, time } from "./measure.js";

/**
 * What live detection costs ingest: the same events stored into a fresh SQLite trail in batches
 * of 1,000 (the ingestor's group commit), once alone and once with live detection consuming each
 * durable batch as the app does (every built-in rule and baseline, 50 Sigma rules, alerts
 * recorded and logged into the trail). The two sides alternate within one run; each reports its
 * minimum and median. Sizes can be lowered for the smoke test.
 */
const EVENTS = Number(process.env["CHARTER_BENCH_DETECT_INGEST_EVENTS"] ?? 50_000);
const SAMPLES = Math.max(3, Number(process.env["CHARTER_BENCH_DETECT_INGEST_SAMPLES"] ?? 3));
const BATCH = 1_000;

export async function run(): Promise<void> {
  const catalog = manifestCatalog(manifests());
  const rules = sigmaRules();
  const settings = resolveSettings({ version: 1, prices: [{ model: "claude-*", inputUsdPerMillionTokens: 3, outputUsdPerMillionTokens: 15 }] });
  const list: DecidedEvent[] = events(EVENTS, Date.parse("2026-03-04T08:00:00Z"), 10).map(({ seq: _seq, hash: _hash, ...rest }) => ({ ...rest, id: eventId(rest.source, rest.sourceInstance, rest.sourceKey) }));
  const dir = mkdtempSync(join(tmpdir(), "charter-bench-detect-ingest-"));
  let sample = 0;
  let alerts = 0;
  const ingest = async (detect: boolean): Promise<number> => {
    const path = join(dir, `trail-${String(sample++)}.sqlite`);
    const trail = openSqliteTrail(path);
    const store = openSqliteAlerts(path);
    try {
      let live: LiveDetection | null = null;
      if (detect) {
        live = new LiveDetection(trail, store, catalog, { snapshotEveryMs: 10_000 });
        await live.configure({ rules, settings });
        await live.begin();
        await live.start();
      }
      const ms = await time(async () => {
        for (let i = 0; i < list.length; i += BATCH) {
          const { stored } = await trail.append(list.slice(i, i + BATCH));
          if (live !== null) await live.consume(stored);
        }
        await live?.close();
      });
      if (detect) alerts = (await store.list({ limit: 10_000 })).length;
      return ms;
    } finally {
      await store.close();
      await trail.close();
      rmSync(path, { force: true });
      rmSync(`${path}-wal`, { force: true });
      rmSync(`${path}-shm`, { force: true });
    }
  };
  const alone: number[] = [];
  const detecting: number[] = [];
  try {
    for (let s = 0; s < SAMPLES; s++) {
      alone.push(await ingest(false));
      detecting.push(await ingest(true));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const side = (ms: readonly number[]) => ({ minMs: round(Math.min(...ms)), medianMs: round(median(ms)), eventsPerSecond: Math.round(EVENTS / (median(ms) / 1000)) });
  report({
    bench: "detect/ingest-cost",
    events: EVENTS,
    batch: BATCH,
    sigmaRules: 50,
    samples: SAMPLES,
    ingestAlone: side(alone),
    ingestWithDetection: side(detecting),
    alertsRecorded: alerts,
    // Medians: how many times ingest alone's time ingest with detection takes.
    ratio: round(median(detecting) / median(alone), 3),
    ratioOfMinimums: round(Math.min(...detecting) / Math.min(...alone), 3),
  });
}
