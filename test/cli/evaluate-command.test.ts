import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ownAgents } from "../helpers/agents-fixture.js";
import { mutate } from "../helpers/manifests.js";
import { type AppFixture, startCharter } from "../github/app-fixture.js";
import type { PullRequest } from "../github-sim/state.js";
import { runCli } from "./run-cli.js";

let fx: AppFixture | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await fx?.close();
  fx = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const AGENTS = ownAgents();
const TRIAGE = "agents/support-triage/agent.yaml";
const BUMP = mutate(AGENTS[TRIAGE] ?? "", 'version: "20250929"', 'version: "20251101"');
const ROLLBACK = "## Rollback plan\nRevert.\n";

/** What `gh api` would return, asked of the simulated GitHub with an installation token. */
async function snapshotOf(f: AppFixture, pull: PullRequest, teams: readonly string[]): Promise<Record<string, unknown>> {
  const token = f.sim.installationToken(f.repo);
  const get = async (path: string): Promise<unknown> => {
    const response = await f.sim.fetch(`https://api.github.com${path}`, { headers: { authorization: `token ${token}`, accept: "application/vnd.github+json" } });
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return response.json();
  };
  const n = pull.issue.number;
  const pr = (await get(`/repos/acme/agents/pulls/${n}`)) as { head: { sha: string } };
  const reviews = (await get(`/repos/acme/agents/pulls/${n}/reviews?per_page=100`)) as { user: { login: string } | null }[];
  const team_memberships: Record<string, string[]> = {};
  for (const team of teams) {
    const [org, slug] = team.split("/");
    team_memberships[team] = [];
    for (const login of new Set(reviews.map((r) => r.user?.login ?? ""))) {
      const response = await f.sim.fetch(`https://api.github.com/orgs/${org ?? ""}/teams/${slug ?? ""}/memberships/${login}`, { headers: { authorization: `token ${token}` } });
      if (response.ok) team_memberships[team].push(login);
    }
  }
  return {
    pull_request: pr,
    reviews,
    commits: await get(`/repos/acme/agents/pulls/${n}/commits?per_page=100`),
    check_runs: ((await get(`/repos/acme/agents/commits/${pr.head.sha}/check-runs`)) as { check_runs: unknown[] }).check_runs,
    team_memberships,
  };
}

async function evaluateLocally(f: AppFixture, pull: PullRequest, snapshot: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), "charter-evaluate-"));
  dirs.push(dir);
  execFileSync("git", ["clone", "-q", "--mirror", f.sim.repoPath(f.repo), join(dir, "clone.git")]);
  writeFileSync(join(dir, "snapshot.json"), JSON.stringify(snapshot));
  const pr = snapshot["pull_request"] as { base: { sha: string }; head: { sha: string } };
  return runCli(["evaluate", "--root", join(dir, "clone.git"), "--base", pr.base.sha, "--head", pr.head.sha, "--pr", join(dir, "snapshot.json"), "--format", "json"], dir);
}

const CONCLUSION = { approved: "success", pending: "action_required", blocked: "failure", invalid: "failure" } as const;

describe("charter evaluate", () => {
  it("reproduces the app's decision from a snapshot, at each step of a review", async () => {
    fx = await startCharter(AGENTS);
    fx.sim.addTeam("acme", "support-eng", ["tara"]);
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "model", title: "Model", body: ROLLBACK, files: { [TRIAGE]: BUMP } });
    const steps: [string, () => Promise<unknown>][] = [
      ["opened", () => Promise.resolve()],
      ["changes requested", () => fx?.sim.submitReview(pull, { user: "dana-support", state: "CHANGES_REQUESTED" }) ?? Promise.resolve()],
      ["approved by a team member and the owner", async () => {
        await fx?.sim.submitReview(pull, { user: "tara", state: "APPROVED" });
        await fx?.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
      }],
    ];
    const decisions: string[] = [];
    for (const [, act] of steps) {
      await act();
      const app = fx.sim.checkRunsFor(fx.repo, sha).find((r) => r.name === "Charter");
      const result = await evaluateLocally(fx, pull, await snapshotOf(fx, pull, ["acme/support-eng"]));
      expect(result.stderr).toBe("");
      const json = JSON.parse(result.stdout) as { decision: keyof typeof CONCLUSION; changeSet: { changes: { kind: string }[] } };
      expect(CONCLUSION[json.decision]).toBe(app?.conclusion);
      expect(json.changeSet.changes.map((c) => c.kind)).toEqual(["model-changed"]);
      expect(result.code).toBe(json.decision === "approved" ? 0 : 1);
      decisions.push(json.decision);
    }
    expect(decisions).toEqual(["pending", "blocked", "approved"]);
  });

  it("excludes co-authors and every agent's identity, and binds checks to their workflow, as the app does (from GraphQL answers)", async () => {
    const INSIGHTS = "agents/analytics-insights/agent.yaml";
    const EVALS = ".github/workflows/evals.yml";
    const triage = (AGENTS[TRIAGE] ?? "").replace("  - user: dana-support", "  - user: dana-support\n  - user: insights-runner\n  - user: cora");
    fx = await startCharter({
      ...AGENTS,
      [TRIAGE]: triage,
      [INSIGHTS]: mutate(AGENTS[INSIGHTS] ?? "", 'contact: "#data-platform"', 'identities:\n  github: insights-runner\ncontact: "#data-platform"'),
      [EVALS]: "on: pull_request\n",
      ".github/charter.yml": `version: 1\nrules:\n  - name: Owners\n    require: { approvals: 1, from: { owners: true }, checks: [{ name: agent-evals, workflow: ${EVALS} }] }\n`,
    });
    fx.sim.addUser("cora", { email: "cora@example.com" });
    const message = "Model\n\nCo-authored-by: Cora <cora@example.com>\n";
    const bumped = mutate(triage, 'version: "20250929"', 'version: "20251101"');
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "graph", title: "Model", body: ROLLBACK, message, files: { [TRIAGE]: bumped } });
    const { run } = await fx.sim.completeCheckRun(fx.repo, sha, { name: "agent-evals", conclusion: "success", workflow: EVALS });
    const workflowRunId = run.suite.workflowRun?.id ?? 0;
    const token = fx.sim.installationToken(fx.repo);
    const post = async (query: string, variables: Record<string, unknown>): Promise<{ data: { repository: Record<string, unknown> } }> => {
      const response = await (fx?.sim.fetch ?? fetch)("https://api.github.com/graphql", { method: "POST", headers: { authorization: `token ${token}`, "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
      return (await response.json()) as { data: { repository: Record<string, unknown> } };
    };
    const graph = async () => {
      const commits = await post(
        "query($pr: Int!) { repository(owner: \"acme\", name: \"agents\") { pullRequest(number: $pr) { commits(first: 100) { nodes { commit { oid authors(first: 100) { nodes { name email user { login } } } committer { name email user { login } } } } } } } }",
        { pr: pull.issue.number },
      );
      const suites = await post(
        "query($sha: String!) { repository(owner: \"acme\", name: \"agents\") { object(expression: $sha) { ... on Commit { checkSuites(first: 100) { nodes { databaseId app { databaseId slug } workflowRun { databaseId event file { path } } checkRuns(first: 100, filterBy: { checkType: ALL }) { nodes { databaseId name status conclusion completedAt permalink } } } } } } } }",
        { sha },
      );
      const jobs = (await (await fx?.sim.fetch(`https://api.github.com/repos/acme/agents/actions/runs/${workflowRunId}/jobs?filter=all`, { headers: { authorization: `token ${token}` } }))?.json()) as { jobs: unknown[] };
      const rest = await snapshotOf(fx as AppFixture, pull, []);
      return {
        ...rest,
        commits: (commits.data.repository["pullRequest"] as { commits: { nodes: unknown[] } }).commits.nodes,
        check_runs: undefined,
        check_suites: (suites.data.repository["object"] as { checkSuites: { nodes: unknown[] } }).checkSuites.nodes,
        workflow_jobs: { [String(workflowRunId)]: jobs.jobs },
      };
    };
    const decisions: string[] = [];
    for (const reviewer of ["cora", "insights-runner", "dana-support"]) {
      await fx.sim.submitReview(pull, { user: reviewer, state: "APPROVED" });
      const app = fx.sim.checkRunsFor(fx.repo, sha).filter((r) => r.name === "Charter").at(-1);
      const result = await evaluateLocally(fx, pull, JSON.parse(JSON.stringify(await graph())) as Record<string, unknown>);
      expect(result.stderr).toBe("");
      const json = JSON.parse(result.stdout) as { decision: keyof typeof CONCLUSION };
      expect(CONCLUSION[json.decision]).toBe(app?.conclusion);
      decisions.push(json.decision);
    }
    expect(decisions).toEqual(["pending", "pending", "approved"]);
  });

  it("treats a co-author in a REST snapshot, whom it cannot link to an account, as an unlinked contributor", async () => {
    fx = await startCharter(AGENTS);
    const message = "Model\n\nCo-authored-by: Dana <dana@support.example>\n";
    const { pull } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "rest", title: "Model", body: ROLLBACK, message, files: { [TRIAGE]: BUMP } });
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    const result = await evaluateLocally(fx, pull, await snapshotOf(fx, pull, []));
    expect(JSON.parse(result.stdout)).toMatchObject({ decision: "blocked" });
    expect(result.stdout).toContain("co-author Dana <dana@support.example> is not linked to a GitHub account");
  });

  it("explains itself in text", async () => {
    fx = await startCharter(AGENTS);
    const { pull } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "text", title: "Text", body: ROLLBACK, files: { [TRIAGE]: BUMP } });
    const snapshot = await snapshotOf(fx, pull, []);
    const dir = mkdtempSync(join(tmpdir(), "charter-evaluate-"));
    dirs.push(dir);
    execFileSync("git", ["clone", "-q", "--mirror", fx.sim.repoPath(fx.repo), join(dir, "clone.git")]);
    writeFileSync(join(dir, "snapshot.json"), JSON.stringify(snapshot));
    const pr = snapshot["pull_request"] as { base: { sha: string }; head: { sha: string } };
    const result = await runCli(["evaluate", "--root", join(dir, "clone.git"), "--base", pr.base.sha, "--head", pr.head.sha, "--pr", join(dir, "snapshot.json")], dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("decision: pending");
    expect(result.stdout).toContain("support-triage  model-changed  high");
    expect(result.stdout).toContain("missing: Needs 1 more approval from @acme/support-eng, @dana-support.");
  });

  it.each([
    ["not JSON", "{ nope", /snapshot\.json:1:3: not valid JSON/],
    ["missing the reviews", JSON.stringify({ pull_request: { number: 1, title: "t", user: { login: "a" }, head: { sha: "a".repeat(40) }, base: { sha: "b".repeat(40) } }, commits: [] }), /missing required key "reviews"/],
  ])("refuses a snapshot that is %s, with a position", async (_name, text, message) => {
    const dir = mkdtempSync(join(tmpdir(), "charter-evaluate-"));
    dirs.push(dir);
    execFileSync("git", ["init", "-q", dir]);
    writeFileSync(join(dir, "snapshot.json"), text);
    const result = await runCli(["evaluate", "--base", "HEAD", "--head", "HEAD", "--pr", "snapshot.json"], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
