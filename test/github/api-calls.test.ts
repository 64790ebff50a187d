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
  it("are the same for a 10-agent and a 5,000-agent repository once the identity cache is warm, and a cold cache costs one query per 2,500 agents", async () => {
    const small = await callsForTypicalPullRequests(10);
    const large = await callsForTypicalPullRequests(5_000);
    // The pull request, its check runs and files, two GraphQL reads at base and head (listings,
    // which also carry the inventory's listing, the commits and the check suites; then the
    // manifests with their prompts), its reviews, and publishing the check run.
    const warm = { "pulls/get": 1, "checks/list-for-ref": 1, "pulls/list-files": 1, graphql: 2, "pulls/list-reviews": 1, "checks/create": 1 };
    expect(small.warm).toEqual(warm);
    expect(large.warm).toEqual(warm);
    expect(Object.values(warm).reduce((a, b) => a + b, 0)).toBe(7);
    // Cold: the inventory's manifests are read in the manifests' own batches of 2,500. Ten fit
    // beside the pull request's own; 5,000 and the pull request's own fill three queries where
    // one would do: 2 more, once per process.
    expect(small.cold).toEqual(warm);
    expect(large.cold).toEqual({ ...warm, graphql: 2 + 2 });
  }, 600_000);

  it("stay within 6 + ceil(changed / 100) reads for 3, 100 and 1,000 changed manifests, with two or three GraphQL queries", async () => {
    const base = manyAgents(1_200);
    fx = await startCharter({ ...base, ".github/charter.yml": POLICY, [EVALS]: "on: pull_request\n" }, { webhookTimeoutMs: 300_000 });
    const { sim, repo } = fx;
    const manifests = Object.keys(base).filter((p) => p.endsWith("/agent.yaml"));
    let offset = 0;
    const open = async (size: number): Promise<Record<string, number>> => {
      const changes: Record<string, string> = {};
      for (const path of manifests.slice(offset, offset + size)) changes[path] = mutate(base[path] ?? "", "purpose: >", `purpose: >\n  Revised in a pull request of ${size}.`);
      offset += size;
      sim.resetCalls();
      const { sha } = await sim.openPullRequest(repo, { author: "bob", branch: `change-${size}`, title: `${size} agents`, body: "## Rollback plan\nRevert.\n", files: changes });
      await waitFor(() => sim.checkRunsFor(repo, sha).some((r) => r.name === "Charter"), "the Charter check run", 300_000);
      // The whole path ran: every manifest was read and judged, and waits for its owners.
      expect(sim.checkRunsFor(repo, sha).find((r) => r.name === "Charter")?.conclusion).toBe("action_required");
      return { ...sim.calls };
    };
    // The first check of a process reads the inventory's identities (a cold cache); counted above.
    await open(1);
    for (const size of [3, 100, 1_000]) {
      const calls = await open(size);
      const reads = Object.entries(calls).filter(([operation]) => operation !== "checks/create").reduce((a, [, n]) => a + n, 0);
      // The pull request, its check runs and reviews; listings in one query, texts in one more; at 1,000 the 2,000 manifests and 1,400 prompts
      // (each agent's own) exceed one query's 2,500 objects and take two.
      const graphql = size <= 100 ? 2 : 3;
      expect({ size, reads, graphql: calls["graphql"], files: calls["pulls/list-files"] }).toEqual({ size, reads: 3 + graphql + Math.ceil(size / 100), graphql, files: Math.ceil(size / 100) });
      expect(reads).toBeLessThanOrEqual(6 + Math.ceil(size / 100));
    }
    expect(sim.rejected).toEqual([]);
  }, 900_000);
});
