import { afterEach, describe, expect, it } from "vitest";
import { manyAgents } from "../helpers/agents-fixture.js";
import { mutate } from "../helpers/manifests.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

let fx: AppFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

/** Opens the same three-agent pull request against a repository of `size` agents; returns the API calls it cost. */
async function callsForTypicalPullRequest(size: number): Promise<Record<string, number>> {
  const files = manyAgents(size);
  fx = await startCharter(files);
  // Warm the installation token so both runs count the same requests.
  await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "warm-up", title: "Warm up", files: { "README.md": "# warm\n" } });
  fx.sim.resetCalls();
  const ids = Object.keys(files)
    .filter((p) => p.endsWith("/agent.yaml"))
    .slice(0, 3);
  const changes: Record<string, string> = {};
  for (const path of ids) changes[path] = mutate(files[path] ?? "", "purpose: >", "purpose: >\n  Reviewed quarterly.");
  const { sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "three-agents", title: "Three agents", body: "## Rollback plan\nRevert.\n", files: changes });
  const [run] = fx.sim.checkRunsFor(fx.repo, sha);
  expect(run?.conclusion).toBe("action_required");
  expect(fx.sim.rejected).toEqual([]);
  const calls = { ...fx.sim.calls };
  await fx.close();
  fx = undefined;
  return calls;
}

describe("GitHub API calls per pull request", () => {
  it("are the same for a 10-agent and a 5,000-agent repository", async () => {
    const small = await callsForTypicalPullRequest(10);
    const large = await callsForTypicalPullRequest(5_000);
    expect(large).toEqual(small);
    // And they are few: the pull request, its check runs and files, GraphQL reads at base and
    // head, its reviews and commits, and publishing the check run.
    const total = Object.values(small).reduce((a, b) => a + b, 0);
    expect(small).toEqual({
      "pulls/get": 1,
      "checks/list-for-ref": 1,
      "pulls/list-files": 1,
      graphql: 3,
      "pulls/list-reviews": 1,
      "pulls/list-commits": 1,
      "checks/create": 1,
    });
    expect(total).toBe(9);
  }, 120_000);
});
