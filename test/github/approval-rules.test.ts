import { afterEach, describe, expect, it } from "vitest";
import { ownAgents } from "../helpers/agents-fixture.js";
import { mutate } from "../helpers/manifests.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

let fx: AppFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const AGENTS = ownAgents();
const TRIAGE = "agents/support-triage/agent.yaml";
const TRIAGE_TEXT = AGENTS[TRIAGE] ?? "";
const ROLLBACK = "## Rollback plan\nRevert this pull request; the previous model stays pinned in git history.\n";
const MODEL_BUMP = mutate(TRIAGE_TEXT, 'version: "20250929"', 'version: "20251101"');

const POLICY = `version: 1
rules:
  - name: Owners approve agent changes
    require: { approvals: 1, from: { owners: true }, sections: [Rollback plan] }
  - name: Security approves access expansions
    when: { changes: [permission-added, permission-widened, tool-added] }
    require: { approvals: 1, from: { teams: [acme/security] } }
  - name: Evals pass before model changes
    when: { changes: [model-changed] }
    require: { approvals: 0, checks: [{ name: evals, workflow: .github/workflows/evals.yml }] }
governance:
  require: { approvals: 1, from: { teams: [acme/security] } }
emergency:
  label: emergency
  require: { approvals: 1, from: { owners: true } }
`;

function latest(f: AppFixture, sha: string) {
  const runs = f.sim.checkRunsFor(f.repo, sha).filter((r) => r.name === "Charter");
  expect(runs).toHaveLength(1);
  const [run] = runs;
  if (!run) throw new Error("no Charter check run");
  return run;
}

async function start(extra: Record<string, string> = {}): Promise<AppFixture> {
  const f = await startCharter({ ...AGENTS, ...extra });
  f.sim.addTeam("acme", "support-eng", ["tara"]);
  f.sim.addTeam("acme", "security", ["sam"]);
  return f;
}

describe("approval rules through GitHub", () => {
  it("a model change waits for an owner, and the owner's approval turns it green", async () => {
    fx = await start();
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "model", title: "Newer model", body: ROLLBACK, files: { [TRIAGE]: MODEL_BUMP } });
    expect(latest(fx, sha)).toMatchObject({ conclusion: "action_required" });
    expect(latest(fx, sha).output.summary).toContain("| `support-triage` | model-changed | high |");
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    expect(latest(fx, sha).conclusion).toBe("success");
    expect(latest(fx, sha).output.title).toBe("Approved: 1 agent changed, every rule satisfied");
    expect(latest(fx, sha).output.summary).toContain("@dana-support approved (owner).");
    expect(fx.sim.rejected).toEqual([]);
  });

  it("ignores the author's own approval", async () => {
    fx = await start();
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "dana-support", branch: "self", title: "Self", body: ROLLBACK, files: { [TRIAGE]: MODEL_BUMP } });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" }).catch(() => undefined);
    const run = latest(fx, sha);
    expect(run.conclusion).toBe("action_required");
  });

  it("lets an approval go stale when commits are pushed after it", async () => {
    fx = await start();
    const opened = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "stale", title: "Stale", body: ROLLBACK, files: { [TRIAGE]: MODEL_BUMP } });
    await fx.sim.submitReview(opened.pull, { user: "dana-support", state: "APPROVED" });
    expect(latest(fx, opened.sha).conclusion).toBe("success");
    const pushed = await fx.sim.pushToPullRequest(opened.pull, { [TRIAGE]: mutate(MODEL_BUMP, "temperature: 0.2", "temperature: 0.3") });
    const run = latest(fx, pushed.sha);
    expect(run.conclusion).toBe("action_required");
    expect(run.output.summary).toContain(`@dana-support's approval is for an older commit (${opened.sha.slice(0, 7)}); commits were pushed since.`);
  });

  it("accepts an approval from a member of an owning team, checked through the API", async () => {
    fx = await start();
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "team", title: "Team", body: ROLLBACK, files: { [TRIAGE]: MODEL_BUMP } });
    fx.sim.resetCalls();
    await fx.sim.submitReview(pull, { user: "tara", state: "APPROVED" });
    expect(latest(fx, sha).conclusion).toBe("success");
    expect(latest(fx, sha).output.summary).toContain("@tara approved (owner via @acme/support-eng).");
    expect(fx.sim.calls["teams/get-membership-for-user-in-org"]).toBeGreaterThanOrEqual(1);
  });

  it("blocks on changes requested by an owner until they approve", async () => {
    fx = await start();
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "changes", title: "Changes", body: ROLLBACK, files: { [TRIAGE]: MODEL_BUMP } });
    await fx.sim.submitReview(pull, { user: "tara", state: "APPROVED" });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "CHANGES_REQUESTED", body: "Run the evals first." });
    expect(latest(fx, sha).conclusion).toBe("failure");
    expect(latest(fx, sha).output.title).toBe("Blocked: @dana-support requested changes; they must approve or dismiss their review (support-triage)");
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    expect(latest(fx, sha).conclusion).toBe("success");
  });

  it("ignores approvals from bots and from agents' own accounts", async () => {
    const withIdentity = mutate(TRIAGE_TEXT, 'contact: "#support-eng-oncall"', 'identities:\n  github: triage-agent\ncontact: "#support-eng-oncall"').replace("  - user: dana-support", "  - user: dana-support\n  - user: triage-agent");
    fx = await start({ [TRIAGE]: withIdentity });
    fx.sim.addUser("deploy-bot", { type: "Bot" });
    const bumped = mutate(withIdentity, 'version: "20250929"', 'version: "20251101"');
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "bots", title: "Bots", body: ROLLBACK, files: { [TRIAGE]: bumped } });
    await fx.sim.submitReview(pull, { user: "deploy-bot", state: "APPROVED" });
    await fx.sim.submitReview(pull, { user: "triage-agent", state: "APPROVED" });
    const run = latest(fx, sha);
    expect(run.conclusion).toBe("action_required");
    expect(run.output.summary).toContain("@deploy-bot's review does not count: the account is a bot.");
    expect(run.output.summary).toContain("@triage-agent's review does not count: the account is an agent's own.");
  });
});

describe("rules from the base branch's policy", () => {
  it("needs security's approval for a permission expansion, and says so", async () => {
    fx = await start({ ".github/charter.yml": POLICY });
    const widened = mutate(TRIAGE_TEXT, "      - postgres:select:crm.public.orders@crm-prod", "      - postgres:select:crm.public.orders@crm-prod\n      - postgres:select:crm.public.payments@crm-prod");
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "expand", title: "Read payments", body: ROLLBACK, files: { [TRIAGE]: widened } });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    let run = latest(fx, sha);
    expect(run.conclusion).toBe("action_required");
    expect(run.output.title).toBe("Waiting: Needs 1 more approval from @acme/security (support-triage)");
    expect(run.output.summary).toContain("`.github/charter.yml` on the base branch");
    await fx.sim.submitReview(pull, { user: "sam", state: "APPROVED" });
    run = latest(fx, sha);
    expect(run.conclusion).toBe("success");
    expect(run.output.summary).toContain("@sam approved (member of @acme/security).");
  });

  it("keeps a model change blocked while a required check fails, and approves once it passes", async () => {
    fx = await start({ ".github/charter.yml": POLICY });
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "evals", title: "Model", body: ROLLBACK, files: { [TRIAGE]: MODEL_BUMP } });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    expect(latest(fx, sha).output.summary).toContain('No "evals" run from workflow .github/workflows/evals.yml on the head commit yet.');
    await fx.sim.completeCheckRun(fx.repo, sha, { name: "evals", conclusion: "failure", workflow: ".github/workflows/evals.yml" });
    expect(latest(fx, sha).conclusion).toBe("failure");
    expect(latest(fx, sha).output.title).toBe('Blocked: Fix the change so that "evals" succeeds, then push');
    await fx.sim.completeCheckRun(fx.repo, sha, { name: "evals", conclusion: "success", workflow: ".github/workflows/evals.yml", rerun: true });
    expect(latest(fx, sha).conclusion).toBe("success");
    expect(fx.sim.rejected).toEqual([]);
  });

  it("judges a pull request that weakens the policy by the base policy's governance rule", async () => {
    fx = await start({ ".github/charter.yml": POLICY });
    const weakened = "version: 1\nrules: []\ngovernance:\n  require: { approvals: 0 }\n";
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "weaken", title: "Relax rules", body: ROLLBACK, files: { ".github/charter.yml": weakened } });
    let run = latest(fx, sha);
    expect(run.conclusion).toBe("action_required");
    expect(run.output.summary).toContain("| governance | policy-changed | critical |");
    expect(run.output.title).toBe("Waiting: Needs 1 more approval from @acme/security");
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    expect(latest(fx, sha).conclusion).toBe("action_required");
    await fx.sim.submitReview(pull, { user: "sam", state: "APPROVED" });
    run = latest(fx, sha);
    expect(run.conclusion).toBe("success");
  });

  it("annotates and blocks an invalid policy proposed by a pull request", async () => {
    fx = await start({ ".github/charter.yml": POLICY });
    const broken = "version: 1\nrules:\n  - name: typo\n    requires: { approvals: 1 }\n";
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "broken-policy", title: "Policy", body: ROLLBACK, files: { ".github/charter.yml": broken } });
    await fx.sim.submitReview(pull, { user: "sam", state: "APPROVED" });
    const run = latest(fx, sha);
    expect(run.conclusion).toBe("failure");
    expect(run.output.annotations).toEqual(expect.arrayContaining([expect.objectContaining({ path: ".github/charter.yml", start_line: 4, title: "Charter schema/unknown-key" })]));
  });

  it("refuses the emergency label without a reason, and runs the emergency lane with one", async () => {
    fx = await start({ ".github/charter.yml": POLICY });
    const widened = mutate(TRIAGE_TEXT, "      - postgres:select:crm.public.orders@crm-prod", "      - postgres:select:crm.public.orders@crm-prod\n      - postgres:select:crm.public.refunds@crm-prod");
    const refused = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "hotfix", title: "Hotfix", body: ROLLBACK, labels: ["emergency"], files: { [TRIAGE]: widened } });
    await fx.sim.submitReview(refused.pull, { user: "dana-support", state: "APPROVED" });
    let run = latest(fx, refused.sha);
    expect(run.conclusion).toBe("failure");
    expect(run.output.title).toBe('Blocked: Add a "## Emergency reason" section explaining the emergency, or remove the label');

    await fx.sim.editPullRequest(refused.pull, { by: "bob", body: `${ROLLBACK}\n## Emergency reason\nRefund tickets are failing for every customer since 09:10 UTC.\n` });
    run = latest(fx, refused.sha);
    expect(run.conclusion).toBe("success");
    expect(run.output.title).toBe("EMERGENCY — Approved: 1 agent changed, every rule satisfied");
    expect(run.output.summary).toContain("**EMERGENCY CHANGE.**");
  });
});

describe("after an emergency merge", () => {
  it("opens a retro-review issue to the owners, with the reason and a due date", async () => {
    fx = await start({ ".github/charter.yml": POLICY });
    const body = `${ROLLBACK}\n## Emergency reason\nThe triage agent tags every ticket P1 since 09:10 UTC.\n`;
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "hotfix", title: "Pin the old model", body, labels: ["emergency"], files: { [TRIAGE]: MODEL_BUMP } });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    expect(latest(fx, sha).output.title).toMatch(/^EMERGENCY — Approved/);
    await fx.sim.mergePullRequest(pull, { by: "dana-support" });
    await fx.sim.idle();
    const issues = [...fx.sim.core.state.issues.values()].filter((i) => i.pullRequest === null && i.title.startsWith("Retro-review"));
    expect(issues).toHaveLength(1);
    const [issue] = issues;
    expect(issue?.title).toBe(`Retro-review: emergency change #${pull.issue.number} — Pin the old model`);
    expect(issue?.body).toContain("**Reason given:** The triage agent tags every ticket P1 since 09:10 UTC.");
    expect(issue?.body).toContain("@acme/support-eng, @dana-support");
    expect(issue?.body).toMatch(/Due by \*\*\d{4}-\d{2}-\d{2}\*\*/);
    expect(fx.sim.rejected).toEqual([]);
  });

  it("opens no issue for an ordinary merge", async () => {
    fx = await start({ ".github/charter.yml": POLICY });
    const { pull } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "ordinary", title: "Ordinary", body: ROLLBACK, files: { [TRIAGE]: MODEL_BUMP } });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    await fx.sim.mergePullRequest(pull, { by: "dana-support" });
    await fx.sim.idle();
    expect([...fx.sim.core.state.issues.values()].filter((i) => i.title.startsWith("Retro-review"))).toEqual([]);
  });
});

describe("when the rules change on the base branch", () => {
  it("re-evaluates every open pull request into that branch under the new rules", async () => {
    fx = await start({ ".github/charter.yml": POLICY.replace("    require: { approvals: 0, checks: [{ name: evals, workflow: .github/workflows/evals.yml }] }", "    require: { approvals: 0 }") });
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "model", title: "Model", body: ROLLBACK, files: { [TRIAGE]: MODEL_BUMP } });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    expect(latest(fx, sha).conclusion).toBe("success");
    fx.sim.resetCalls();
    await fx.sim.push(fx.repo, { branch: "main", author: "sam", message: "Require evals for model changes", files: { ".github/charter.yml": POLICY } });
    await fx.sim.idle();
    expect(fx.sim.calls["pulls/list"]).toBe(1);
    expect(latest(fx, sha).conclusion).toBe("action_required");
    expect(latest(fx, sha).output.summary).toContain('No "evals" run from workflow .github/workflows/evals.yml on the head commit yet.');
    expect(fx.sim.rejected).toEqual([]);
  });
});
