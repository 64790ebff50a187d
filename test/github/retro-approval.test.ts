import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { RetroApprovalRecord } from "../../src/schema-types/evidence-record.generated.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import type { Issue } from "../github-sim/state.js";
import { runCli } from "../cli/run-cli.js";
import { ownAgents } from "../helpers/agents-fixture.js";
import { mutate } from "../helpers/manifests.js";
import { ledger } from "../helpers/evidence-branch.js";
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
const KEYS = generateSignerKey("charter-test-retro");
const POLICY = `version: 1
rules:
  - name: Owners approve agent changes
    require: { approvals: 1, from: { owners: true } }
emergency:
  label: emergency
  require: { approvals: 1, from: { owners: true } }
  retroReviewDays: 2
`;
const BODY = "## Rollback plan\nRevert.\n\n## Emergency reason\nEvery ticket is tagged P1 since 09:10 UTC.\n";

async function emergencyMerge(f: AppFixture): Promise<Issue> {
  f.sim.addTeam("acme", "support-eng", ["tara"]);
  const { pull } = await f.sim.openPullRequest(f.repo, {
    author: "bob",
    branch: "hotfix",
    title: "Pin the old model",
    body: BODY,
    labels: ["emergency"],
    files: { [TRIAGE]: mutate(AGENTS[TRIAGE] ?? "", 'version: "20250929"', 'version: "20251101"') },
  });
  await f.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
  await f.sim.mergePullRequest(pull, { by: "dana-support" });
  await f.sim.idle();
  const issue = [...f.sim.core.state.issues.values()].find((i) => i.title.startsWith("Retro-review"));
  if (!issue) throw new Error("no retro-review issue");
  return issue;
}

const retros = (f: AppFixture): RetroApprovalRecord[] => ledger(f.sim, f.repo).filter((r): r is RetroApprovalRecord => r.kind === "retro-approval");

describe("closing an emergency change after the fact", () => {
  it("records a retro-approval once an owner approves on the issue; the author and strangers do not count", async () => {
    fx = await startCharter({ ...AGENTS, ".github/charter.yml": POLICY }, { signingKey: KEYS.signerKey });
    const issue = await emergencyMerge(fx);
    expect(issue.body).toContain("comment `/approve`");

    await fx.sim.comment(issue, { user: "bob", body: "/approve" });
    await fx.sim.comment(issue, { user: "mallory", body: "/approve looks fine" });
    await fx.sim.comment(issue, { user: "tara", body: "Reviewed the incident timeline; LGTM." });
    await fx.sim.idle();
    expect(retros(fx)).toEqual([]);

    const { delivery } = await fx.sim.comment(issue, { user: "tara", body: "/approve\nPost-incident review done." });
    await fx.sim.idle();
    for (let i = 0; i < 3; i++) await fx.sim.redeliver(delivery.id);
    // A second owner approving later adds nothing: the change is already closed.
    await fx.sim.comment(issue, { user: "dana-support", body: "/approve" });
    await fx.sim.idle();

    const all = ledger(fx.sim, fx.repo);
    const change = all.find((r) => r.kind === "change");
    const [retro, ...more] = retros(fx);
    expect(more).toEqual([]);
    expect(retro?.body).toMatchObject({ emergency: { seq: change?.seq }, issue: issue.number, outcome: "completed" });
    expect(retro?.body.approvals).toEqual([expect.objectContaining({ reviewer: "tara", via: "owner of support-triage (team:acme/support-eng)" })]);
    const confirmations = fx.sim.commentsOn(issue).filter((c) => c.body.startsWith("Retro-review complete"));
    expect(confirmations).toHaveLength(1);

    const dir = mkdtempSync(join(tmpdir(), "charter-retro-"));
    dirs.push(dir);
    execFileSync("git", ["clone", "-q", fx.sim.repoPath(fx.repo), join(dir, "clone")]);
    const verified = await runCli(["verify", "--key", KEYS.verifierKey, "--format", "json"], join(dir, "clone"));
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, problems: [] });
    const readme = execFileSync("git", ["--git-dir", fx.sim.repoPath(fx.repo), "show", "charter-evidence:README.md"], { encoding: "utf8" });
    expect(readme.split("## Emergency changes awaiting retro-review")[1]?.split("##")[0]).toContain("_None._");
    expect(fx.sim.rejected).toEqual([]);
  });

  it("flags a retro-review completed after its due date as overdue", async () => {
    let now = new Date();
    fx = await startCharter({ ...AGENTS, ".github/charter.yml": POLICY }, { signingKey: KEYS.signerKey, now: () => now });
    const issue = await emergencyMerge(fx);
    now = new Date(Date.now() + 5 * 86_400_000);
    await fx.sim.comment(issue, { user: "dana-support", body: "/approve" });
    await fx.sim.idle();
    expect(retros(fx).map((r) => r.body.outcome)).toEqual(["overdue"]);
    expect(fx.sim.commentsOn(issue).some((c) => c.body.includes("flagged overdue"))).toBe(true);
  });

  it("does not let a co-author of the change, an agent's own account or a bot close the retro-review, though each is in an owning team", async () => {
    const INSIGHTS = "agents/analytics-insights/agent.yaml";
    const insights = mutate(AGENTS[INSIGHTS] ?? "", 'contact: "#data-platform"', 'identities:\n  github: insights-runner\ncontact: "#data-platform"');
    fx = await startCharter({ ...AGENTS, [INSIGHTS]: insights, ".github/charter.yml": POLICY }, { signingKey: KEYS.signerKey });
    fx.sim.addUser("cora", { email: "cora@support.example" });
    fx.sim.addUser("helper[bot]", { type: "Bot" });
    fx.sim.addTeam("acme", "support-eng", ["tara", "cora", "insights-runner", "helper[bot]"]);
    const { pull } = await fx.sim.openPullRequest(fx.repo, {
      author: "bob",
      branch: "hotfix",
      title: "Pin the old model",
      body: BODY,
      labels: ["emergency"],
      message: "Pin the old model\n\nCo-authored-by: Cora <cora@support.example>\n",
      files: { [TRIAGE]: mutate(AGENTS[TRIAGE] ?? "", 'version: "20250929"', 'version: "20251101"') },
    });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    await fx.sim.mergePullRequest(pull, { by: "dana-support" });
    await fx.sim.idle();
    const issue = [...fx.sim.core.state.issues.values()].find((i) => i.title.startsWith("Retro-review"));
    if (!issue) throw new Error("no retro-review issue");
    const change = ledger(fx.sim, fx.repo).find((r) => r.kind === "change");
    expect(change?.kind === "change" ? change.body.contributors : undefined).toEqual(["bob", "cora"]);

    for (const user of ["cora", "insights-runner", "helper[bot]"]) await fx.sim.comment(issue, { user, body: "/approve" });
    await fx.sim.idle();
    expect(retros(fx)).toEqual([]);
    await fx.sim.comment(issue, { user: "tara", body: "/approve" });
    await fx.sim.idle();
    expect(retros(fx).map((r) => r.body.approvals.map((a) => a.reviewer))).toEqual([["tara"]]);
    expect(fx.sim.rejected).toEqual([]);
  });

  it("ignores an /approve on an issue that only imitates a retro-review", async () => {
    fx = await startCharter({ ...AGENTS, ".github/charter.yml": POLICY }, { signingKey: KEYS.signerKey });
    await emergencyMerge(fx);
    const merge = ledger(fx.sim, fx.repo).find((r) => r.kind === "change");
    const fake = fx.sim.core.state.createIssue(fx.repo, {
      author: fx.sim.core.state.ensureAccount("mallory"),
      title: "Retro-review (not really)",
      body: merge?.kind === "change" ? `<!-- charter:retro-review pr=${merge.body.pullRequest.number} merge=${merge.body.mergeSha} -->` : "",
    });
    await fx.sim.comment(fake, { user: "dana-support", body: "/approve" });
    await fx.sim.idle();
    expect(retros(fx)).toEqual([]);
  });
});
