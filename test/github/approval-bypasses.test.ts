import { afterEach, describe, expect, it } from "vitest";
import type { ChangeRecord } from "../../src/schema-types/evidence-record.generated.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { ownAgents } from "../helpers/agents-fixture.js";
import { ledger } from "../helpers/evidence-branch.js";
import { mutate } from "../helpers/manifests.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

// Attempts, through GitHub, to merge an agent change without the approvals the base branch's
// policy demands. Each one succeeded before the rule it names was enforced.

let fx: AppFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const AGENTS = ownAgents();
const TRIAGE = "agents/support-triage/agent.yaml";
const INSIGHTS = "agents/analytics-insights/agent.yaml";
const TRIAGE_TEXT = AGENTS[TRIAGE] ?? "";
const ROLLBACK = "## Rollback plan\nRevert this pull request.\n";
const MODEL_BUMP = mutate(TRIAGE_TEXT, 'version: "20250929"', 'version: "20251101"');
const WIDENED = mutate(TRIAGE_TEXT, "      - postgres:select:crm.public.orders@crm-prod", "      - postgres:select:crm.public.orders@crm-prod\n      - postgres:select:crm.public.payments@crm-prod");
const EVALS = ".github/workflows/evals.yml";
const KEYS = generateSignerKey("charter-test-bypasses");

const POLICY = `version: 1
rules:
  - name: Owners approve agent changes
    require: { approvals: 1, from: { owners: true }, sections: [Rollback plan] }
  - name: Security approves access expansions
    when: { changes: [permission-added, permission-widened, tool-added] }
    require: { approvals: 1, from: { teams: [acme/security] } }
  - name: Evals pass before model changes
    when: { changes: [model-changed] }
    require: { approvals: 0, checks: [{ name: agent-evals, workflow: ${EVALS} }] }
governance:
  require: { approvals: 1, from: { teams: [acme/security] } }
`;
const WORKFLOW = "name: evals\non: pull_request\njobs:\n  agent-evals:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm run evals\n";

function charterRun(f: AppFixture, sha: string) {
  const runs = f.sim.checkRunsFor(f.repo, sha).filter((r) => r.name === "Charter" && r.suite.app.id === f.sim.appId);
  const run = runs.at(-1);
  if (!run) throw new Error("no Charter check run");
  return run;
}

async function start(extra: Record<string, string> = {}, options: { signingKey?: string } = {}): Promise<AppFixture> {
  const f = await startCharter({ ...AGENTS, ".github/charter.yml": POLICY, [EVALS]: WORKFLOW, ...extra }, options);
  f.sim.addTeam("acme", "support-eng", ["tara"]);
  f.sim.addTeam("acme", "security", ["sam", "tara"]);
  return f;
}

describe("agent identities never approve", () => {
  it("ignores the machine user of an agent the pull request does not touch, though it owns the changed agent", async () => {
    const triage = TRIAGE_TEXT.replace("  - user: dana-support", "  - user: dana-support\n  - user: insights-runner");
    const insights = mutate(AGENTS[INSIGHTS] ?? "", 'contact: "#data-platform"', 'identities:\n  github: Insights-Runner\ncontact: "#data-platform"');
    fx = await start({ [TRIAGE]: triage, [INSIGHTS]: insights });
    const bumped = mutate(triage, 'version: "20250929"', 'version: "20251101"');
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "insights-approves", title: "Model", body: ROLLBACK, files: { [TRIAGE]: bumped } });
    await fx.sim.completeCheckRun(fx.repo, sha, { name: "agent-evals", conclusion: "success", workflow: EVALS });
    await fx.sim.submitReview(pull, { user: "insights-runner", state: "APPROVED" });
    const run = charterRun(fx, sha);
    expect(run.conclusion).toBe("action_required");
    expect(run.output.summary).toContain("@insights-runner's review does not count: the account is an agent's own.");
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    expect(charterRun(fx, sha).conclusion).toBe("success");
    expect(fx.sim.rejected).toEqual([]);
  });
});

describe("contributors never approve", () => {
  it("ignores an owner named only in a Co-authored-by trailer, whom GitHub links by email", async () => {
    fx = await start();
    fx.sim.addUser("dana-support", { email: "dana@support.example" });
    const message = "Bump the triage model\n\nCo-authored-by: Dana <dana@support.example>\n";
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "co-authored", title: "Model", body: ROLLBACK, message, files: { [TRIAGE]: MODEL_BUMP } });
    await fx.sim.completeCheckRun(fx.repo, sha, { name: "agent-evals", conclusion: "success", workflow: EVALS });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    const run = charterRun(fx, sha);
    expect(run.conclusion).toBe("action_required");
    expect(run.output.summary).toContain("@dana-support's review does not count: they authored, co-authored or committed commits in this pull request.");
    expect(fx.sim.rejected).toEqual([]);
  });

  it("blocks when GitHub links a co-author to no account, and says what to do", async () => {
    fx = await start();
    const message = "Bump the triage model\n\nCo-authored-by: Someone <someone@laptop.example>\n";
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "unlinked", title: "Model", body: ROLLBACK, message, files: { [TRIAGE]: MODEL_BUMP } });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    const run = charterRun(fx, sha);
    expect(run.conclusion).toBe("failure");
    expect(run.output.title).toBe("Blocked: Have each person add the address (someone@laptop.example) to their GitHub account (Settings → Emails), or rewrite the commits with an address GitHub knows; then re-run the check");
    expect(fx.sim.rejected).toEqual([]);
  });

  it("blocks a pull request whose git author GitHub cannot link", async () => {
    fx = await start();
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "laptop", title: "Model", body: ROLLBACK, gitAuthor: { name: "Dana", email: "dana@home.example" }, files: { [TRIAGE]: MODEL_BUMP } });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    expect(charterRun(fx, sha).output.summary).toContain("author Dana <dana@home.example> is not linked to a GitHub account");
  });
});

describe("required checks are bound to their source", () => {
  it("keeps the bound workflow's failure though another app posts a green run of the same name", async () => {
    fx = await start();
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "evals", title: "Model", body: ROLLBACK, files: { [TRIAGE]: MODEL_BUMP } });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    await fx.sim.completeCheckRun(fx.repo, sha, { name: "agent-evals", conclusion: "failure", workflow: EVALS });
    await fx.sim.completeCheckRun(fx.repo, sha, { name: "agent-evals", conclusion: "success", app: "friendly-ci" });
    const run = charterRun(fx, sha);
    expect(run.conclusion).toBe("failure");
    expect(run.output.summary).toContain("Not counted: a run by app friendly-ci, which is not the expected source.");
    // A re-run of the real workflow that passes is what turns it green.
    await fx.sim.completeCheckRun(fx.repo, sha, { name: "agent-evals", conclusion: "success", workflow: EVALS, rerun: true });
    expect(charterRun(fx, sha).conclusion).toBe("success");
    expect(fx.sim.rejected).toEqual([]);
  });

  it("ignores a run another workflow creates through the checks API, which GitHub files in the bound workflow's suite", async () => {
    fx = await start({ ".github/workflows/reporter.yml": "name: reporter\non: pull_request\njobs: {}\n" });
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "api", title: "Model", body: ROLLBACK, files: { [TRIAGE]: MODEL_BUMP } });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    await fx.sim.completeCheckRun(fx.repo, sha, { name: "agent-evals", conclusion: "failure", workflow: EVALS });
    const { run: fake } = await fx.sim.completeCheckRun(fx.repo, sha, { name: "agent-evals", conclusion: "success", workflow: ".github/workflows/reporter.yml", viaApi: true });
    expect(fake.suite.workflowRun?.path).toBe(EVALS);
    const run = charterRun(fx, sha);
    expect(run.conclusion).toBe("failure");
    expect(run.output.summary).toContain(`Not counted: run ${fake.id} in the workflow's check suite, which is not one of its jobs (a run created through the checks API).`);
    expect(fx.sim.rejected).toEqual([]);
  });

  it("trusts no run when the pull request adds a workflow that posts the check itself", async () => {
    fx = await start();
    const sneaky = "name: sneaky\non: pull_request\njobs:\n  agent-evals:\n    runs-on: ubuntu-latest\n    steps:\n      - run: exit 0\n";
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "sneaky", title: "Model", body: ROLLBACK, files: { [TRIAGE]: MODEL_BUMP, ".github/workflows/sneaky.yml": sneaky } });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    await fx.sim.submitReview(pull, { user: "sam", state: "APPROVED" });
    await fx.sim.completeCheckRun(fx.repo, sha, { name: "agent-evals", conclusion: "success", workflow: ".github/workflows/sneaky.yml" });
    await fx.sim.completeCheckRun(fx.repo, sha, { name: "agent-evals", conclusion: "success", workflow: EVALS });
    const run = charterRun(fx, sha);
    expect(run.conclusion).toBe("failure");
    expect(run.output.summary).toContain("This pull request changes workflow files (.github/workflows/sneaky.yml)");
    expect(run.output.summary).toContain("Not counted: a run by workflow .github/workflows/sneaky.yml, which is not the expected source.");
    expect(fx.sim.rejected).toEqual([]);
  });
});

describe("separation of duties", () => {
  it("does not let one owner who is also on the security team satisfy both rules, and records who counted for which", async () => {
    fx = await start({}, { signingKey: KEYS.signerKey });
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "widen", title: "Read payments", body: ROLLBACK, files: { [TRIAGE]: WIDENED } });
    await fx.sim.submitReview(pull, { user: "tara", state: "APPROVED" });
    let run = charterRun(fx, sha);
    expect(run.conclusion).toBe("action_required");
    expect(run.output.summary).toContain("Separation of duties: for each changed agent, one person's approval counts for one rule only.");
    expect(run.output.summary).toMatch(/@tara approved \((owner via @acme\/support-eng|member of @acme\/security)\) but is counted for "[^"]+" on support-triage/);
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    run = charterRun(fx, sha);
    expect(run.conclusion).toBe("success");
    await fx.sim.mergePullRequest(pull, { by: "dana-support" });
    await fx.sim.idle();
    const record = ledger(fx.sim, fx.repo).find((r): r is ChangeRecord => r.kind === "change");
    expect(record?.body.separationOfDuties).toBe(true);
    expect(record?.body.contributors).toEqual(["bob"]);
    expect(record?.body.approvals.map((a) => [a.reviewer, a.rule, a.agent])).toEqual([
      ["dana-support", "Owners approve agent changes", "support-triage"],
      ["tara", "Security approves access expansions", "support-triage"],
    ]);
    expect(fx.sim.rejected).toEqual([]);
  });
});
