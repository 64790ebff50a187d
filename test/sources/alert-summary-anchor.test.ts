import { readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { gitLedgerSource } from "../../src/audit/git-ledger-source.js";
import { canonicalText, parseCanonical } from "../../src/evidence/canonical-json.js";
import { recordPath } from "../../src/evidence/ledger.js";
import { manifestCatalog } from "../../src/detect/manifests-in-force.js";
import { checkManifest } from "../../src/manifest/check-manifest.js";
import { DEFAULT_LIMITS } from "../../src/manifest/limits.js";
import type { AgentManifest } from "../../src/schema-types/agent-manifest.generated.js";
import type { EvidenceRecord, TrailAnchorRecord } from "../../src/schema-types/evidence-record.generated.js";
import { evaluateAlert } from "../../src/sources/alert-log.js";
import { LiveDetection } from "../../src/sources/live-detection.js";
import { openSqliteAlerts } from "../../src/sources/sqlite-alert-store.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import { chunkLines, packChunk } from "../../src/sources/trail-chunk.js";
import { sealPending } from "../../src/sources/trail-sealer.js";
import type { TrailStore } from "../../src/sources/trail-store.js";
import { verifyStoredTrail } from "../../src/cli/stored-trail-verification.js";
import { eventId } from "../../src/trail/event-bytes.js";
import { series } from "../detect/trail-events.js";
import type { BuiltLedger } from "../evidence/ledger-fixture.js";
import { evidenceRepo } from "../helpers/evidence-repo.js";
import type { TempRepo } from "../helpers/temp-repo.js";
import { anchorTrail } from "../helpers/trail-anchor.js";

/**
 * The alert summary in the trail-anchor records the app writes, and `charter trail verify`
 * recomputing it from the trail's log: a real SQLite trail with its alert store beside it, live
 * detection raising the alerts, evaluations made as `charter alerts` makes them, and anchors
 * appended to a real evidence branch.
 */
const TRIAGE = checkManifest("agents/support-triage/agent.yaml", readFileSync("agents/support-triage/agent.yaml"), DEFAULT_LIMITS).manifest as AgentManifest;
const manifests = manifestCatalog([{ agent: "support-triage", seq: 7, manifest: TRIAGE }]);
const T0 = Date.parse("2026-03-04T10:00:00.000Z");

let repo: TempRepo;
let ledger: BuiltLedger;
let db: string;
beforeEach(() => {
  ({ repo, ledger } = evidenceRepo(2));
  db = join(repo.root, ".git", "trail.sqlite");
});
afterEach(() => {
  repo.remove();
});

/** Three out-of-scope reads a day apart by support-triage: three alerts. */
function outOfScope(): Parameters<TrailStore["append"]>[0] {
  return series(3, new Date(T0).toISOString(), 86_400_000, () => ({ resource: "crm.public.payments", permission: "postgres:select:crm.public.payments@crm-prod", inScope: false })).map(({ seq: _seq, hash: _hash, ...rest }) => ({
    ...rest,
    id: eventId(rest.source, rest.sourceInstance, `s-${rest.sourceKey}`),
    sourceKey: `s-${rest.sourceKey}`,
  }));
}

async function anchors(): Promise<TrailAnchorRecord[]> {
  const source = await gitLedgerSource(repo.root, "charter-evidence");
  try {
    const records = (await source.read(0, await source.size())).map((b) => parseCanonical(b) as EvidenceRecord);
    return records.filter((r): r is TrailAnchorRecord => r.kind === "trail-anchor");
  } finally {
    await source.close();
  }
}

async function verify(): Promise<{ ok: boolean; problems: readonly { code: string; message: string }[] }> {
  const store = openSqliteTrail(db);
  try {
    return await verifyStoredTrail(store, { root: repo.root, ref: "charter-evidence", verifierKeys: [ledger.verifierKey], env: {}, cwd: repo.root, db });
  } finally {
    await store.close();
  }
}

/** Raises three alerts, evaluates two of them (one acknowledged then resolved 2 h after it fired, one suppressed 30 min after), seals and anchors. */
async function stage(): Promise<string[]> {
  const trail = openSqliteTrail(db);
  const alerts = openSqliteAlerts(db);
  try {
    const live = new LiveDetection(trail, alerts, manifests);
    await live.begin();
    await live.start();
    await live.consume((await trail.append(outOfScope())).stored);
    await live.close();
    const raised = (await alerts.list({ limit: 10 })).reverse();
    const ids = raised.map((s) => s.alert.id);
    const [first = "", second = ""] = ids;
    const fired = (i: number): number => Date.parse(raised[i]?.alert.firedAt ?? "");
    await evaluateAlert(alerts, trail, { id: first, to: "acknowledged", by: "dana-support", reason: null, untilMs: null }, fired(0) + 600_000);
    await evaluateAlert(alerts, trail, { id: first, to: "resolved", by: "dana-support", reason: "Refund audit, TICKET-88", untilMs: null }, fired(0) + 7_200_000);
    await evaluateAlert(alerts, trail, { id: second, to: "suppressed", by: "dana-support", reason: "Audit continues", untilMs: fired(1) + 5 * 86_400_000 }, fired(1) + 1_800_000);
    await sealPending(trail, ledger.signerKey);
    return ids;
  } finally {
    await alerts.close();
    await trail.close();
  }
}

describe("the alert summary in the trail's anchor records", () => {
  it("carries the alerts raised and evaluated in the anchored events, and verify recomputes it", async () => {
    const ids = await stage();
    await anchorTrail(repo, db, ledger.tip, ledger.signerKey);
    const [anchor] = await anchors();
    const [first = "", second = "", third = ""] = ids;
    expect(anchor?.body.alerts).toEqual({
      raised: [
        { rule: "charter/out-of-scope", severity: "high", agent: "support-triage", status: "open", alerts: 1 },
        { rule: "charter/out-of-scope", severity: "high", agent: "support-triage", status: "resolved", alerts: 1 },
        { rule: "charter/out-of-scope", severity: "high", agent: "support-triage", status: "suppressed", alerts: 1 },
      ],
      evaluations: [
        { rule: "charter/out-of-scope", severity: "high", agent: "support-triage", to: "acknowledged", evaluations: 1 },
        { rule: "charter/out-of-scope", severity: "high", agent: "support-triage", to: "resolved", evaluations: 1 },
        { rule: "charter/out-of-scope", severity: "high", agent: "support-triage", to: "suppressed", evaluations: 1 },
      ],
      evaluated: [
        { alert: first, rule: "charter/out-of-scope", severity: "high", to: "acknowledged", at: "2026-03-04T10:10:00.000Z", first: true, afterSeconds: 600 },
        { alert: first, rule: "charter/out-of-scope", severity: "high", to: "resolved", at: "2026-03-04T12:00:00.000Z", first: false, afterSeconds: 7200 },
        { alert: second, rule: "charter/out-of-scope", severity: "high", to: "suppressed", at: "2026-03-05T10:30:00.000Z", first: true, afterSeconds: 1800 },
      ],
      evaluatedOmitted: 0,
      open: [{ alert: third, rule: "charter/out-of-scope", severity: "high", agent: "support-triage", status: "open", raisedAt: "2026-03-06T10:00:00.000Z" }],
      openTotal: 1,
    });
    expect(await verify()).toMatchObject({ ok: true, problems: [] });
  });

  it("fails verify when an anchor's summary is edited, and editing the log to match breaks the chain", async () => {
    await stage();
    await anchorTrail(repo, db, ledger.tip, ledger.signerKey);
    const [anchor] = await anchors();
    if (anchor === undefined) throw new Error("an anchor record expected");
    // The open alert hidden from the summary, the record rewritten in place on the branch (its
    // signature no longer matches, which charter verify reports; trail verify names the summary).
    const alerts = anchor.body.alerts;
    if (alerts === undefined) throw new Error("a summary expected");
    const edited: TrailAnchorRecord = { ...anchor, body: { ...anchor.body, alerts: { ...alerts, open: [], openTotal: 0 } } };
    repo.git("checkout", "-q", "charter-evidence");
    repo.write({ [recordPath(anchor.seq)]: `${canonicalText(edited)}\n` });
    repo.commitAll("edit the alert summary");
    repo.git("checkout", "-q", "main");
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.code)).toEqual(["alert-summary-mismatch"]);
    expect(report.problems[0]?.message).toContain(`evidence record ${String(anchor.seq)}`);
    expect(report.problems[0]?.message).toContain("counts 0 alerts open where the log has 1");

    // Now the log edited to agree: the open alert's record renamed, so the log no longer raises it.
    const sql = new Database(db);
    try {
      const chunks = sql.prepare("SELECT first_seq, lines FROM chunks ORDER BY first_seq").all() as { first_seq: number; lines: Buffer }[];
      const third = alerts.open[0]?.alert ?? "";
      for (const c of chunks) {
        const text = chunkLines(c.lines)?.toString("utf8") ?? "";
        const lines = text.trimEnd().split("\n");
        const i = lines.findIndex((l) => l.includes(`"resource":"${third}"`) && l.includes('"alert-raised"'));
        if (i === -1) continue;
        lines[i] = (lines[i] ?? "").replace('"alert-raised"', '"alert-noticed"');
        sql.prepare("UPDATE chunks SET lines = ? WHERE first_seq = ?").run(packChunk(lines.map((l) => Buffer.from(l))), c.first_seq);
      }
    } finally {
      sql.close();
    }
    const after = await verify();
    const codes = after.problems.map((p) => p.code);
    expect(codes).toContain("hash-mismatch");
    expect(codes).toContain("segment-root-mismatch");
  });
});
