import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CharterOctokit, retryPrimaryLimit, retrySecondaryLimit } from "../../src/github/api/tuned-octokit.js";
import { GitHubSimulator } from "../github-sim/index.js";
import type { Repository } from "../github-sim/state.js";

let sim: GitHubSimulator;
let repo: Repository;
beforeAll(async () => {
  sim = await GitHubSimulator.create();
  sim.addOrganization("acme");
  repo = await sim.createRepository({ owner: "acme", name: "agents" });
});
afterAll(async () => {
  await sim.close();
});

describe("Charter's Octokit and GitHub's rate limits", () => {
  it("waits out short limits and gives up on long ones, leaving them to the job queue", () => {
    expect(retryPrimaryLimit(30, 0)).toBe(true);
    expect(retryPrimaryLimit(30, 1)).toBe(false);
    expect(retryPrimaryLimit(3_000, 0)).toBe(false);
    expect(retrySecondaryLimit(60, 0)).toBe(true);
    expect(retrySecondaryLimit(60, 1)).toBe(true);
    expect(retrySecondaryLimit(60, 2)).toBe(false);
    expect(retrySecondaryLimit(600, 0)).toBe(false);
  });

  it("retries a request refused for a secondary rate limit, and stops after two retries", async () => {
    // Waits shortened to milliseconds (retry-after "0" means GitHub's fallback of 60 s otherwise).
    const octokit = new CharterOctokit({ auth: { token: sim.installationToken(repo) }, request: { fetch: sim.fetch }, throttle: { retryAfterBaseValue: 1, fallbackSecondaryRateRetryAfter: 1 } });
    sim.resetCalls();
    sim.faults.inject({ kind: "secondary-rate-limit", retryAfterSeconds: 0 }, { operation: "repos/get" });
    const answer = await octokit.request("GET /repos/{owner}/{repo}", { owner: "acme", repo: "agents" });
    expect(answer.status).toBe(200);
    expect(sim.calls["repos/get"]).toBe(2);

    sim.resetCalls();
    sim.faults.inject({ kind: "secondary-rate-limit", retryAfterSeconds: 0 }, { count: 5, operation: "repos/get" });
    await expect(octokit.request("GET /repos/{owner}/{repo}", { owner: "acme", repo: "agents" })).rejects.toMatchObject({ status: 403 });
    expect(sim.calls["repos/get"]).toBe(3);
    sim.faults.clear();
  });
});
