import { afterEach, describe, expect, it } from "vitest";
import { manyAgents } from "../helpers/agents-fixture.js";
import { mutate } from "../helpers/manifests.js";
import { waitFor } from "../jobs/wait-for.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

let fx: AppFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const EVALS = ".github/workflows/evals.yml";
// Every kind of lookup a typical check makes: owners' teams, a workflow-bound required check.
const POLICY = `version: 1
rules:
  - name: Owners approve agent changes
    require: { approvals: 1, from: { owners: true }, sections: [Rollback plan], checks: [{ name: agent-evals, workflow: ${EVALS} }] }
`;

/**
 * Opens two three-agent pull requests against a repository of `size` agents: the first meets a
 * cold identity cache (no manifest of the inventory seen yet), the second a warm one. Returns the
 * API calls of each.
 */
async function callsForTypicalPullRequests(size: number): Promise<{ cold: Record<string, number>; warm: Record<string, number> }> {
  const files: Record<string, string> = { ...manyAgents(size), ".github/charter.yml": POLICY, [EVALS]: "on: pull_request\n" };
  // A cold cache on 5,000 agents reads them all, which takes the simulator longer than GitHub waits for a webhook's answer.
  fx = await startCharter(files, { webhookTimeoutMs: 120_000 });
  // Warm the installation token so both runs count the same requests.
  await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "warm-up", title: "Warm up", files: { "README.md": "# warm\n" } });
  const manifests = Object.keys(files).filter((p) => p.endsWith("/agent.yaml"));
  const open = async (branch: string, ids: readonly string[]): Promise<Record<string, number>> => {
    if (!fx) throw new Error("no fixture");
    const changes: Record<string, string> = {};
    for (const path of ids) changes[path] = mutate(files[path] ?? "", "purpose: >", `purpose: >\n  Reviewed by ${branch}.`);
    fx.sim.resetCalls();
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch, title: "Three agents", body: "## Rollback plan\nRevert.\n", files: changes });
    // Probot answers a delivery that takes longer than 9 s with 202 and goes on with it.
    const { sim, repo } = fx;
    await waitFor(() => sim.checkRunsFor(repo, sha).some((r) => r.name === "Charter"), "the Charter check run", 300_000);
    const opened = { ...fx.sim.calls };
    expect(fx.sim.checkRunsFor(fx.repo, sha).find((r) => r.name === "Charter")?.conclusion).toBe("action_required");
    // The evals job finishing re-evaluates the pull request: that evaluation reads the workflow run's jobs.
    fx.sim.resetCalls();
    await fx.sim.completeCheckRun(fx.repo, sha, { name: "agent-evals", conclusion: "success", workflow: EVALS });
    await waitFor(() => (sim.calls["checks/update"] ?? sim.calls["checks/create"] ?? 0) > 0, "the re-evaluation", 300_000);
    expect(fx.sim.calls["actions/list-jobs-for-workflow-run"]).toBe(1);
    expect(pull.issue.number).toBeGreaterThan(0);
    return opened;
  };
  const cold = await open("cold", manifests.slice(0, 3));
  const warm = await open("warm", manifests.slice(3, 6));
  expect(fx.sim.rejected).toEqual([]);
  await fx.close();
  fx = undefined;
  return { cold, warm };
}

describe("GitHub API calls per pull request", () => {
  it("are the same for a 10-agent and a 5,000-agent repository once the identity cache is warm, and a cold cache costs one query per 100 agents", async () => {
    const small = await callsForTypicalPullRequests(10);
    const large = await callsForTypicalPullRequests(5_000);
    // The pull request, its check runs and files, three GraphQL reads at base and head (which
    // also carry the inventory's listing, the commits and the check suites), its reviews, and
    // publishing the check run.
    const warm = { "pulls/get": 1, "checks/list-for-ref": 1, "pulls/list-files": 1, graphql: 3, "pulls/list-reviews": 1, "checks/create": 1 };
    expect(small.warm).toEqual(warm);
    expect(large.warm).toEqual(warm);
    expect(Object.values(warm).reduce((a, b) => a + b, 0)).toBe(8);
    // Cold: the inventory's manifests are read in the manifests' own batches of 100. Ten fit
    // beside the pull request's own. 5,000 need 50 more queries, and the base's prompts, whose
    // manifests came in the first of those batches, then go in a query of their own: 51 more,
    // once per process.
    expect(small.cold).toEqual(warm);
    expect(large.cold).toEqual({ ...warm, graphql: 3 + 51 });
  }, 600_000);
});
