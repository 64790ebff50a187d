import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { canonicalBytes } from "../../src/evidence/canonical-json.js";
import { recordPath } from "../../src/evidence/ledger.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import type { RepositorySchedule } from "../../src/github/scheduled/schedule.js";
import type { ReadinessReport } from "../../src/readiness/result.js";
import type { ReadinessRecord } from "../../src/schema-types/evidence-record.generated.js";
import { openTrailRuntime, type TrailRuntime } from "../../src/github/trail/trail-runtime.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import type { DecidedEvent } from "../../src/trail/decide.js";
import { series } from "../detect/trail-events.js";
import { runCli } from "../cli/run-cli.js";
import { AGENTS, approvedPullRequest, ledger, verifyClone } from "../faults/fault-fixture.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

/**
 * The scheduled readiness record end to end: the app (against the GitHub simulator) appends a
 * signed, chained readiness record and its page once per interval; an auditor's clone of just
 * the evidence branch shows the record in force at a date with charter readiness --at, which
 * re-evaluates it; an edited record is caught by charter verify and by --at.
 */
const KEYS = generateSignerKey("charter-test-readiness");
const DAY = 86_400_000;
let fx: AppFixture | undefined;
let trail: TrailRuntime | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await fx?.close();
  fx = undefined;
  await trail?.close();
  trail = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "charter-readiness-record-"));
  dirs.push(dir);
  return dir;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" });
}

const statuses = (items: readonly { id: string; status: string }[]) => Object.fromEntries(items.map((i) => [i.id, i.status]));

describe("the scheduled readiness record", () => {
  it("is appended once per interval, signed and chained with its page, and charter readiness --at shows the one in force at a date from a bare clone", async () => {
    let offset = 0;
    let schedule: RepositorySchedule | undefined;
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey, now: () => new Date(Date.now() + offset), environment: { CHARTER_READINESS_INTERVAL: "7d" }, onSchedule: (s) => (schedule = s) });
    const { sim, repo } = fx;
    const opened = await approvedPullRequest(sim, repo, "model", "20251101");
    await sim.mergePullRequest(opened.pull, { by: "dana-support" });
    await sim.idle();
    await schedule?.tick();
    // Run again within the same interval, whatever its due time: the record is found by its key and not written twice.
    await schedule?.tick({ force: ["readiness"] });
    let reports = ledger(sim, repo).filter((r): r is ReadinessRecord => r.kind === "readiness");
    expect(reports).toHaveLength(1);
    offset = 8 * DAY;
    await schedule?.tick();
    reports = ledger(sim, repo).filter((r): r is ReadinessRecord => r.kind === "readiness");
    expect(reports).toHaveLength(2);
    const [first, second] = reports as [ReadinessRecord, ReadinessRecord];
    expect(Date.parse(second.body.period.until) - Date.parse(first.body.period.until)).toBeGreaterThanOrEqual(8 * DAY);
    expect(Date.parse(first.body.period.until) - Date.parse(first.body.period.since ?? "")).toBe(7 * DAY);
    expect(first.body.ledgerSize).toBeLessThanOrEqual(first.seq);
    expect(statuses(first.body.items)).toMatchObject({ integrity: "pass", inventory: "not-applicable", alerting: "not-applicable" });
    expect(first.body.items.find((i) => i.id === "change-management")?.checked).toBe(1);
    expect(await verifyClone(sim, repo, KEYS.verifierKey)).toMatchObject({ ok: true, problems: [] });

    // The page: the latest report and both in the history, linked from the branch's README.
    const page = git(sim.repoPath(repo), "show", "charter-evidence:readiness/README.md");
    expect(page).toContain(`Recorded in [record ${second.seq}]`);
    expect(page).toContain(`| [${first.seq}](../pages/0/0/${first.seq}.md) |`);
    expect(page).toContain(`| [${second.seq}](../pages/0/0/${second.seq}.md) |`);
    expect(git(sim.repoPath(repo), "show", "charter-evidence:README.md")).toContain("(readiness/README.md)");

    // An auditor's clone of nothing but the evidence branch: no trail, no alert store, no index.
    const bare = join(scratch(), "evidence.git");
    execFileSync("git", ["clone", "-q", "--bare", "--single-branch", "--branch", "charter-evidence", sim.repoPath(repo), bare]);
    const at = async (when: string, format = "json") => runCli(["readiness", "--at", when, "--key", KEYS.verifierKey, "--format", format, "--repo", bare], bare);

    const before = await at(new Date(Date.parse(first.observedAt) - 60_000).toISOString());
    expect(before.code).toBe(2);
    expect(before.stderr).toContain("no readiness record on charter-evidence was written at or before");

    for (const [when, expected] of [
      [new Date(Date.parse(first.observedAt) + 60_000).toISOString(), first],
      [first.observedAt, first],
      [new Date(Date.parse(second.observedAt) + DAY).toISOString(), second],
    ] as const) {
      const shown = await at(when);
      const report = JSON.parse(shown.stdout) as ReadinessReport;
      expect(report.record).toEqual({ seq: expected.seq, path: recordPath(expected.seq), observedAt: expected.observedAt });
      expect(report.period).toEqual(expected.body.period);
      expect(statuses(report.items)).toEqual(statuses(expected.body.items));
      expect(shown.stderr).toContain(`record ${expected.seq} (${recordPath(expected.seq)}`);
      expect(shown.stderr).not.toContain("disagrees");
      expect(shown.code).toBe(expected.body.status === "pass" ? 0 : 1);
    }
    const text = await at(second.observedAt, "text");
    expect(text.stdout).toContain(`As recorded in record ${second.seq} (${recordPath(second.seq)}`);
  });

  it("is caught by charter verify and by charter readiness --at when its status is edited", async () => {
    let schedule: RepositorySchedule | undefined;
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey, onSchedule: (s) => (schedule = s) });
    const { sim, repo } = fx;
    const opened = await approvedPullRequest(sim, repo, "model", "20251101");
    await sim.mergePullRequest(opened.pull, { by: "dana-support" });
    await sim.idle();
    await schedule?.tick();
    const record = ledger(sim, repo).find((r): r is ReadinessRecord => r.kind === "readiness");
    if (record === undefined) throw new Error("no readiness record was written");

    const clone = join(scratch(), "clone");
    execFileSync("git", ["clone", "-q", "--branch", "charter-evidence", sim.repoPath(repo), clone]);
    const file = join(clone, recordPath(record.seq));
    const stored = JSON.parse(readFileSync(file, "utf8")) as ReadinessRecord;
    const edited: ReadinessRecord = { ...stored, body: { ...stored.body, status: stored.body.status === "pass" ? "fail" : "pass" } };
    writeFileSync(file, canonicalBytes(edited));
    git(clone, "-c", "user.name=mallory", "-c", "user.email=m@example.com", "commit", "-qam", "tidy");

    const verified = await runCli(["verify", "--key", KEYS.verifierKey, "--format", "json"], clone);
    const problems = (JSON.parse(verified.stdout) as { problems: { code: string; seq?: number }[] }).problems;
    expect(problems).toContainEqual(expect.objectContaining({ code: "readiness-invalid", seq: record.seq }));
    expect(problems.map((p) => p.code)).toContain("checkpoint-root-mismatch");
    expect(verified.code).not.toBe(0);

    const shown = await runCli(["readiness", "--at", record.observedAt, "--key", KEYS.verifierKey], clone);
    expect(shown.code).toBe(1);
    expect(shown.stdout).toBe("");
    expect(shown.stderr).toContain("readiness-invalid");
    expect(shown.stderr).toContain("does not verify");
  });

  it("judges the app's own trail for the trail repository, freezes what it saw, and --at re-evaluates it without the trail", async () => {
    const dir = scratch();
    const db = join(dir, "trail.sqlite");
    const store = openSqliteTrail(db);
    const since = new Date(Date.now() - DAY).toISOString();
    // The agent's own reads, and a principal no manifest stands for, within the last interval.
    const events: DecidedEvent[] = [
      ...series(3, since, 1000),
      ...series(2, new Date(Date.parse(since) + 10_000).toISOString(), 1000, () => ({ principal: "dba_mallory", agent: null, permission: null, manifestSeq: null, manifestCommit: null, inScope: false })),
    ].map(({ seq: _seq, hash: _hash, ...rest }, i) => ({ ...rest, id: `readiness-${i}`, sourceKey: `readiness-${i}` }));
    expect((await store.append(events)).stored).toHaveLength(events.length);
    await store.close();
    trail = await openTrailRuntime({ CHARTER_TRAIL_DB: db, CHARTER_TRAIL_REPOSITORY: "acme/agents", CHARTER_DETECTION: "off", CHARTER_TRAIL_REFRESH_INTERVAL: "1h" });
    let schedule: RepositorySchedule | undefined;
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey, trail: trail as TrailRuntime, onSchedule: (s) => (schedule = s) });
    const { sim, repo } = fx;
    const opened = await approvedPullRequest(sim, repo, "model", "20251101");
    await sim.mergePullRequest(opened.pull, { by: "dana-support" });
    await sim.idle();
    await schedule?.tick();
    const record = ledger(sim, repo).find((r): r is ReadinessRecord => r.kind === "readiness");
    if (record === undefined) throw new Error("no readiness record was written");
    const inventory = record.body.items.find((i) => i.id === "inventory");
    expect(inventory?.status).toBe("fail");
    expect(inventory?.failures.map((f) => f.subject)).toEqual(["principal dba_mallory"]);
    expect(record.body.facts.trail?.principals.map((p) => [p.principal, p.agent, p.events])).toEqual([
      ["charter_support_triage", "support-triage", 3],
      ["dba_mallory", null, 2],
    ]);
    expect(record.body.facts.trail?.verification).not.toBeNull();
    expect(record.body.facts.alerts).toBeNull();

    const bare = join(scratch(), "evidence.git");
    execFileSync("git", ["clone", "-q", "--bare", "--single-branch", "--branch", "charter-evidence", sim.repoPath(repo), bare]);
    const shown = await runCli(["readiness", "--at", record.observedAt, "--key", KEYS.verifierKey, "--format", "json", "--repo", bare], bare);
    expect(shown.stderr).not.toContain("disagrees");
    const report = JSON.parse(shown.stdout) as ReadinessReport;
    expect(report.record?.seq).toBe(record.seq);
    expect(report.items.find((i) => i.id === "inventory")?.failures.map((f) => f.subject)).toEqual(["principal dba_mallory"]);
    expect(statuses(report.items)).toEqual(statuses(record.body.items));
    expect(shown.code).toBe(1);
  });
});
