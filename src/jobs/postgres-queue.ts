import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { Logger, makeWorkerUtils, run, type Runner, type WorkerEvents, type WorkerUtils } from "graphile-worker";
import pg from "pg";
import { CharterError } from "../errors.js";
import { backoffDelayMs, DEFAULT_BACKOFF, errorSummary, type BackoffOptions } from "./backoff.js";
import type { DeadJob, Job, JobInput, JobQueue, QueueStats, ScheduleClaim, WorkerOptions } from "./job-queue.js";
import { checkClaimTimes, checkLease } from "./schedule-claim-input.js";

/**
 * The shared queue: PostgreSQL through graphile-worker, so several app replicas take jobs from
 * one database without running any job twice. graphile-worker gives per-queue serial execution
 * (queue name = job key), locking and retries; Charter adds three things it lacks:
 *  - exactly-once storage of a GitHub delivery (a delivery table written in the add_job transaction),
 *  - fast recovery from a dead replica (graphile-worker frees a dead worker's locks only after
 *    4 hours; a heartbeat per worker pool lets a live replica free them after `staleAfterMs`),
 *  - jittered, configurable backoff (graphile-worker's own is exp(attempts) seconds, without jitter).
 * Ordering per key is graphile-worker's: one job of a key runs at a time, in enqueue order; a job
 * waiting for its retry does not hold back the later jobs of its key (the SQLite queue's does).
 */
export interface PostgresQueueOptions {
  readonly connectionString: string;
  /** Schema of Charter's delivery, heartbeat and schedule tables (default charter_jobs). */
  readonly schema?: string;
  /** Schema of graphile-worker's tables (default graphile_worker). */
  readonly workerSchema?: string;
  /**
   * Attempts stored with each job at enqueue, before any worker's options are known; a worker
   * dead-letters earlier when its own maxAttempts is lower (default 25).
   */
  readonly maxAttempts?: number;
  readonly backoff?: BackoffOptions;
  /** How often a running queue proves it is alive (default 5 s). */
  readonly heartbeatMs?: number;
  /** A worker pool silent this long is dead: its jobs are unlocked for others (default 30 s). */
  readonly staleAfterMs?: number;
  /** How often idle workers look for retries that came due; new jobs arrive by LISTEN/NOTIFY at once (default 1 s). */
  readonly pollIntervalMs?: number;
  /** How long delivery ids of finished jobs are remembered, so a redelivery is recognised (default 7 days). */
  readonly retentionMs?: number;
  /** graphile-worker's logger; by default warnings and errors go to stderr. */
  readonly logger?: Logger;
}

const TASK = "charter_job";
const DAY_MS = 24 * 60 * 60 * 1000;

interface StoredPayload {
  readonly key: string;
  readonly deliveryId: string;
  readonly event: string;
  readonly payload: unknown;
}

/** What a worker decided about a failed job, applied once graphile-worker has released it. */
interface PendingFailure {
  readonly attempts: number;
  /** undefined: dead-letter it now. */
  readonly runAt: Date | undefined;
  readonly since: number;
}

const stderrLogger = new Logger(() => (level, message) => {
  // LogLevel is an ambient const enum, unusable under verbatimModuleSyntax; its values are these strings.
  const name: string = level;
  if (name === "error" || name === "warning") process.stderr.write(`charter jobs: ${message}\n`);
});

export class PostgresJobQueue implements JobQueue {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #workerSchema: string;
  readonly #maxAttempts: number;
  readonly #backoff: BackoffOptions;
  readonly #heartbeatMs: number;
  readonly #staleAfterMs: number;
  readonly #pollIntervalMs: number;
  readonly #retentionMs: number;
  readonly #logger: Logger;
  #ready: Promise<WorkerUtils> | undefined;
  #runner: Runner | undefined;
  #poolId: string | undefined;
  #timers: NodeJS.Timeout[] = [];
  readonly #pending = new Map<string, PendingFailure>();
  #applying = false;
  #lastPrune = 0;
  #closed = false;

  constructor(options: PostgresQueueOptions) {
    this.#pool = new pg.Pool({ connectionString: options.connectionString, max: 10 });
    // A client losing its server must not crash the process with an unhandled 'error' event;
    // the query in flight, or the next one, reports the failure.
    this.#pool.on("error", () => undefined);
    this.#pool.on("connect", (client) => {
      client.on("error", () => undefined);
    });
    this.#schema = pg.escapeIdentifier(options.schema ?? "charter_jobs");
    this.#workerSchema = options.workerSchema ?? "graphile_worker";
    this.#maxAttempts = options.maxAttempts ?? 25;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#heartbeatMs = options.heartbeatMs ?? 5_000;
    this.#staleAfterMs = options.staleAfterMs ?? 30_000;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.#retentionMs = options.retentionMs ?? 7 * DAY_MS;
    this.#logger = options.logger ?? stderrLogger;
  }

  get #gw(): string {
    return pg.escapeIdentifier(this.#workerSchema);
  }

  /** Runs graphile-worker's migrations and creates Charter's tables, once per instance. */
  #utils(): Promise<WorkerUtils> {
    this.#ready ??= (async () => {
      try {
        const utils = await makeWorkerUtils({ pgPool: this.#pool, schema: this.#workerSchema, logger: this.#logger });
        await utils.migrate();
        await this.#transaction(async (client) => {
          // Replicas start together; the lock keeps their CREATE statements from racing.
          await client.query(`SELECT pg_advisory_xact_lock(hashtext('charter_jobs_schema'))`);
          await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.#schema}`);
          await client.query(`CREATE TABLE IF NOT EXISTS ${this.#schema}.charter_deliveries (
            delivery_id text PRIMARY KEY,
            job_id      bigint,
            job_key     text NOT NULL,
            event       text NOT NULL,
            enqueued_at timestamptz NOT NULL DEFAULT now())`);
          await client.query(`CREATE INDEX IF NOT EXISTS charter_deliveries_job_id ON ${this.#schema}.charter_deliveries (job_id)`);
          await client.query(`CREATE TABLE IF NOT EXISTS ${this.#schema}.charter_workers (
            worker_id text PRIMARY KEY,
            beat_at   timestamptz NOT NULL DEFAULT now())`);
          // next_due_ms: while a claim is held, the end of its lease; once finished, when the task
          // is due again (the replicas' clock, epoch ms). token: the claim held, NULL once finished.
          await client.query(`CREATE TABLE IF NOT EXISTS ${this.#schema}.charter_schedule (
            key         text PRIMARY KEY,
            next_due_ms bigint NOT NULL,
            token       text)`);
        });
        return utils;
      } catch (error) {
        this.#ready = undefined;
        throw unreachable(error);
      }
    })();
    return this.#ready;
  }

  async enqueue(job: JobInput): Promise<boolean> {
    await this.#utils();
    const stored: StoredPayload = { key: job.key, deliveryId: job.deliveryId, event: job.event, payload: job.payload ?? null };
    return this.#transaction(async (client) => {
      // Two replicas receiving the same delivery: the second insert waits for the first commit, then finds the row.
      const inserted = await client.query(
        `INSERT INTO ${this.#schema}.charter_deliveries (delivery_id, job_key, event) VALUES ($1, $2, $3) ON CONFLICT (delivery_id) DO NOTHING`,
        [job.deliveryId, job.key, job.event],
      );
      if (inserted.rowCount !== 1) return false;
      const added = await client.query<{ id: string }>(
        `SELECT id FROM ${this.#gw}.add_job($1, payload => $2::json, queue_name => $3, max_attempts => $4)`,
        [TASK, JSON.stringify(stored), job.key, this.#maxAttempts],
      );
      await client.query(`UPDATE ${this.#schema}.charter_deliveries SET job_id = $1 WHERE delivery_id = $2`, [added.rows[0]?.id, job.deliveryId]);
      return true;
    });
  }

  async start(handler: (job: Job) => Promise<void>, options: WorkerOptions): Promise<void> {
    if (this.#runner) throw new CharterError("INTERNAL", "the job queue is already running");
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new CharterError("USAGE", `concurrency must be a positive integer, not ${options.concurrency}`);
    await this.#utils();
    // Jobs locked by replicas that died before this one started are freed before taking work.
    await this.#unlockDeadWorkers();
    const events = new EventEmitter() as WorkerEvents;
    events.on("pool:create", ({ workerPool }) => {
      this.#poolId = workerPool.id;
    });
    this.#runner = await run({
      pgPool: this.#pool,
      schema: this.#workerSchema,
      concurrency: options.concurrency,
      pollInterval: this.#pollIntervalMs,
      noHandleSignals: true,
      logger: this.#logger,
      events,
      taskList: {
        [TASK]: async (raw, helpers) => {
          const stored = raw as StoredPayload;
          const job: Job = { ...stored, id: helpers.job.id, attempt: helpers.job.attempts, enqueuedAt: helpers.job.created_at.toISOString() };
          const started = performance.now();
          let outcome: "done" | "retry" | "dead" = "done";
          try {
            await handler(job);
          } catch (error) {
            const dead = job.attempt >= Math.min(options.maxAttempts, helpers.job.max_attempts);
            outcome = dead ? "dead" : "retry";
            this.#pending.set(job.id, { attempts: job.attempt, runAt: dead ? undefined : new Date(Date.now() + backoffDelayMs(job.attempt, this.#backoff)), since: Date.now() });
            // graphile-worker stores the thrown message as last_error: a bounded summary, no stack.
            throw new Error(errorSummary(error), { cause: error });
          } finally {
            try {
              options.onSettled?.(job, outcome, performance.now() - started);
            } catch {
              // Metrics are best effort: a failing observer must not change what happened to the job.
            }
          }
        },
      },
    });
    // A fatal worker error (the database gone for good) is reported, not left as an unhandled rejection.
    this.#runner.promise.catch((error: unknown) => {
      this.#logger.error(`the job worker stopped: ${errorSummary(error)}`);
    });
    await this.#beat();
    this.#timers = [
      setInterval(() => {
        void this.#maintain();
      }, this.#heartbeatMs),
      setInterval(() => {
        void this.#applyFailures();
      }, 50),
    ];
    for (const timer of this.#timers) timer.unref();
  }

  async stop(): Promise<void> {
    const runner = this.#runner;
    if (!runner) return;
    this.#runner = undefined;
    // Graceful: graphile-worker stops taking jobs and waits for those running.
    await runner.stop();
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    const deadline = Date.now() + 5_000;
    while (this.#pending.size > 0 && Date.now() < deadline) {
      await this.#applyFailures();
      if (this.#pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (this.#poolId !== undefined) {
      await this.#pool.query(`DELETE FROM ${this.#schema}.charter_workers WHERE worker_id = $1`, [this.#poolId]).catch(() => undefined);
    }
  }

  async stats(): Promise<QueueStats> {
    await this.#utils();
    const { rows } = await this.#pool.query<{ queued: string; running: string; retrying: string; dead: string; oldest: string | null }>(
      `SELECT
         count(*) FILTER (WHERE locked_by IS NULL AND attempts = 0) AS queued,
         count(*) FILTER (WHERE locked_by IS NOT NULL) AS running,
         count(*) FILTER (WHERE locked_by IS NULL AND attempts > 0 AND attempts < max_attempts) AS retrying,
         count(*) FILTER (WHERE locked_by IS NULL AND attempts >= max_attempts) AS dead,
         floor(extract(epoch FROM now() - min(created_at) FILTER (WHERE attempts < max_attempts OR locked_by IS NOT NULL))) AS oldest
       FROM ${this.#gw}.jobs WHERE task_identifier = $1`,
      [TASK],
    );
    const row = rows[0];
    return {
      queued: Number(row?.queued ?? 0),
      running: Number(row?.running ?? 0),
      retrying: Number(row?.retrying ?? 0),
      dead: Number(row?.dead ?? 0),
      oldestAgeSeconds: Math.max(0, Number(row?.oldest ?? 0)),
    };
  }

  async listDead(limit: number): Promise<DeadJob[]> {
    await this.#utils();
    // graphile-worker's public jobs view leaves the payload out; the delivery table says what the job was.
    const { rows } = await this.#pool.query<{ id: string; queue_name: string | null; attempts: number; last_error: string | null; created_at: Date; updated_at: Date; delivery_id: string | null; event: string | null }>(
      `SELECT j.id, j.queue_name, j.attempts, j.last_error, j.created_at, j.updated_at, d.delivery_id, d.event
         FROM ${this.#gw}.jobs j LEFT JOIN ${this.#schema}.charter_deliveries d ON d.job_id = j.id
        WHERE j.task_identifier = $1 AND j.locked_by IS NULL AND j.attempts >= j.max_attempts
        ORDER BY j.updated_at DESC, j.id DESC LIMIT $2`,
      [TASK, limit],
    );
    return rows.map((row) => ({
      id: row.id,
      key: row.queue_name ?? "",
      deliveryId: row.delivery_id ?? "",
      event: row.event ?? "",
      payload: null,
      attempt: row.attempts,
      enqueuedAt: row.created_at.toISOString(),
      lastError: row.last_error ?? "",
      failedAt: row.updated_at.toISOString(),
    }));
  }

  async retryDead(ids: readonly string[]): Promise<number> {
    await this.#utils();
    const numeric = ids.filter((id) => /^\d+$/.test(id));
    if (ids.length > 0 && numeric.length === 0) return 0;
    // reschedule_jobs is graphile-worker's documented admin function; it is called in SQL because
    // WorkerUtils.rescheduleJobs treats attempts = 0 as "unchanged". A revived job gets a full set of attempts.
    const { rowCount } = await this.#pool.query(
      `SELECT id FROM ${this.#gw}.reschedule_jobs(
         ARRAY(SELECT id FROM ${this.#gw}.jobs
                WHERE task_identifier = $1 AND locked_by IS NULL AND attempts >= max_attempts
                  AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))),
         run_at => now(), attempts => 0, max_attempts => $3)`,
      [TASK, ids.length === 0 ? null : numeric, this.#maxAttempts],
    );
    return rowCount ?? 0;
  }

  async claimScheduled(key: string, nowMs: number, leaseMs: number): Promise<ScheduleClaim> {
    checkClaimTimes(key, { nowMs, leaseMs, "the lease's end": nowMs + leaseMs });
    checkLease(key, leaseMs);
    await this.#utils();
    try {
      // One statement: concurrent claimants of a due task serialise on its row, and the WHERE is
      // checked again against the row the first one left, so exactly one of them gets RETURNING.
      const won = await this.#pool.query<{ token: string }>(
        `INSERT INTO ${this.#schema}.charter_schedule AS s (key, next_due_ms, token) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET next_due_ms = EXCLUDED.next_due_ms, token = EXCLUDED.token
          WHERE s.next_due_ms <= $4
         RETURNING s.token`,
        [key, nowMs + leaseMs, randomUUID(), nowMs],
      );
      const token = won.rows[0]?.token;
      if (token !== undefined) return { claimed: true, token };
      const { rows } = await this.#pool.query<{ next_due_ms: string }>(`SELECT next_due_ms FROM ${this.#schema}.charter_schedule WHERE key = $1`, [key]);
      // A row deleted in between (nothing deletes rows today) just means: due now, look again.
      return { claimed: false, nextDueMs: rows[0] === undefined ? nowMs : Number(rows[0].next_due_ms) };
    } catch (error) {
      throw scheduleError(key, "claim", error);
    }
  }

  async finishScheduled(key: string, token: string, nextDueMs: number): Promise<boolean> {
    checkClaimTimes(key, { nextDueMs });
    await this.#utils();
    try {
      const { rowCount } = await this.#pool.query(`UPDATE ${this.#schema}.charter_schedule SET next_due_ms = $1, token = NULL WHERE key = $2 AND token = $3`, [nextDueMs, key, token]);
      return rowCount === 1;
    } catch (error) {
      throw scheduleError(key, "finish", error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.stop();
    this.#closed = true;
    const utils = await this.#ready?.catch(() => undefined);
    await utils?.release();
    await this.#pool.end();
  }

  /** Heartbeat, dead-replica recovery and delivery pruning, every heartbeatMs. */
  async #maintain(): Promise<void> {
    try {
      await this.#beat();
      await this.#unlockDeadWorkers();
      await this.#pruneDeliveries();
    } catch (error) {
      this.#logger.error(`queue maintenance failed: ${errorSummary(error)}`);
    }
  }

  async #beat(): Promise<void> {
    if (this.#poolId === undefined) return;
    await this.#pool.query(
      `INSERT INTO ${this.#schema}.charter_workers (worker_id, beat_at) VALUES ($1, now())
       ON CONFLICT (worker_id) DO UPDATE SET beat_at = now()`,
      [this.#poolId],
    );
  }

  /**
   * Frees jobs locked by worker pools that stopped beating. A lock younger than the staleness
   * threshold is left alone even without a heartbeat row: its pool may not have written one yet.
   */
  async #unlockDeadWorkers(): Promise<void> {
    const utils = await this.#utils();
    const stale = `now() - $1 * interval '1 millisecond'`;
    const { rows } = await this.#pool.query<{ locked_by: string }>(
      `SELECT DISTINCT j.locked_by FROM ${this.#gw}.jobs j
        WHERE j.locked_by IS NOT NULL AND j.locked_at < ${stale}
          AND NOT EXISTS (SELECT 1 FROM ${this.#schema}.charter_workers w WHERE w.worker_id = j.locked_by AND w.beat_at >= ${stale})`,
      [this.#staleAfterMs],
    );
    const dead = rows.map((r) => r.locked_by).filter((id) => id !== this.#poolId);
    if (dead.length > 0) {
      await utils.forceUnlockWorkers(dead);
      this.#logger.warn(`unlocked the jobs of stopped worker pools: ${dead.join(", ")}`);
    }
    await this.#pool.query(`DELETE FROM ${this.#schema}.charter_workers WHERE beat_at < ${stale}`, [this.#staleAfterMs]);
  }

  /** Forgets delivery ids past retention, unless their job is still in the queue (dead or waiting). */
  async #pruneDeliveries(): Promise<void> {
    if (Date.now() - this.#lastPrune < 60_000) return;
    this.#lastPrune = Date.now();
    await this.#pool.query(
      `DELETE FROM ${this.#schema}.charter_deliveries d
        WHERE d.enqueued_at < now() - $1 * interval '1 millisecond'
          AND NOT EXISTS (SELECT 1 FROM ${this.#gw}.jobs j WHERE j.id = d.job_id)`,
      [this.#retentionMs],
    );
  }

  /**
   * Replaces graphile-worker's retry time with a jittered one, or dead-letters the job when this
   * worker's maxAttempts is reached. reschedule_jobs only touches unlocked jobs, so this waits
   * for graphile-worker to record the failure; until then the job is not due (its own backoff
   * is at least e seconds), and if this process dies first, graphile-worker's retry still holds.
   */
  async #applyFailures(): Promise<void> {
    if (this.#pending.size === 0 || this.#closed || this.#applying) return;
    this.#applying = true;
    try {
      const utils = await this.#utils();
      for (const [id, failure] of [...this.#pending]) {
        try {
          const rows = failure.runAt === undefined ? await utils.rescheduleJobs([id], { maxAttempts: failure.attempts }) : await utils.rescheduleJobs([id], { runAt: failure.runAt });
          if (rows.length > 0 || Date.now() - failure.since > 60_000) this.#pending.delete(id);
        } catch (error) {
          this.#logger.error(`could not reschedule failed job ${id}: ${errorSummary(error)}`);
        }
      }
    } finally {
      this.#applying = false;
    }
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw unreachable(error);
    }
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}

function scheduleError(key: string, what: "claim" | "finish", error: unknown): CharterError {
  if (error instanceof CharterError) return error;
  return new CharterError("IO", `could not ${what} the scheduled task ${JSON.stringify(key)} in the job queue: ${errorSummary(error)}`, { cause: error });
}

/** Connection failures name the problem without echoing DATABASE_URL, which may hold a password. */
function unreachable(error: unknown): CharterError {
  if (error instanceof CharterError) return error;
  return new CharterError("IO", `the job queue's PostgreSQL database is unavailable: ${errorSummary(error)}`, {
    cause: error,
    hint: "Check DATABASE_URL and that the server accepts connections.",
  });
}
