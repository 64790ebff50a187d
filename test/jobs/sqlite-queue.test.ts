import { spawnGroup } from "../helpers/child-processes.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Job } from "../../src/jobs/job-queue.js";
import { SqliteJobQueue } from "../../src/jobs/sqlite-queue.js";
import { queueContract } from "./queue-contract.js";
import { waitFor } from "./wait-for.js";

const dir = mkdtempSync(join(tmpdir(), "charter-queue-"));
let files = 0;
const nextPath = (): string => join(dir, `q${++files}`, "queue.sqlite");
const fast = { backoff: { baseMs: 5, capMs: 50 }, pollIntervalMs: 20 };

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("SqliteJobQueue", () => {
  queueContract(() => Promise.resolve(new SqliteJobQueue({ path: nextPath(), ...fast })));
});

/** Runs the worker fixture until it prints `line`, then kills it with SIGKILL. */
async function runUntilThenKill(path: string, mode: "enqueue" | "claim", line: string): Promise<void> {
  const worker = spawnGroup(process.execPath, ["--import", "tsx", join(import.meta.dirname, "fixtures", "sqlite-worker-process.ts"), path, mode], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { child } = worker;
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    await waitFor(() => stdout.includes(line) || child.exitCode !== null, `the worker process to print "${line}"`);
    expect(stderr).toBe("");
    expect(stdout).toContain(line);
  } finally {
    await worker.kill();
  }
  expect((await worker.exited).signal).toBe("SIGKILL");
}

describe("SqliteJobQueue after a crash", () => {
  it("keeps a job enqueued by a process killed right after enqueue resolved", async () => {
    const path = nextPath();
    await runUntilThenKill(path, "enqueue", "enqueued");
    const queue = new SqliteJobQueue({ path, ...fast });
    const seen: Job[] = [];
    await queue.start(async (job) => { seen.push(job); await Promise.resolve(); }, { concurrency: 1, maxAttempts: 3 });
    await waitFor(() => seen.length === 1, "the job to run after the restart");
    await queue.close();
    expect(seen[0]).toMatchObject({ deliveryId: "enqueued-then-killed", payload: { merged: true }, attempt: 1 });
  });

  it("runs again, after a restart, a job whose process was killed while running it", async () => {
    const path = nextPath();
    const first = new SqliteJobQueue({ path, ...fast });
    await first.enqueue({ key: "acme/web", deliveryId: "append-1", event: "pull_request", payload: {} });
    await first.enqueue({ key: "acme/web", deliveryId: "append-2", event: "pull_request", payload: {} });
    await first.close();

    await runUntilThenKill(path, "claim", "claimed append-1");

    const restarted = new SqliteJobQueue({ path, ...fast });
    expect((await restarted.stats()).running).toBe(1);
    const seen: Job[] = [];
    await restarted.start(async (job) => { seen.push(job); await Promise.resolve(); }, { concurrency: 1, maxAttempts: 3 });
    await waitFor(() => seen.length === 2, "both jobs to run after the restart");
    await restarted.close();
    expect(seen.map((j) => [j.deliveryId, j.attempt])).toEqual([["append-1", 2], ["append-2", 1]]);
  });

  it("remembers finished deliveries across restarts, and forgets them after the retention period", async () => {
    const path = nextPath();
    const queue = new SqliteJobQueue({ path, ...fast });
    await queue.enqueue({ key: "k", deliveryId: "once", event: "push", payload: {} });
    await queue.start(() => Promise.resolve(), { concurrency: 1, maxAttempts: 1 });
    await waitFor(async () => (await queue.stats()).queued === 0 && (await queue.stats()).running === 0, "the job to finish");
    await queue.close();

    const reopened = new SqliteJobQueue({ path, ...fast });
    expect(await reopened.enqueue({ key: "k", deliveryId: "once", event: "push", payload: {} })).toBe(false);
    await reopened.close();

    const pruning = new SqliteJobQueue({ path, ...fast, retentionMs: 0 });
    await pruning.start(() => Promise.resolve(), { concurrency: 1, maxAttempts: 1 });
    await pruning.stop();
    expect(await pruning.enqueue({ key: "k", deliveryId: "once", event: "push", payload: {} })).toBe(true);
    await pruning.close();
  });

  it("dead-letters a job that killed its process on every attempt instead of looping", async () => {
    const path = nextPath();
    const first = new SqliteJobQueue({ path, ...fast });
    await first.enqueue({ key: "acme/web", deliveryId: "append-1", event: "pull_request", payload: {} });
    await first.close();
    for (let n = 0; n < 3; n++) await runUntilThenKill(path, "claim", "claimed append-1");

    const restarted = new SqliteJobQueue({ path, ...fast });
    await restarted.start(() => Promise.resolve(), { concurrency: 1, maxAttempts: 3 });
    const dead = await restarted.listDead(5);
    await restarted.close();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ deliveryId: "append-1", attempt: 3 });
    expect(dead[0]?.lastError).toContain("worker stopped");
  });
});
