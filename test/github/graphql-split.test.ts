import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GraphqlFileLoader } from "../../src/github/api/graphql-file-loader.js";
import { COST_LIMIT_ANSWERS } from "../github-sim/graphql-cost-limit.js";
import { UnthrottledOctokit } from "../github-sim/probot-harness.js";
import { GitHubSimulator } from "../github-sim/simulator.js";
import type { Repository } from "../github-sim/state.js";
import { manyAgents } from "../helpers/agents-fixture.js";
import { mutate } from "../helpers/manifests.js";
import { waitFor } from "../jobs/wait-for.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

const NOTES = Array.from({ length: 14 }, (_, i) => [`notes/n${String(i).padStart(2, "0")}.md`, `note ${String(i)}\n`] as const);

describe("the GraphQL file loader, when GitHub gives up on a query as too costly", () => {
  let sim: GitHubSimulator;
  let repo: Repository;
  let loader: () => GraphqlFileLoader;
  beforeAll(async () => {
    sim = await GitHubSimulator.create();
    repo = await sim.createRepository({ owner: "acme", name: "agents", files: Object.fromEntries(NOTES) });
    const octokit = new UnthrottledOctokit({ auth: { token: sim.installationToken(repo) }, request: { fetch: sim.fetch } });
    loader = () => new GraphqlFileLoader(octokit, "acme", "agents");
  });
  afterEach(() => {
    sim.limitGraphqlCost(null);
    sim.faults.clear();
  });
  afterAll(async () => {
    await sim.close();
  });

  it.each(COST_LIMIT_ANSWERS)("splits the batch in halves and keeps the smaller size for later batches (answer: %s)", async (answer) => {
    sim.limitGraphqlCost({ maxAliases: 3, answer });
    const refusedBefore = sim.graphqlCostRefusals;
    const reader = loader();
    const first = NOTES.slice(0, 8);
    // 8 texts fail, their first 4 fail, then 2 + 2 pass; the other 4 go straight in twos: 6 queries.
    expect(await reader.readTexts("main", first.map(([path]) => path))).toEqual(new Map(first));
    expect(reader.requests).toBe(6);
    expect(sim.graphqlCostRefusals - refusedBefore).toBe(2);
    // Later reads of the same loader start at the size that passed: 6 texts, 3 queries, no failure.
    const later = NOTES.slice(8);
    expect(await reader.readTexts("main", later.map(([path]) => path))).toEqual(new Map(later));
    expect(reader.requests).toBe(9);
    expect(sim.graphqlCostRefusals - refusedBefore).toBe(2);
  });

  it("names the file when GitHub gives up on it even alone", async () => {
    sim.limitGraphqlCost({ maxAliases: 0, answer: "timeout-502" });
    const reader = loader();
    await expect(reader.readTexts("main", ["notes/n00.md", "notes/n01.md"])).rejects.toMatchObject({
      code: "GITHUB_LIMIT",
      message: expect.stringContaining("notes/n00.md at main") as unknown,
    });
    // Two together, then each alone: a bounded few.
    expect(reader.requests).toBe(3);
  });

  it.each([500, 502] as const)("does not split on other failures: HTTP %i without GitHub's timeout message is an outage", async (status) => {
    sim.faults.inject({ kind: "server-error", status }, { operation: "graphql" });
    const reader = loader();
    await expect(reader.readTexts("main", ["notes/n00.md", "notes/n01.md"])).rejects.toMatchObject({ status });
    expect(reader.requests).toBe(1);
  });
});

describe("a large pull request on a GitHub that gives up on large queries", () => {
  let fx: AppFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  it("still gets its check run, at a bounded few extra queries", async () => {
    const base = manyAgents(80);
    fx = await startCharter(base);
    const { sim, repo } = fx;
    const manifests = Object.keys(base).filter((p) => p.endsWith("/agent.yaml"));
    const open = async (branch: string, paths: readonly string[]): Promise<{ conclusion: string | null | undefined; graphql: number }> => {
      const changes: Record<string, string> = {};
      for (const path of paths) changes[path] = mutate(base[path] ?? "", "purpose: >", `purpose: >\n  Revised on ${branch}.`);
      sim.resetCalls();
      const { sha } = await sim.openPullRequest(repo, { author: "bob", branch, title: `${String(paths.length)} agents`, files: changes });
      await waitFor(() => sim.checkRunsFor(repo, sha).some((r) => r.name === "Charter"), "the Charter check run", 120_000);
      return { conclusion: sim.checkRunsFor(repo, sha).find((r) => r.name === "Charter")?.conclusion, graphql: sim.calls["graphql"] ?? 0 };
    };
    // The first check of a process also reads the inventory's identities; both measured checks come after it.
    await open("warm-up", manifests.slice(0, 1));
    const unlimited = await open("unlimited", manifests.slice(1, 31));
    // 30 agents: listings of base and head (60 aliases) and then some 90 texts; 40 aliases per query pass.
    sim.limitGraphqlCost({ maxAliases: 40, answer: "timeout" });
    const limited = await open("limited", manifests.slice(31, 61));
    // Only the first query fails: every later one is sent at the size that passed.
    expect(sim.graphqlCostRefusals).toBe(1);
    expect(limited.conclusion).toBe(unlimited.conclusion);
    expect(limited.conclusion).toBe("action_required");
    // The listing query fails once and passes in two halves (+2); the texts then go in batches of
    // at most half the listing's size instead of one query (+3 at most for some 120 texts): a few
    // more, never a query per file.
    expect(limited.graphql).toBeGreaterThan(unlimited.graphql + 2);
    expect(limited.graphql).toBeLessThanOrEqual(unlimited.graphql + 5);
    expect(sim.rejected).toEqual([]);
  }, 300_000);
});
