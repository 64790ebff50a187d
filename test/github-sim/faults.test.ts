/* eslint-disable @typescript-eslint/no-unsafe-member-access --
   answers are GitHub's JSON, read field by field in assertions (see RestAnswer in rest-client.ts) */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { restClient } from "./rest-client.js";
import { GitHubSimulator } from "./simulator.js";
import type { Repository } from "./state.js";

let sim: GitHubSimulator;
let repo: Repository;
let api: ReturnType<typeof restClient>;

beforeAll(async () => {
  sim = await GitHubSimulator.create({ rateLimit: 40 });
  repo = await sim.createRepository({ owner: "acme", name: "agents" });
  api = restClient(sim, sim.installationToken(repo));
});

afterAll(async () => {
  await sim.close();
});

describe("injected faults", () => {
  test("server errors hit the next N matching requests only", async () => {
    sim.faults.inject({ kind: "server-error", status: 502 }, { count: 2, operation: "repos/get" });
    expect((await api("GET", "/users/acme")).status).toBe(200);
    expect((await api("GET", "/repos/acme/agents")).status).toBe(502);
    expect((await api("GET", "/repos/acme/agents")).status).toBe(502);
    expect((await api("GET", "/repos/acme/agents")).status).toBe(200);
    expect(sim.faults.pending).toBe(0);
    expect(sim.rejected).toEqual([]);
  });

  test("secondary rate limits answer 403 or 429 with GitHub's message and retry-after", async () => {
    sim.faults.inject({ kind: "secondary-rate-limit", retryAfterSeconds: 7 });
    const forbidden = await api("GET", "/repos/acme/agents");
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get("retry-after")).toBe("7");
    expect(forbidden.body.message).toMatch(/^You have exceeded a secondary rate limit/);
    expect(Number(forbidden.headers.get("x-ratelimit-remaining"))).toBeGreaterThan(0);
    sim.faults.inject({ kind: "secondary-rate-limit", status: 429 }, { operation: "graphql" });
    const graphql = await api("POST", "/graphql", { query: "{ rateLimit { remaining } }" });
    expect(graphql.status).toBe(429);
    expect(graphql.headers.get("retry-after")).toBe("60");
  });

  test("latency delays the answer without changing it", async () => {
    sim.faults.inject({ kind: "latency", ms: 150 }, { operation: "repos/get" });
    const started = performance.now();
    const answer = await api("GET", "/repos/acme/agents");
    expect(answer.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });
});

describe("counting and rate limits", () => {
  test("calls are counted per operationId and can be reset", async () => {
    sim.resetCalls();
    await api("GET", "/repos/acme/agents");
    await api("GET", "/repos/acme/agents");
    await api("POST", "/graphql", { query: "{ rateLimit { cost } }" });
    await api("GET", "/nowhere");
    expect(sim.calls).toEqual({ "repos/get": 2, graphql: 1, unknown: 1 });
    sim.resetCalls();
    expect(sim.calls).toEqual({});
  });

  test("every answer carries rate-limit headers, counting down per installation until GitHub's 403", async () => {
    const other = await sim.createRepository({ owner: "globex", name: "bots" });
    const otherApi = restClient(sim, sim.installationToken(other));
    const first = await otherApi("GET", "/repos/globex/bots");
    const second = await otherApi("GET", "/repos/globex/bots");
    expect(first.headers.get("x-ratelimit-limit")).toBe("40");
    expect(first.headers.get("x-ratelimit-resource")).toBe("core");
    expect(Number(second.headers.get("x-ratelimit-remaining"))).toBe(Number(first.headers.get("x-ratelimit-remaining")) - 1);
    expect(Number(second.headers.get("x-ratelimit-used"))).toBe(2);
    expect(Number(first.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
    const acme = await api("GET", "/repos/acme/agents");
    expect(Number(acme.headers.get("x-ratelimit-remaining"))).toBeLessThan(Number(second.headers.get("x-ratelimit-remaining")));
    let last = second;
    while (Number(last.headers.get("x-ratelimit-remaining")) > 0) last = await otherApi("GET", "/repos/globex/bots");
    const refused = await otherApi("GET", "/repos/globex/bots");
    expect(refused.status).toBe(403);
    expect(refused.body.message).toMatch(/^API rate limit exceeded for installation ID \d+\.$/);
    expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
    const unauthenticated = await restClient(sim, null)("GET", "/repos/globex/bots");
    expect(unauthenticated.headers.get("x-ratelimit-limit")).not.toBeNull();
  });
});
