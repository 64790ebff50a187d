import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseCanonical } from "../../src/evidence/canonical-json.js";
import type { ChangeRecord, EvidenceRecord, ExceptionRecord } from "../../src/schema-types/evidence-record.generated.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { appendChangeRecord } from "../../src/github/merge/evidence-writer.js";
import { loadTemplates, syntheticAgent } from "../../bench/seed-repository.js";
import { changeBody } from "../evidence/ledger-fixture.js";
import { runCli } from "../cli/run-cli.js";
import { ownAgents } from "../helpers/agents-fixture.js";
import { mutate } from "../helpers/manifests.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

let fx: AppFixture | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await fx?.close();
  fx = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const AGENTS = ownAgents();
const TRIAGE = "agents/support-triage/agent.yaml";
const ROLLBACK = "## Rollback plan\nRevert this pull request.\n";
const KEYS = generateSignerKey("charter-test-evidence");

function bump(version: string): string {
  return mutate(AGENTS[TRIAGE] ?? "", 'version: "20250929"', `version: "${version}"`);
}

function clone(f: AppFixture): string {
  const dir = mkdtempSync(join(tmpdir(), "charter-evidence-"));
  dirs.push(dir);
  execFileSync("git", ["clone", "-q", f.sim.repoPath(f.repo), join(dir, "clone")]);
  return join(dir, "clone");
}

function allRecords(f: AppFixture): EvidenceRecord[] {
  const git = (...args: string[]): string => execFileSync("git", ["--git-dir", f.sim.repoPath(f.repo), ...args], { encoding: "utf8" });
  return git("ls-tree", "-r", "--name-only", "charter-evidence", "--", "records/")
    .trim()
    .split("\n")
    .map((path) => parseCanonical(new TextEncoder().encode(git("show", `charter-evidence:${path}`))) as EvidenceRecord);
}

function records(f: AppFixture): ChangeRecord[] {
  return allRecords(f).filter((r): r is ChangeRecord => r.kind === "change");
}

describe("the evidence ledger, written on merge", () => {
  it("freezes an approved merge into a signed change record that charter verify accepts", async () => {
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey });
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "model", title: "Newer model", body: ROLLBACK, files: { [TRIAGE]: bump("20251101").replace("temperature: 0.2", "temperature: 0.3") } });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    const merged = await fx.sim.mergePullRequest(pull, { by: "dana-support" });
    await fx.sim.idle();

    const [record, ...others] = records(fx);
    expect(others).toEqual([]);
    expect(record?.seq).toBe(1);
    const body = record?.body;
    expect(body).toMatchObject({
      pullRequest: { number: pull.issue.number, title: "Newer model" },
      author: "bob",
      mergedBy: "dana-support",
      headSha: sha,
      mergeSha: merged.sha,
      decision: "approved",
      policy: { source: "default" },
      emergency: { active: false, reason: null },
      rollback: { plan: "Revert this pull request." },
    });
    expect(body?.approvals).toEqual([expect.objectContaining({ reviewer: "dana-support", via: "owner", commitId: sha })]);
    expect(body?.changes.changes.map((c) => c.kind)).toEqual(["model-changed", "model-parameters-changed"]);
    // Records hold only integers as numbers: a fractional temperature is recorded as its decimal string.
    const parameters = body?.changes.changes[1];
    expect(JSON.stringify([parameters?.before, parameters?.after])).toContain('"0.2"');
    expect(JSON.stringify([parameters?.before, parameters?.after])).toContain('"0.3"');
    expect(body?.rollback.targets).toEqual([{ path: TRIAGE, previousSha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown }]);
    expect(body?.copies.length).toBeGreaterThan(0);
    expect(fx.sim.rejected).toEqual([]);

    const result = await runCli(["verify", "--key", KEYS.verifierKey, "--format", "json"], clone(fx));
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, branch: "origin/charter-evidence", size: 2, problems: [] });
  });

  it("records a redelivered merge once", async () => {
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey });
    const { pull } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "once", title: "Once", body: ROLLBACK, files: { [TRIAGE]: bump("20251102") } });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    await fx.sim.mergePullRequest(pull, { by: "dana-support" });
    await fx.sim.idle();
    const closed = fx.sim.deliveries.filter((d) => d.event === "pull_request" && d.action === "closed");
    expect(closed).toHaveLength(1);
    for (let i = 0; i < 5; i++) await fx.sim.redeliver(closed[0]?.id ?? "");
    expect(records(fx)).toHaveLength(1);
  });

  it("keeps one linear log when 20 pull requests merge at once", async () => {
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey });
    const f = fx;
    const templates = loadTemplates();
    const pulls = [];
    for (let i = 0; i < 20; i++) {
      const agent = syntheticAgent(templates, i);
      const { pull } = await f.sim.openPullRequest(f.repo, { author: "bob", branch: `add-${agent.id}`, title: `Add ${agent.id}`, body: ROLLBACK, files: Object.fromEntries(agent.files) });
      pulls.push(pull);
    }
    await Promise.all(pulls.map((pull) => f.sim.mergePullRequest(pull, { by: "carol" })));
    await f.sim.idle();
    // Nobody approved these new agents: each merge is a change record plus an admin-bypass exception.
    const all = allRecords(f);
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 41 }, (_, i) => i));
    const changes = all.filter((r): r is ChangeRecord => r.kind === "change");
    expect(new Set(changes.map((r) => r.body.pullRequest.number)).size).toBe(20);
    expect(changes.every((r) => r.body.decision === "pending")).toBe(true);
    expect(all.filter((r) => r.kind === "exception")).toHaveLength(20);
    expect(f.sim.rejected).toEqual([]);
    const result = await runCli(["verify", "--key", KEYS.verifierKey, "--format", "json"], clone(f));
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, size: 41 });
  }, 120_000);
});

describe("a merge that bypassed the check", () => {
  it("is recorded with an admin-bypass exception and an issue to the owners, once", async () => {
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey });
    const { pull } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "bypass", title: "Quick fix", body: ROLLBACK, files: { [TRIAGE]: bump("20251103") } });
    await fx.sim.mergePullRequest(pull, { by: "root-admin" });
    await fx.sim.idle();
    const closed = fx.sim.deliveries.filter((d) => d.event === "pull_request" && d.action === "closed");
    for (let i = 0; i < 3; i++) await fx.sim.redeliver(closed[0]?.id ?? "");

    const all = allRecords(fx);
    expect(all.map((r) => r.kind)).toEqual(["genesis", "change", "exception"]);
    const exception = all[2] as ExceptionRecord;
    expect(exception.body).toMatchObject({
      kind: "admin-bypass",
      pullRequest: { number: pull.issue.number, title: "Quick fix" },
      agents: ["support-triage"],
    });
    expect(exception.body.reason).toBe("Merged by root-admin while Charter's check was pending: Needs 1 more approval from @acme/support-eng, @dana-support (change record 1). Provisioning of the affected agents is held: credentials follow only approved changes.");
    const issues = [...fx.sim.core.state.issues.values()].filter((i) => i.title.startsWith("Exception:"));
    expect(issues).toHaveLength(1);
    expect(exception.body.issue).toBe(issues[0]?.number);
    expect(issues[0]?.body).toContain("@acme/support-eng, @dana-support");
    const result = await runCli(["verify", "--key", KEYS.verifierKey, "--format", "json"], clone(fx));
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, size: 3 });
    expect(fx.sim.rejected).toEqual([]);
  });
});

describe("a direct push to the default branch", () => {
  it("is recorded as a direct-push exception with an issue; a merged pull request's push is not", async () => {
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey });
    const { pull } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "reviewed", title: "Reviewed", body: ROLLBACK, files: { [TRIAGE]: bump("20251104") } });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    await fx.sim.mergePullRequest(pull, { by: "dana-support" });
    await fx.sim.idle();
    const pushed = await fx.sim.push(fx.repo, { branch: "main", author: "mallory", message: "Widen triage access", files: { [TRIAGE]: bump("20251105") } });
    await fx.sim.push(fx.repo, { branch: "main", author: "mallory", message: "Docs only", files: { "README.md": "# agents\n" } });
    await fx.sim.idle();

    const all = allRecords(fx);
    expect(all.map((r) => r.kind)).toEqual(["genesis", "change", "exception"]);
    const exception = all[2] as ExceptionRecord;
    expect(exception.body).toMatchObject({ kind: "direct-push", commits: [pushed.sha], pullRequest: null, agents: ["support-triage"] });
    expect(exception.body.reason).toMatch(/^mallory pushed 1 commit changing agents \(support-triage\) directly to the default branch/);
    const issues = [...fx.sim.core.state.issues.values()].filter((i) => i.title.startsWith("Exception:"));
    expect(issues.map((i) => i.number)).toEqual([exception.body.issue]);
    const result = await runCli(["verify", "--key", KEYS.verifierKey, "--format", "json"], clone(fx));
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, size: 3 });
    expect(fx.sim.rejected).toEqual([]);
  });
});

describe("charter verify's completeness check", () => {
  it("names a governed commit on the default branch that no record covers", async () => {
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey });
    const { pull } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "recorded", title: "Recorded", body: ROLLBACK, files: { [TRIAGE]: bump("20251106") } });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    await fx.sim.mergePullRequest(pull, { by: "dana-support" });
    await fx.sim.idle();
    expect((await runCli(["verify", "--key", KEYS.verifierKey], clone(fx))).code).toBe(0);

    // A push whose webhook never arrives: the change reaches main with no record at all.
    fx.sim.faults.dropWebhooks(1);
    const lost = await fx.sim.push(fx.repo, { branch: "main", author: "mallory", message: "Unrecorded", files: { [TRIAGE]: bump("20251107") } });
    await fx.sim.idle();
    const result = await runCli(["verify", "--key", KEYS.verifierKey, "--format", "json"], clone(fx));
    expect(result.code).toBe(1);
    const json = JSON.parse(result.stdout) as { problems: { code: string; message: string }[] };
    expect(json.problems).toEqual([
      { code: "incomplete", message: `commit ${lost.sha.slice(0, 12)} on origin/main changed ${TRIAGE} but no change or exception record covers it` },
    ]);
  });
});

describe("appendChangeRecord", () => {
  it("finds a merge already recorded by its marker, even without the in-memory delivery log", async () => {
    fx = await startCharter({ "README.md": "# agents\n" });
    const octokit = await fx.app.probot.auth(fx.sim.installationOf(fx.repo).id);
    const target = { owner: "acme", repo: "agents", repositoryId: "123456789", signerKey: KEYS.signerKey };
    const body = changeBody(1);
    const clock = (): string => "2026-11-27T10:00:00.000Z";
    const first = await appendChangeRecord(octokit, target, body, [], clock);
    expect(first).toMatchObject({ status: "appended", seq: 1, attempts: 1 });
    const again = await appendChangeRecord(octokit, target, body, [], clock);
    expect(again.status).toBe("duplicate");
    const next = await appendChangeRecord(octokit, target, changeBody(2), [], clock);
    expect(next).toMatchObject({ status: "appended", seq: 2 });
    // One head read, one state query and one commit per append once the branch exists.
    expect(next.requests).toBe(3);
    expect(fx.sim.rejected).toEqual([]);
  });

  it("lets writers racing from separate processes all land, one linear log, by retrying the compare-and-swap", async () => {
    fx = await startCharter({ "README.md": "# agents\n" });
    const octokit = await fx.app.probot.auth(fx.sim.installationOf(fx.repo).id);
    const target = { owner: "acme", repo: "agents", repositoryId: "123456789", signerKey: KEYS.signerKey };
    let tick = 0;
    const clock = (): string => new Date(Date.UTC(2026, 10, 27) + tick++ * 1000).toISOString();
    // No in-process queue here: ten appends race, starting from a branch that does not exist yet.
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => appendChangeRecord(octokit, target, changeBody(i + 1), [], clock)));
    const seqs = outcomes.map((o) => (o.status === "appended" ? o.seq : -1)).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(outcomes.some((o) => o.status === "appended" && o.attempts > 1)).toBe(true);
    const result = await runCli(["verify", "--key", KEYS.verifierKey, "--format", "json"], clone(fx));
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, size: 11 });
  });
});
