import { afterEach, describe, expect, it } from "vitest";
import type { SqliteJobQueue } from "../../src/jobs/sqlite-queue.js";
import { TestQueues } from "../helpers/test-queues.js";
import { waitFor } from "../jobs/wait-for.js";
import { ownAgents } from "../helpers/agents-fixture.js";
import { mutate } from "../helpers/manifests.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

let fx: AppFixture | undefined;
let queue: SqliteJobQueue | undefined;
const queues = new TestQueues();
afterEach(async () => {
  await queues.closeWith(fx);
  fx = undefined;
  queue = undefined;
});

const AGENTS = ownAgents();
const TRIAGE = "agents/support-triage/agent.yaml";

describe("the running app's operations endpoints", () => {
  it("serves health, readiness with the queue's state, and metrics counted from real traffic", async () => {
    queue = queues.open();
    fx = await startCharter(AGENTS, { jobs: queue });
    const { sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "m", title: "Model", body: "## Rollback plan\nRevert.\n", files: { [TRIAGE]: mutate(AGENTS[TRIAGE] ?? "", 'version: "20250929"', 'version: "20251101"') } });
    await waitFor(() => fx?.sim.checkRunsFor(fx.repo, sha).some((r) => r.name === "Charter") === true, "the check run");

    const health = await fetch(`${fx.app.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${fx.app.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, checks: { "job queue": expect.stringMatching(/^reachable/) as string, "signing key": "missing: no evidence is written" } });

    await waitFor(async () => (await queue?.stats())?.queued === 0, "the queue drained");
    const metrics = await (await fetch(`${fx.app.url}/metrics`)).text();
    expect(metrics).toMatch(/^charter_webhooks_received_total\{event="pull_request"\} [1-9]/m);
    expect(metrics).toMatch(/^charter_github_requests_total\{method="POST",status="201"\} [1-9]/m);
    expect(metrics).toMatch(/^charter_job_duration_seconds_count\{event="pull_request",outcome="done"\} [1-9]/m);
    expect(metrics).toMatch(/^charter_jobs_dead 0$/m);
    expect(metrics).toMatch(/^charter_github_rate_limit_remaining\{resource="core"\} \d+/m);
    // The webhook route still answers beside them.
    expect(fx.sim.rejected).toEqual([]);
  });
});
