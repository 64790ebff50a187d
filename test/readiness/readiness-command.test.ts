import Database from "better-sqlite3";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Alert } from "../../src/detect/alert.js";
import { recordPath } from "../../src/evidence/ledger.js";
import type { ReadinessReport } from "../../src/readiness/result.js";
import { evaluateAlert, logAlerts } from "../../src/sources/alert-log.js";
import { openSqliteAlerts } from "../../src/sources/sqlite-alert-store.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import { anchorBody } from "../../src/sources/trail-sealer.js";
import { type AuditLedger, buildAuditLedger, change, FINANCE, MANIFESTS, SUPPORT, writeEvidence } from "../audit/audit-ledger.js";
import { REPOSITORY } from "../evidence/ledger-fixture.js";
import { runCli } from "../cli/run-cli.js";
import { saveEnv } from "../helpers/saved-env.js";
import { type TempRepo, tempRepo } from "../helpers/temp-repo.js";

/**
 * charter readiness against the real parts: a throwaway clone whose evidence branch holds a
 * signed ledger with manifest copies, a SQLite trail filled through the real ingest path
 * (charter trail ingest), sealed and anchored on that branch as the app does it, and the alert
 * store beside it. Each test stages one thing an auditor would find and checks that the item
 * answering for it fails, naming it, while the baseline passes.
 */
const PERIOD = ["--since", "2026-03-01", "--until", "2026-03-10"];
const MERGED = "2026-03-01T10:00:00Z";

let repo: TempRepo;
let db: string;
let ledger: AuditLedger;
let restore: () => void;

function eventLine(n: number, principal = "charter_agent_support_triage"): string {
  return JSON.stringify({
    eventId: `evt-${principal}-${n}`,
    eventTime: new Date(Date.parse("2026-03-03T14:00:00Z") + n * 1000).toISOString(),
    userIdentity: { type: "postgres-role", principalId: principal },
    eventSource: "redis",
    eventName: "get",
    resources: [{ name: "support:tickets:1", instance: "cache-prod" }],
  });
}

function alertOf(name: string, firedAt: string): Alert {
  return {
    id: createHash("sha256").update(name).digest("hex"),
    rule: { id: "charter/out-of-scope", kind: "manifest", title: "out of scope", file: null },
    agent: SUPPORT,
    principal: "charter_agent_support_triage",
    owners: ["@dana"],
    manifest: { seq: 1, commit: null },
    severity: "high",
    dataClasses: [],
    events: [{ id: `${name}-event`, seq: 1, traceId: null, observedAt: firedAt }],
    eventCount: 1,
    window: { start: firedAt, end: firedAt },
    firedAt,
    why: { text: "out of scope", children: [] },
  };
}

interface Stage {
  /** Change records beyond the baseline's (support-triage created, approved, tested). */
  readonly changes?: Parameters<typeof change>[0][];
  readonly exceptions?: { readonly kind: "admin-bypass" | "direct-push"; readonly issue: number | null }[];
  /** Principals beyond the agent's own that act in the trail. */
  readonly principals?: string[];
  readonly policy?: string;
  /** Alerts fired in the period, and how long after firing each was resolved (null: never). */
  readonly alerts?: { readonly name: string; readonly resolvedAfterMs: number | null }[];
}

/** The clone, ledger, trail and alerts of a stage, built the way the app builds them. */
async function stage(s: Stage = {}): Promise<void> {
  repo = tempRepo({ "README.md": "# agents\n", ...(s.policy === undefined ? {} : { ".github/charter.yml": s.policy }) });
  repo.commitAll("main");
  const specs = [{ pr: 11, agent: SUPPORT, mergedAt: MERGED, kinds: ["agent-created" as const], manifest: MANIFESTS.supportV1, approvers: ["alice"], checks: ["success"] }, ...(s.changes ?? [])];
  const changes = specs.map((spec, i) => {
    const c = change(spec);
    return { entry: { kind: "change" as const, body: c.body, observedAt: new Date(Date.parse(MERGED) + (i + 1) * 60_000).toISOString() }, copies: c.copies };
  });
  const exceptions = (s.exceptions ?? []).map((e, i) => ({
    entry: {
      kind: "exception" as const,
      body: { kind: e.kind, repository: { ...REPOSITORY }, commits: ["e".repeat(40)], pullRequest: null, reason: `${e.kind} on main`, agents: [SUPPORT], issue: e.issue },
      observedAt: new Date(Date.parse("2026-03-02T00:00:00Z") + i * 60_000).toISOString(),
    },
  }));
  ledger = buildAuditLedger([...changes, ...exceptions]);
  writeEvidence(repo, ledger);
  restore = saveEnv(["CHARTER_SIGNING_KEY", "DATABASE_URL", "CHARTER_TRAIL_DB"]);
  delete process.env["DATABASE_URL"];
  delete process.env["CHARTER_TRAIL_DB"];
  process.env["CHARTER_SIGNING_KEY"] = ledger.signerKey;
  db = join(repo.root, ".git", "trail.sqlite");

  const lines = [...Array.from({ length: 5 }, (_, i) => eventLine(i)), ...(s.principals ?? []).map((p, i) => eventLine(100 + i, p))];
  const file = join(repo.root, ".git", "events.ndjson");
  writeFileSync(file, `${lines.join("\n")}\n`);
  const ingested = await runCli(["trail", "ingest", "--source", "events", "--instance", "gateway", "--attested", "--db", db, file], repo.root);
  expect(ingested.stderr).not.toContain("charter:");
  expect(ingested.code).toBe(0);
  // Alerts as live detection raises them and people evaluate them: each in the trail's log first.
  const alerts = openSqliteAlerts(db);
  const trail = openSqliteTrail(db);
  try {
    for (const [i, a] of (s.alerts ?? []).entries()) {
      const firedAt = new Date(Date.parse("2026-03-04T00:00:00Z") + i * 60_000).toISOString();
      const alert = alertOf(a.name, firedAt);
      await logAlerts(trail, [alert]);
      await alerts.record([alert], null, Date.parse(firedAt));
      if (a.resolvedAfterMs !== null) await evaluateAlert(alerts, trail, { id: alert.id, to: "resolved", by: "dana", reason: "expected: the nightly export", untilMs: null }, Date.parse(firedAt) + a.resolvedAfterMs);
    }
  } finally {
    await trail.close();
    await alerts.close();
  }
  expect((await runCli(["trail", "seal", "--db", db], repo.root)).code).toBe(0);
  await anchor();

}

/** Anchors the trail's sealed segments on the evidence branch, as the app's anchoring job does. */
async function anchor(): Promise<void> {
  const store = openSqliteTrail(db);
  try {
    const next = await anchorBody(store);
    if (next === null) return;
    ledger = buildAuditLedger([{ entry: { kind: "trail-anchor", body: next.body, observedAt: new Date().toISOString() } }], ledger);
    writeEvidence(repo, ledger);
    await store.markAnchored(next.segments, { seq: ledger.records.length - 1, sha256: ledger.hashes.at(-1) ?? "" });
  } finally {
    await store.close();
  }
}

async function readiness(...extra: string[]): Promise<{ code: number; report: ReadinessReport; stderr: string }> {
  const result = await runCli(["readiness", ...PERIOD, "--db", db, "--key", ledger.verifierKey, "--query-budget", "9999999", "--format", "json", ...extra], repo.root);
  expect(result.stderr).not.toContain("internal error");
  if (result.stdout === "") throw new Error(`charter readiness wrote nothing (exit ${result.code}): ${result.stderr}`);
  return { code: result.code, report: JSON.parse(result.stdout) as ReadinessReport, stderr: result.stderr };
}

function item(report: ReadinessReport, id: string) {
  const found = report.items.find((i) => i.id === id);
  if (found === undefined) throw new Error(`no item ${id}`);
  return found;
}

function statuses(report: ReadinessReport): Record<string, string> {
  return Object.fromEntries(report.items.map((i) => [i.id, i.status]));
}

beforeEach(() => {
  restore = () => undefined;
});
afterEach(() => {
  restore();
  repo.remove();
});

describe("charter readiness", () => {
  it("passes every item on a well-run period, each with what it checked and the proof", async () => {
    await stage({ exceptions: [{ kind: "admin-bypass", issue: 40 }], alerts: [{ name: "handled", resolvedAfterMs: 3_600_000 }] });
    const { code, report } = await readiness();
    expect(statuses(report)).toEqual({ inventory: "pass", identities: "pass", enforcement: "pass", integrity: "pass", queryable: "pass", "change-management": "pass", alerting: "pass", completeness: "pass" });
    expect(code).toBe(0);
    expect(item(report, "inventory").checked).toBe(1);
    expect(item(report, "enforcement").checked).toBe(1);
    expect(item(report, "enforcement").children.map((c) => [c.id, c.status])).toEqual([
      ["enforcement/agent/support-triage", "pass"],
      ["enforcement/system/redis", "pass"],
    ]);
    expect(item(report, "change-management").checked).toBe(2);
    expect(item(report, "integrity").children.map((c) => [c.title, c.status, c.checked])).toEqual([
      ["evidence ledger", "pass", ledger.records.length],
      // The gateway's 5 events, and the alert log's record of the alert and of its resolution.
      ["action trail", "pass", 7],
    ]);
    const query = item(report, "queryable");
    expect(query.measured?.["budgetMs"]).toBe(9999999);
    expect(query.measured?.["ms"]).toBeGreaterThanOrEqual(0);
    expect(query.links[0]?.ref).toBe("charter audit actions --data-class customer-pii --outside-hours --since 2026-03-01T00:00:00.000Z --until 2026-03-10T00:00:00.000Z --by-agent");
    expect(item(report, "alerting").checked).toBe(1);
    expect(report.period).toEqual({ since: "2026-03-01T00:00:00.000Z", until: "2026-03-10T00:00:00.000Z" });
  });

  it("fails inventory for a principal no manifest owns, naming it and its first event", async () => {
    await stage({ principals: ["dba_alice"] });
    const { code, report } = await readiness();
    const inventory = item(report, "inventory");
    expect(inventory.status).toBe("fail");
    expect(code).toBe(1);
    expect(inventory.failures).toHaveLength(1);
    expect(inventory.failures[0]?.subject).toBe("principal dba_alice");
    expect(inventory.failures[0]?.links).toContainEqual(expect.objectContaining({ kind: "event", ref: "6" }));
    expect(statuses(report)).toMatchObject({ identities: "pass", enforcement: "pass", integrity: "pass" });
  });

  it("fails identities for a principal bound to two agents at once", async () => {
    await stage();
    const store = openSqliteTrail(db);
    try {
      await store.addBindings([
        { principal: "lease_7f3a", instance: null, agent: SUPPORT, kind: "lease", fromMs: Date.parse("2026-03-02T00:00:00Z"), untilMs: null },
        { principal: "lease_7f3a", instance: null, agent: FINANCE, kind: "lease", fromMs: Date.parse("2026-03-03T00:00:00Z"), untilMs: null },
      ]);
    } finally {
      await store.close();
    }
    const { code, report } = await readiness();
    const identities = item(report, "identities");
    expect(identities.status).toBe("fail");
    expect(identities.failures.map((f) => [f.subject, f.reason])).toEqual([["principal lease_7f3a", `bound to 2 agents at once: ${FINANCE}, ${SUPPORT}`]]);
    expect(code).toBe(1);
  });

  it("fails enforcement for a permission no provider enforces, and for one no attested source records", async () => {
    const finance = { pr: 12, agent: FINANCE, mergedAt: "2026-03-01T12:00:00Z", kinds: ["agent-created" as const], manifest: MANIFESTS.financeV1, approvers: ["alice"], checks: ["success"] };
    await stage({ changes: [finance] });
    let { report } = await readiness();
    let enforcement = item(report, "enforcement");
    expect(enforcement.status).toBe("fail");
    expect(enforcement.failures.map((f) => [f.subject, f.reason])).toEqual([[`${FINANCE}: postgres:select:ledger.public.invoices@erp`, "no configured provider enforces it"]]);
    expect(enforcement.failures[0]?.fix).toContain("provisioning.providers");
    expect(enforcement.children.map((c) => [c.id, c.status])).toEqual([
      [`enforcement/agent/${FINANCE}`, "fail"],
      ["enforcement/agent/support-triage", "pass"],
      ["enforcement/system/postgres", "fail"],
      ["enforcement/system/redis", "pass"],
    ]);

    // A configured postgres provider enforces it; without the server's pgaudit log in the trail nothing attested records it.
    repo.write({ ".github/charter.yml": "version: 1\nprovisioning:\n  providers:\n    postgres:\n      - instance: erp\n" });
    repo.commitAll("configure erp");
    ({ report } = await readiness());
    enforcement = item(report, "enforcement");
    expect(enforcement.failures.map((f) => f.reason)).toEqual(["enforced by postgres@erp, but the trail has no attested source recording it: wanted pgaudit/erp (for postgres@erp)"]);
  });

  it("fails integrity when a record on the evidence branch is edited, naming the record", async () => {
    await stage();
    const path = recordPath(1);
    repo.git("checkout", "-q", "charter-evidence");
    const original = readFileSync(join(repo.root, path), "utf8");
    // The attacker's edit: the approver is changed, the record still parses and indexes.
    const edited = original.replace('"reviewer":"alice"', '"reviewer":"mallory"');
    expect(edited).not.toBe(original);
    repo.write({ [path]: edited });
    repo.commitAll("evidence");
    repo.git("checkout", "-q", "main");
    const { code, report } = await readiness();
    const integrity = item(report, "integrity");
    expect(integrity.status).toBe("fail");
    expect(code).toBe(1);
    const ledgerPart = integrity.children.find((c) => c.title === "evidence ledger");
    expect(ledgerPart?.status).toBe("fail");
    expect(ledgerPart?.failures.length).toBeGreaterThan(0);
    expect(ledgerPart?.failures.flatMap((f) => f.links.map((l) => l.ref))).toContain(recordPath(2));
    // Nothing else is answered from records that do not chain: the edited approval must not count.
    expect(item(report, "change-management").failures[0]?.reason).toContain("cannot be read to answer this");
  });

  it("fails integrity when the ledger is checked only against the key the branch publishes", async () => {
    await stage();
    const result = await runCli(["readiness", ...PERIOD, "--db", db, "--query-budget", "9999999", "--format", "json"], repo.root);
    const integrity = item(JSON.parse(result.stdout) as ReadinessReport, "integrity");
    expect(integrity.status).toBe("fail");
    expect(integrity.failures[0]?.reason).toContain("checked only against the key the branch itself publishes");
    expect(result.code).toBe(1);
  });

  it("fails change management for a change merged without approval and an exception without follow-up", async () => {
    const unapproved = { pr: 12, agent: SUPPORT, mergedAt: "2026-03-02T09:00:00Z", kinds: ["permission-added" as const], manifest: MANIFESTS.supportV2, decision: "pending" as const, checks: ["success"] };
    await stage({ changes: [unapproved], exceptions: [{ kind: "direct-push", issue: null }] });
    const { code, report } = await readiness();
    const cm = item(report, "change-management");
    expect(cm.status).toBe("fail");
    expect(code).toBe(1);
    expect(cm.failures.map((f) => f.subject)).toEqual(["change record 2 (pull request #12, support-triage)", "direct-push record 3 (support-triage)"]);
    expect(cm.failures[0]?.reason).toContain("merged without an approval");
    expect(cm.failures[1]?.reason).toContain("no follow-up");
    expect(cm.failures[0]?.links).toContainEqual({ kind: "record", ref: recordPath(2) });
    // The enforcement coverage follows the new version's permissions: still all recorded.
    expect(item(report, "enforcement").status).toBe("pass");
  });

  it("fails alerting for an alert left open past the response time, and passes one resolved in time", async () => {
    await stage({ alerts: [{ name: "handled", resolvedAfterMs: 3_600_000 }, { name: "ignored", resolvedAfterMs: null }, { name: "late", resolvedAfterMs: 3 * 86_400_000 }] });
    const { code, report } = await readiness("--respond-within", "4h");
    const alerting = item(report, "alerting");
    expect(alerting.status).toBe("fail");
    expect(code).toBe(1);
    expect(alerting.checked).toBe(3);
    const ignored = createHash("sha256").update("ignored").digest("hex");
    const late = createHash("sha256").update("late").digest("hex");
    expect(alerting.failures.map((f) => f.links[0]?.ref).sort()).toEqual([ignored, late].sort());
    expect(alerting.failures.find((f) => f.links[0]?.ref === ignored)?.reason).toContain("still open");
    expect(alerting.failures.find((f) => f.links[0]?.ref === late)?.reason).toContain("first resolved by dana 72 h after it fired");
  });

  it("fails integrity when an alert is deleted from the store behind the trail's log, and judges no alert record as an identity or a source", async () => {
    await stage({ alerts: [{ name: "handled", resolvedAfterMs: 3_600_000 }, { name: "gone", resolvedAfterMs: null }] });
    const before = (await readiness()).report;
    // The log's principals (Charter's detection, dana who resolved) are not identities that acted.
    expect(item(before, "inventory").status).toBe("pass");
    expect(item(before, "identities").status).toBe("pass");
    // The log is no infrastructure source: quiet since the last alert is not silence.
    expect(item(before, "completeness").status).toBe("pass");
    expect(item(before, "integrity").status).toBe("pass");
    const gone = alertOf("gone", new Date(Date.parse("2026-03-04T00:00:00Z") + 60_000).toISOString()).id;
    const sql = new Database(db);
    try {
      sql.prepare("DELETE FROM alerts WHERE id = ?").run(gone);
    } finally {
      sql.close();
    }
    const after = (await readiness()).report;
    const integrity = item(after, "integrity");
    expect(integrity.status).toBe("fail");
    expect(integrity.failures.map((f) => f.reason).join("\n")).toContain(gone);
  });

  it("fails completeness for an attested source that lost lines in the period", async () => {
    await stage();
    const store = openSqliteTrail(db);
    try {
      await store.recordGap({ source: "events", instance: "gateway", kind: "gap", detectedMs: Date.parse("2026-03-05T00:00:00Z"), detail: "the log was rotated before it was read" });
    } finally {
      await store.close();
    }
    const { report } = await readiness();
    const completeness = item(report, "completeness");
    expect(completeness.status).toBe("fail");
    expect(completeness.failures.map((f) => [f.subject, f.reason])).toEqual([["source events/gateway", "lost lines at 2026-03-05T00:00:00.000Z: the log was rotated before it was read"]]);
    // A gap outside the period is not this period's finding.
    const { report: later } = await runCli(["readiness", "--since", "2026-03-06", "--until", "2026-03-10", "--db", db, "--key", ledger.verifierKey, "--query-budget", "9999999", "--format", "json"], repo.root).then((r) => ({ report: JSON.parse(r.stdout) as ReadinessReport }));
    expect(item(later, "completeness").status).toBe("pass");
  });

  it("says not applicable, and why, where there is no trail to check", async () => {
    await stage();
    const result = await runCli(["readiness", ...PERIOD, "--db", join(repo.root, ".git", "absent.sqlite"), "--key", ledger.verifierKey, "--format", "json"], repo.root);
    const report = JSON.parse(result.stdout) as ReadinessReport;
    expect(result.stderr).toContain("no action trail at");
    for (const id of ["inventory", "identities", "queryable", "completeness", "alerting"]) {
      expect(item(report, id).status, id).toBe("not-applicable");
      expect(item(report, id).summary, id).toMatch(/^No (action trail|alert store) is configured/);
    }
    // Without a trail nothing records what the providers enforce: that is a gap, not nothing to check.
    expect(item(report, "enforcement").failures[0]?.reason).toContain("no action trail is configured");
  });

  it("writes text, Markdown and CSV from the same answers, with attacker-written names escaped", async () => {
    await stage({ principals: ["x\u001b[2Jevil|`"] });
    const text = await runCli(["readiness", ...PERIOD, "--db", db, "--key", ledger.verifierKey, "--query-budget", "9999999"], repo.root);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^Readiness FAIL for 2026-03-01T00:00:00.000Z to 2026-03-10T00:00:00.000Z: 1 of 8 items fail/);
    expect(text.stdout).toContain("FAIL  inventory");
    expect(text.stdout).not.toContain("\u001b");
    expect(text.stdout).toContain("principal x\\u001b[2Jevil|`");
    const md = await runCli(["readiness", ...PERIOD, "--db", db, "--key", ledger.verifierKey, "--query-budget", "9999999", "--format", "md"], repo.root);
    expect(md.stdout).toContain("| inventory | CC6.1 | fail | 2 |");
    expect(md.stdout).toContain("principal x\\\\u001b\\[2Jevil\\|\\`");
    const csv = await runCli(["readiness", ...PERIOD, "--db", db, "--key", ledger.verifierKey, "--query-budget", "9999999", "--format", "csv"], repo.root);
    expect(csv.stdout.split("\r\n")[0]).toBe("item,criteria,status,checked,summary,subject,reason,fix,links");
    expect(csv.stdout).toContain("inventory,CC6.1,fail,,,");
  });

  it("refuses bad options with a usage error", async () => {
    await stage();
    for (const args of [["--format", "xml"], ["--query-budget", "fast"], ["--respond-within", "soon"], ["--since", "2026-03-10", "--until", "2026-03-01"], ["--data-class", "secret-sauce"], ["--min-witnesses", "2"]]) {
      const result = await runCli(["readiness", "--db", db, ...args], repo.root);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toMatch(/^charter: /);
    }
  });
});
