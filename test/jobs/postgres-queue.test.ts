import { spawnGroup } from "../helpers/child-processes.js";
import { join } from "node:path";
import { Logger } from "graphile-worker";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../../src/jobs/job-queue.js";
import { PostgresJobQueue, type PostgresQueueOptions } from "../../src/jobs/postgres-queue.js";
import { startPostgres, type PostgresServer } from "../helpers/postgres.js";
import { queueContract } from "./queue-contract.js";
import { waitFor } from "./wait-for.js";

let server: PostgresServer;
let databases = 0;
const quiet = new Logger(() => () => undefined);
const fast = { backoff: { baseMs: 5, capMs: 50 }, pollIntervalMs: 50, heartbeatMs: 200, logger: quiet };

beforeAll(async () => {
  server = await startPostgres();
}, 60_000);

afterAll(() => {
  server.stop();
});

/** A fresh database per test: graphile-worker's schema and Charter's tables start empty. */
async function freshDatabase(): Promise<string> {
  const name = `queue_${++databases}`;
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  await client.end();
  return server.urlFor(name);
}

const open = (connectionString: string, options: Partial<PostgresQueueOptions> = {}): PostgresJobQueue =>
  new PostgresJobQueue({ connectionString, ...fast, ...options });

describe("PostgresJobQueue", () => {
  queueContract(async () => open(await freshDatabase()));
});

describe("PostgresJobQueue with two replicas on one database", () => {
  it("stores a delivery once when both replicas receive it at the same moment", async () => {
    const url = await freshDatabase();
    const [a, b] = [open(url), open(url)];
    try {
      const job = { key: "acme/web", deliveryId: "both", event: "pull_request", payload: {} };
      const results = await Promise.all([a.enqueue(job), b.enqueue(job), a.enqueue(job), b.enqueue(job)]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await a.stats()).queued).toBe(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("runs 200 jobs over 10 keys exactly once each, in order per key, shared by both", async () => {
    const url = await freshDatabase();
    const [a, b] = [open(url), open(url)];
    try {
      const keys = Array.from({ length: 10 }, (_, k) => `org/repo-${k}`);
      for (let n = 0; n < 20; n++) {
        for (const [i, key] of keys.entries()) await (i % 2 === 0 ? a : b).enqueue({ key, deliveryId: `${key}#${n}`, event: "push", payload: { n } });
      }
      const runs = new Map<string, string[]>();
      const order = new Map<string, number[]>(keys.map((k) => [k, []]));
      const runningKeys = new Set<string>();
      let sameKeyOverlap = false;
      // Jobs wait until both replicas are up, so the first cannot drain the queue alone.
      let bothStarted = (): void => undefined;
      const gate = new Promise<void>((resolve) => (bothStarted = resolve));
      const handlerFor = (replica: string) => async (job: Job) => {
        if (runningKeys.has(job.key)) sameKeyOverlap = true;
        runningKeys.add(job.key);
        await gate;
        await new Promise((resolve) => setTimeout(resolve, 5));
        runs.set(job.deliveryId, [...(runs.get(job.deliveryId) ?? []), replica]);
        order.get(job.key)?.push((job.payload as { n: number }).n);
        runningKeys.delete(job.key);
      };
      await a.start(handlerFor("a"), { concurrency: 4, maxAttempts: 3 });
      await b.start(handlerFor("b"), { concurrency: 4, maxAttempts: 3 });
      bothStarted();
      await waitFor(() => runs.size === 200, "all 200 jobs", 120_000);
      await Promise.all([a.stop(), b.stop()]);
      expect([...runs.values()].every((r) => r.length === 1)).toBe(true);
      for (const key of keys) expect(order.get(key)).toEqual(Array.from({ length: 20 }, (_, n) => n));
      expect(sameKeyOverlap).toBe(false);
      const byReplica = new Set([...runs.values()].flat());
      expect(byReplica).toEqual(new Set(["a", "b"]));
      expect(await a.stats()).toMatchObject({ queued: 0, running: 0, retrying: 0, dead: 0 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("gives a killed replica's job to the other replica once its heartbeat is stale", async () => {
    const url = await freshDatabase();
    const survivor = open(url, { staleAfterMs: 1_000 });
    try {
      await survivor.enqueue({ key: "acme/web", deliveryId: "append-1", event: "pull_request", payload: { merged: true } });

      const replica = spawnGroup(process.execPath, ["--import", "tsx", join(import.meta.dirname, "fixtures", "postgres-worker-process.ts"), url], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      replica.child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      try {
        await waitFor(() => stdout.includes("claimed append-1") || replica.child.exitCode !== null, "the other replica to claim the job");
      } finally {
        await replica.kill();
      }
      expect((await replica.exited).signal).toBe("SIGKILL");
      expect((await survivor.stats()).running).toBe(1);

      const seen: Job[] = [];
      await survivor.start((job) => { seen.push(job); return Promise.resolve(); }, { concurrency: 1, maxAttempts: 3 });
      await waitFor(() => seen.length === 1, "the survivor to run the job", 60_000);
      await survivor.stop();
      expect(seen[0]).toMatchObject({ deliveryId: "append-1", payload: { merged: true }, attempt: 2 });
      expect(await survivor.stats()).toMatchObject({ running: 0, queued: 0, dead: 0 });
    } finally {
      await survivor.close();
    }
  });
});
