// One suite for every JobQueue implementation: what the app relies on, whichever backend runs.
import { afterEach, expect, it } from "vitest";
import type { Job, JobQueue } from "../../src/jobs/job-queue.js";
import { waitFor } from "./wait-for.js";

export function queueContract(makeQueue: () => Promise<JobQueue>): void {
  const open: JobQueue[] = [];
  const fresh = async (): Promise<JobQueue> => {
    const queue = await makeQueue();
    open.push(queue);
    return queue;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((q) => q.close()));
  });

  it("stores a redelivered webhook once and runs it once", async () => {
    const queue = await fresh();
    const job = { key: "acme/web", deliveryId: "d-1", event: "pull_request", payload: { action: "closed", n: 1 } };
    expect(await queue.enqueue(job)).toBe(true);
    expect(await queue.enqueue(job)).toBe(false);
    expect(await queue.enqueue({ ...job, payload: { other: true } })).toBe(false);
    const seen: Job[] = [];
    await queue.start((j) => { seen.push(j); return Promise.resolve(); }, { concurrency: 2, maxAttempts: 3 });
    await waitFor(async () => (await queue.stats()).queued === 0 && (await queue.stats()).running === 0 && seen.length === 1, "the job to run");
    await queue.stop();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ key: "acme/web", deliveryId: "d-1", event: "pull_request", payload: { action: "closed", n: 1 }, attempt: 1 });
    expect(await queue.enqueue(job)).toBe(false);
  });

  it("runs each key's jobs one at a time in order, and different keys in parallel", async () => {
    const queue = await fresh();
    const keys = Array.from({ length: 10 }, (_, k) => `org/repo-${k}`);
    for (let n = 0; n < 20; n++) {
      for (const key of keys) await queue.enqueue({ key, deliveryId: `${key}#${n}`, event: "push", payload: { n } });
    }
    const order = new Map<string, number[]>(keys.map((k) => [k, []]));
    const runningKeys = new Set<string>();
    let maxParallelKeys = 0;
    let sameKeyOverlap = false;
    await queue.start(
      async (job) => {
        if (runningKeys.has(job.key)) sameKeyOverlap = true;
        runningKeys.add(job.key);
        maxParallelKeys = Math.max(maxParallelKeys, runningKeys.size);
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.get(job.key)?.push((job.payload as { n: number }).n);
        runningKeys.delete(job.key);
      },
      { concurrency: 5, maxAttempts: 3 },
    );
    await waitFor(() => [...order.values()].every((o) => o.length === 20), "all 200 jobs", 60_000);
    await queue.stop();
    for (const key of keys) expect(order.get(key)).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(sameKeyOverlap).toBe(false);
    expect(maxParallelKeys).toBeGreaterThan(1);
  });

  it("retries a failing job with backoff until it succeeds", async () => {
    const queue = await fresh();
    await queue.enqueue({ key: "k", deliveryId: "flaky", event: "push", payload: {} });
    const attempts: number[] = [];
    const outcomes: string[] = [];
    await queue.start(
      async (job) => {
        attempts.push(job.attempt);
        if (job.attempt < 3) throw new Error(`GitHub answered 502 on attempt ${job.attempt}`);
        await Promise.resolve();
      },
      { concurrency: 1, maxAttempts: 5, onSettled: (_job, outcome) => outcomes.push(outcome) },
    );
    await waitFor(() => outcomes.length === 3, "three attempts");
    await queue.stop();
    expect(attempts).toEqual([1, 2, 3]);
    expect(outcomes).toEqual(["retry", "retry", "done"]);
    expect(await queue.stats()).toMatchObject({ queued: 0, running: 0, retrying: 0, dead: 0 });
  });

  it("dead-letters a job after maxAttempts, lists it, and revives it on retry", async () => {
    const queue = await fresh();
    await queue.enqueue({ key: "acme/api", deliveryId: "poison", event: "pull_request", payload: {} });
    await queue.enqueue({ key: "acme/api", deliveryId: "after-poison", event: "push", payload: {} });
    let healthy = false;
    const done: string[] = [];
    await queue.start(
      async (job) => {
        await Promise.resolve();
        if (job.deliveryId === "poison" && !healthy) throw new Error("ledger branch is protected");
        done.push(job.deliveryId);
      },
      { concurrency: 2, maxAttempts: 2 },
    );
    await waitFor(async () => (await queue.stats()).dead === 1 && done.includes("after-poison"), "the job to die");
    const dead = await queue.listDead(10);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ key: "acme/api", deliveryId: "poison", event: "pull_request", attempt: 2 });
    expect(dead[0]?.lastError).toContain("ledger branch is protected");
    expect(Number.isNaN(Date.parse(dead[0]?.failedAt ?? ""))).toBe(false);

    healthy = true;
    expect(await queue.retryDead(["999999"])).toBe(0);
    expect(await queue.retryDead([dead[0]?.id ?? ""])).toBe(1);
    await waitFor(() => done.includes("poison"), "the revived job to run");
    await queue.stop();
    expect(await queue.listDead(10)).toEqual([]);
    expect((await queue.stats()).dead).toBe(0);
  });

  it("stop() waits for running jobs to finish", async () => {
    const queue = await fresh();
    await queue.enqueue({ key: "k", deliveryId: "slow", event: "push", payload: {} });
    let started = false;
    let finished = false;
    await queue.start(
      async () => {
        started = true;
        await new Promise((resolve) => setTimeout(resolve, 300));
        finished = true;
      },
      { concurrency: 1, maxAttempts: 1 },
    );
    await waitFor(() => started, "the job to start");
    await queue.stop();
    expect(finished).toBe(true);
    expect(await queue.stats()).toMatchObject({ queued: 0, running: 0, dead: 0 });
  });
}
