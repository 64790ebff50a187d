import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCharterMetrics, type CharterMetrics } from "../../src/github/ops/metrics.js";
import { observeOctokit } from "../../src/github/ops/octokit-metrics.js";
import { ProbotOctokit } from "probot";
import { GitHubSimulator, UnthrottledOctokit } from "../github-sim/index.js";
import type { Repository } from "../github-sim/state.js";
import { parseExposition } from "./exposition.js";

// Low enough to run out within a test: the simulator answers 403 with GitHub's headers then.
const RATE_LIMIT = 6;

let sim: GitHubSimulator;
let owners = 0;

beforeAll(async () => {
  sim = await GitHubSimulator.create({ rateLimit: RATE_LIMIT });
});

afterAll(async () => {
  await sim.close();
});

/** A repository under an owner of its own: its own installation, so its own rate-limit budget. */
async function freshRepository(): Promise<Repository> {
  return sim.createRepository({ owner: `acme-${++owners}`, name: "agents", files: { "agents/triage/agent.yaml": "name: triage\n" } });
}

async function client(): Promise<{ octokit: InstanceType<typeof UnthrottledOctokit>; owner: string }> {
  const repo = await freshRepository();
  return { octokit: new UnthrottledOctokit({ auth: { token: sim.installationToken(repo) }, request: { fetch: sim.fetch } }), owner: repo.owner.login };
}

async function read(metrics: CharterMetrics): Promise<{ requests: Record<string, number>; remaining: Record<string, number> }> {
  const families = parseExposition(await metrics.render());
  const requests: Record<string, number> = {};
  for (const s of families.get("charter_github_requests_total")?.samples ?? []) requests[`${s.labels["method"]} ${s.labels["status"]}`] = s.value;
  const remaining: Record<string, number> = {};
  for (const s of families.get("charter_github_rate_limit_remaining")?.samples ?? []) remaining[s.labels["resource"] ?? ""] = s.value;
  return { requests, remaining };
}

/** What Octokit's RequestError carries when GitHub answered with an error status. */
interface Answered {
  readonly status: number;
  readonly response: { readonly headers: Readonly<Record<string, string | number | undefined>> };
}

/** The failed request's error when GitHub answered it, undefined when the request succeeded. */
async function failure(request: Promise<unknown>): Promise<Answered | undefined> {
  try {
    await request;
    return undefined;
  } catch (error) {
    if (error instanceof Error && "status" in error && "response" in error && error.response) return error as unknown as Answered;
    throw error;
  }
}

describe("observeOctokit against the GitHub simulator", () => {
  it("counts responses by method and status and keeps the remaining rate limit per resource from GitHub's headers", async () => {
    const metrics = createCharterMetrics();
    const { octokit, owner } = await client();
    observeOctokit(octokit, metrics);

    const ok = await octokit.request("GET /repos/{owner}/{repo}", { owner, repo: "agents" });
    expect(ok.headers["x-ratelimit-resource"]).toBe("core");
    expect(await read(metrics)).toEqual({ requests: { "GET 200": 1 }, remaining: { core: Number(ok.headers["x-ratelimit-remaining"]) } });

    const missing = await failure(octokit.request("GET /repos/{owner}/{repo}", { owner, repo: "missing" }));
    expect(missing?.status).toBe(404);

    const graphql = await octokit.request("POST /graphql", { query: "query { viewer { login } }" });
    expect(graphql.headers["x-ratelimit-resource"]).toBe("graphql");

    const after = await read(metrics);
    expect(after.requests).toEqual({ "GET 200": 1, "GET 404": 1, "POST 200": 1 });
    expect(after.remaining["graphql"]).toBe(Number(graphql.headers["x-ratelimit-remaining"]));
    expect(after.remaining["core"]).toBe(Number(missing?.response.headers["x-ratelimit-remaining"]));
  });

  it("reads the headers of a 403 rate-limit answer: remaining drops to 0", async () => {
    const metrics = createCharterMetrics();
    const { octokit, owner } = await client();
    observeOctokit(octokit, metrics);

    let limited: Answered | undefined;
    for (let i = 0; i <= RATE_LIMIT && !limited; i++) {
      limited = await failure(octokit.request("GET /repos/{owner}/{repo}", { owner, repo: "agents" }));
    }
    expect(limited?.status).toBe(403);
    expect(limited?.response.headers["x-ratelimit-remaining"]).toBe("0");
    const { requests, remaining } = await read(metrics);
    expect(requests["GET 403"]).toBe(1);
    expect(remaining).toEqual({ core: 0 });
  });

  it("counts a request Octokit retried once, with the status it finally got", async () => {
    // Probot's Octokit with its retry plugin on (waits shortened to milliseconds) and throttling off.
    const Retrying = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
      ...options,
      retry: { retryAfterBaseValue: 1 },
      throttle: { ...(options["throttle"] as object | undefined), enabled: false },
    }));
    const metrics = createCharterMetrics();
    const repo = await freshRepository();
    const owner = repo.owner.login;
    const octokit = new Retrying({ auth: { token: sim.installationToken(repo) }, request: { fetch: sim.fetch } });
    observeOctokit(octokit, metrics);
    sim.resetCalls();
    sim.faults.inject({ kind: "server-error", status: 502 }, { operation: "repos/get" });

    const answer = await octokit.request("GET /repos/{owner}/{repo}", { owner, repo: "agents" });
    expect(answer.status).toBe(200);
    expect(sim.calls["repos/get"]).toBe(2);
    expect((await read(metrics)).requests).toEqual({ "GET 200": 1 });
  });

  it("observes an instance once however often it is handed over", async () => {
    const metrics = createCharterMetrics();
    const { octokit, owner } = await client();
    observeOctokit(octokit, metrics);
    observeOctokit(octokit, metrics);
    await octokit.request("GET /repos/{owner}/{repo}", { owner, repo: "agents" });
    expect((await read(metrics)).requests).toEqual({ "GET 200": 1 });
  });

  it("counts a request that got no answer as status none, and leaves the rate-limit gauge alone", async () => {
    const metrics = createCharterMetrics();
    // Port 1 on loopback: nothing listens there, so the connection is refused without leaving the machine.
    const octokit = new UnthrottledOctokit({ auth: { token: "unused" }, baseUrl: "http://127.0.0.1:1" });
    observeOctokit(octokit, metrics);
    await expect(octokit.request("GET /rate_limit")).rejects.toThrow();
    expect(await read(metrics)).toEqual({ requests: { "GET none": 1 }, remaining: {} });
  });
});
