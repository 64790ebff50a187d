// The schedule claim both queues offer: what RepositorySchedule relies on so that replicas
// sharing a queue run each (repository, task) once per interval.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Logger } from "graphile-worker";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CharterError } from "../../src/errors.js";
import type { JobQueue, ScheduleClaim } from "../../src/jobs/job-queue.js";
import { PostgresJobQueue } from "../../src/jobs/postgres-queue.js";
import { SqliteJobQueue } from "../../src/jobs/sqlite-queue.js";
import { startPostgres, type PostgresServer } from "../helpers/postgres.js";

const T0 = Date.parse("2026-11-27T10:00:00Z");
const HOUR = 3_600_000;
const LEASE = 15 * 60_000;

/** Opens one more queue on the store of this test (a replica); each call to `fresh` starts a new store. */
type Store = () => JobQueue;

function claimContract(fresh: () => Promise<Store>): void {
  const open: JobQueue[] = [];
  const replicas = async (n: number): Promise<JobQueue[]> => {
    const store = await fresh();
    const queues = Array.from({ length: n }, () => store());
    open.push(...queues);
    return queues;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((q) => q.close()));
  });

  const tokenOf = (claim: ScheduleClaim): string => {
    if (!claim.claimed) throw new Error(`expected a claim, the task is due at ${String(claim.nextDueMs)}`);
    return claim.token;
  };

  it("gives a due task to exactly one of the replicas claiming it at the same moment", async () => {
    const [a, b] = (await replicas(2)) as [JobQueue, JobQueue];
    const keys = ["drift:1", "drift:2", "access-review:1", "reconcile:1"];
    const attempts = keys.flatMap((key) => Array.from({ length: 8 }, (_, i) => ({ key, queue: i % 2 === 0 ? a : b })));
    const claims = await Promise.all(attempts.map(({ key, queue }) => queue.claimScheduled(key, T0, LEASE)));
    for (const key of keys) {
      const mine = claims.filter((_, i) => attempts[i]?.key === key);
      expect(mine.filter((c) => c.claimed)).toHaveLength(1);
      // The others learn when to look again: when the winner's lease ends.
      expect(mine.filter((c) => !c.claimed)).toEqual(Array.from({ length: 7 }, () => ({ claimed: false, nextDueMs: T0 + LEASE })));
    }
  });

  it("after a finished run, holds the task until the next-due time the run asked for", async () => {
    const [a, b] = (await replicas(2)) as [JobQueue, JobQueue];
    const token = tokenOf(await a.claimScheduled("drift:7", T0, LEASE));
    expect(await a.finishScheduled("drift:7", token, T0 + HOUR)).toBe(true);
    // Past the lease but before the interval: not due, for either replica.
    expect(await b.claimScheduled("drift:7", T0 + LEASE + 1, LEASE)).toEqual({ claimed: false, nextDueMs: T0 + HOUR });
    expect(await a.claimScheduled("drift:7", T0 + HOUR - 1, LEASE)).toEqual({ claimed: false, nextDueMs: T0 + HOUR });
    const [first, second] = await Promise.all([b.claimScheduled("drift:7", T0 + HOUR, LEASE), a.claimScheduled("drift:7", T0 + HOUR, LEASE)]);
    expect([first.claimed, second.claimed].filter(Boolean)).toHaveLength(1);
  });

  it("gives a failed run's task back at once when it is released at its claim time", async () => {
    const [a, b] = (await replicas(2)) as [JobQueue, JobQueue];
    const token = tokenOf(await a.claimScheduled("reconcile:3", T0, LEASE));
    expect(await a.finishScheduled("reconcile:3", token, T0)).toBe(true);
    expect((await b.claimScheduled("reconcile:3", T0, LEASE)).claimed).toBe(true);
  });

  it("lets another replica take a task whose lease expired, and ignores the late finish of the first", async () => {
    const [a, b] = (await replicas(2)) as [JobQueue, JobQueue];
    const lost = tokenOf(await a.claimScheduled("access-review:9", T0, 1_000));
    expect(await b.claimScheduled("access-review:9", T0 + 999, 1_000)).toEqual({ claimed: false, nextDueMs: T0 + 1_000 });
    const taken = tokenOf(await b.claimScheduled("access-review:9", T0 + 1_000, LEASE));
    expect(taken).not.toBe(lost);
    // The replica that lost its lease finishes late: the new holder's claim stands.
    expect(await a.finishScheduled("access-review:9", lost, T0 + 5_000)).toBe(false);
    expect(await a.claimScheduled("access-review:9", T0 + 5_000, LEASE)).toEqual({ claimed: false, nextDueMs: T0 + 1_000 + LEASE });
    expect(await b.finishScheduled("access-review:9", taken, T0 + HOUR)).toBe(true);
    // A claim is finished once.
    expect(await b.finishScheduled("access-review:9", taken, T0)).toBe(false);
    expect(await a.claimScheduled("access-review:9", T0 + HOUR - 1, LEASE)).toEqual({ claimed: false, nextDueMs: T0 + HOUR });
  });

  it("keeps the due times when a replica restarts", async () => {
    const store = await fresh();
    const first = store();
    open.push(first);
    const token = tokenOf(await first.claimScheduled("drift:5", T0, LEASE));
    expect(await first.finishScheduled("drift:5", token, T0 + HOUR)).toBe(true);
    await first.close();
    const restarted = store();
    open.push(restarted);
    expect(await restarted.claimScheduled("drift:5", T0 + 1, LEASE)).toEqual({ claimed: false, nextDueMs: T0 + HOUR });
  });

  it("treats keys as data: quotes, SQL, newlines and case are part of the key", async () => {
    const [a, b] = (await replicas(2)) as [JobQueue, JobQueue];
    const keys = ["drift:'; DROP TABLE schedule; --", 'drift:"charter_schedule"', "drift:a\nb", "drift:\\x00\\", "Drift:1", "drift:1", "drift:ünïcode ✓"];
    for (const key of keys) {
      const token = tokenOf(await a.claimScheduled(key, T0, LEASE));
      expect(await a.finishScheduled(key, token, T0 + HOUR)).toBe(true);
    }
    for (const key of keys) expect(await b.claimScheduled(key, T0 + 1, LEASE)).toEqual({ claimed: false, nextDueMs: T0 + HOUR });
    expect((await b.claimScheduled("drift:2", T0 + 1, LEASE)).claimed).toBe(true);
  });

  it("refuses times that are not whole milliseconds, a lease that is not positive and an empty key", async () => {
    const [a] = (await replicas(1)) as [JobQueue];
    const usage = async (attempt: Promise<unknown>): Promise<void> => {
      const error = await attempt.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(CharterError);
      expect((error as CharterError).code).toBe("USAGE");
    };
    await usage(a.claimScheduled("drift:1", T0 + 0.5, LEASE));
    await usage(a.claimScheduled("drift:1", Number.NaN, LEASE));
    await usage(a.claimScheduled("drift:1", T0, 0));
    await usage(a.claimScheduled("", T0, LEASE));
    await usage(a.finishScheduled("drift:1", "token", Number.POSITIVE_INFINITY));
    // None of them took the task.
    expect((await a.claimScheduled("drift:1", T0, LEASE)).claimed).toBe(true);
  });
}

describe("SqliteJobQueue schedule claims (two queues on one file)", () => {
  const dir = mkdtempSync(join(tmpdir(), "charter-claims-"));
  let files = 0;
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  claimContract(() => {
    const path = join(dir, `q${String(++files)}`, "queue.sqlite");
    return Promise.resolve(() => new SqliteJobQueue({ path }));
  });
});

describe("PostgresJobQueue schedule claims (two replicas on one database)", () => {
  let server: PostgresServer;
  let databases = 0;
  const quiet = new Logger(() => () => undefined);
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(() => {
    server.stop();
  });
  const freshDatabase = async (): Promise<string> => {
    const name = `claims_${String(++databases)}`;
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } finally {
      await client.end();
    }
    return server.urlFor(name);
  };

  claimContract(async () => {
    const url = await freshDatabase();
    return () => new PostgresJobQueue({ connectionString: url, logger: quiet });
  });

  it("keeps its table in Charter's schema, whatever characters the schema's name holds", async () => {
    const url = await freshDatabase();
    const schema = 'charter "jobs"; x';
    const [a, b] = [new PostgresJobQueue({ connectionString: url, schema, logger: quiet }), new PostgresJobQueue({ connectionString: url, schema, logger: quiet })];
    try {
      const [one, two] = await Promise.all([a.claimScheduled("drift:1", T0, LEASE), b.claimScheduled("drift:1", T0, LEASE)]);
      expect([one.claimed, two.claimed].filter(Boolean)).toHaveLength(1);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ key: string; token: string | null }>(`SELECT key, token FROM ${pg.escapeIdentifier(schema)}.charter_schedule`);
        expect(rows.map((r) => r.key)).toEqual(["drift:1"]);
        expect(rows[0]?.token).not.toBeNull();
      } finally {
        await client.end();
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
