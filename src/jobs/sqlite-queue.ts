import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { CharterError } from "../errors.js";
import { backoffDelayMs, DEFAULT_BACKOFF, errorSummary, type BackoffOptions } from "./backoff.js";
import type { DeadJob, Job, JobInput, JobQueue, QueueStats, ScheduleClaim, WorkerOptions } from "./job-queue.js";
import { checkClaimTimes, checkLease } from "./schedule-claim-input.js";

/**
 * The embedded queue: one SQLite file, one worker process. Every enqueue is committed with
 * synchronous=FULL before it resolves, so a job acknowledged to GitHub survives a SIGKILL or a
 * power cut. Jobs left running by a process that died are requeued when the next process starts.
 */
export interface SqliteQueueOptions {
  /** The database file; its directory is created. */
  readonly path: string;
  /** How long finished jobs are kept, so a redelivery is still recognised (default 7 days). */
  readonly retentionMs?: number;
  readonly backoff?: BackoffOptions;
  /** A running job's lease; renewed every third of it while the handler runs (default 30 s). */
  readonly leaseMs?: number;
  /** How often the worker looks for jobs it was not woken for: retries coming due, jobs revived by the CLI (default 500 ms). */
  readonly pollIntervalMs?: number;
  /** Where background failures (a busy or broken database) are reported; default stderr. */
  readonly onError?: (message: string) => void;
}

const DAY_MS = 24 * 60 * 60 * 1000;

interface RunningWorker {
  readonly handler: (job: Job) => Promise<void>;
  readonly options: WorkerOptions;
}

interface JobRow {
  id: number;
  key: string;
  delivery_id: string;
  event: string;
  payload: string;
  status: "queued" | "running" | "done" | "dead";
  attempt: number;
  run_after: number;
  locked_by: string | null;
  locked_until: number | null;
  last_error: string | null;
  enqueued_at: number;
  finished_at: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  key          TEXT    NOT NULL,
  delivery_id  TEXT    NOT NULL UNIQUE,
  event        TEXT    NOT NULL,
  payload      TEXT    NOT NULL,
  status       TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
  attempt      INTEGER NOT NULL DEFAULT 0,
  run_after    INTEGER NOT NULL,
  locked_by    TEXT,
  locked_until INTEGER,
  last_error   TEXT,
  enqueued_at  INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  finished_at  INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_runnable ON jobs (status, run_after, id);
CREATE INDEX IF NOT EXISTS jobs_unfinished_by_key ON jobs (key, id) WHERE status IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (status, finished_at);
CREATE TABLE IF NOT EXISTS schedule (
  key          TEXT    PRIMARY KEY,
  -- While a claim is held, the end of its lease; after it is finished, when the task is due again.
  next_due_ms  INTEGER NOT NULL,
  -- The claim being held, NULL once finished: a finish only counts for the claim it belongs to.
  token        TEXT
);
`;

// Strict per-key FIFO: a job is runnable only when no earlier job of its key is still queued
// (including one waiting for a retry) or running. Dead jobs do not hold their key back: one
// poisoned webhook must not stop a repository's ledger for good.
const CLAIM = `
UPDATE jobs
   SET status = 'running', attempt = attempt + 1, locked_by = @runId, locked_until = @lockedUntil, updated_at = @now
 WHERE id IN (
   SELECT j.id FROM jobs j
    WHERE j.status = 'queued' AND j.run_after <= @now
      AND NOT EXISTS (
        SELECT 1 FROM jobs e
         WHERE e.key = j.key AND e.id < j.id AND e.status IN ('queued', 'running'))
    ORDER BY j.id
    LIMIT @limit)
RETURNING *`;

export class SqliteJobQueue implements JobQueue {
  readonly #db: Database.Database;
  readonly #retentionMs: number;
  readonly #backoff: BackoffOptions;
  readonly #leaseMs: number;
  readonly #pollIntervalMs: number;
  readonly #onError: (message: string) => void;
  /** Identifies this process's claims; anything running under another id belongs to a process that is gone. */
  readonly #runId = randomUUID();
  readonly #active = new Set<Promise<void>>();
  #worker: RunningWorker | undefined;
  #timers: NodeJS.Timeout[] = [];
  #lastPrune = 0;
  #closed = false;

  constructor(options: SqliteQueueOptions) {
    this.#retentionMs = options.retentionMs ?? 7 * DAY_MS;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#pollIntervalMs = options.pollIntervalMs ?? 500;
    this.#onError = options.onError ?? ((message) => process.stderr.write(`charter jobs: ${message}\n`));
    try {
      mkdirSync(dirname(options.path), { recursive: true });
      this.#db = new Database(options.path);
      this.#db.pragma("journal_mode = WAL");
      // FULL: a commit is on disk before enqueue resolves, which is what lets Charter answer GitHub.
      this.#db.pragma("synchronous = FULL");
      // The CLI reads the same file while the app writes it.
      this.#db.pragma("busy_timeout = 5000");
      this.#db.exec(SCHEMA);
    } catch (error) {
      throw new CharterError("IO", `cannot open the job queue ${options.path}: ${errorSummary(error)}`, {
        cause: error,
        hint: "Check that the directory is writable, or set CHARTER_QUEUE_DB to another file.",
      });
    }
  }

  enqueue(job: JobInput): Promise<boolean> {
    const now = Date.now();
    let result: Database.RunResult;
    try {
      result = this.#db
        .prepare(
          `INSERT INTO jobs (key, delivery_id, event, payload, status, run_after, enqueued_at, updated_at)
           VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)
           ON CONFLICT (delivery_id) DO NOTHING`,
        )
        .run(job.key, job.deliveryId, job.event, JSON.stringify(job.payload ?? null), now, now, now);
    } catch (error) {
      // Not stored: the caller must not acknowledge the delivery (GitHub then shows it as failed, for redelivery).
      return Promise.reject(new CharterError("IO", `could not store the ${job.event} delivery ${job.deliveryId} in the job queue: ${errorSummary(error)}`, { cause: error }));
    }
    // The job is committed: a failure to start it now must not turn the enqueue into an error.
    if (result.changes === 1) this.#background("taking jobs", () => { this.#pump(); });
    return Promise.resolve(result.changes === 1);
  }

  start(handler: (job: Job) => Promise<void>, options: WorkerOptions): Promise<void> {
    if (this.#worker) return Promise.reject(new CharterError("INTERNAL", "the job queue is already running"));
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) return Promise.reject(new CharterError("USAGE", `concurrency must be a positive integer, not ${options.concurrency}`));
    this.#worker = { handler, options };
    try {
      this.#recoverAbandoned(true);
      this.#prune();
    } catch (error) {
      this.#worker = undefined;
      return Promise.reject(new CharterError("IO", `could not recover the job queue's interrupted jobs: ${errorSummary(error)}`, { cause: error }));
    }
    this.#timers = [
      setInterval(() => {
        this.#background("polling for jobs", () => {
          this.#recoverAbandoned(false);
          this.#prune();
          this.#pump();
        });
      }, this.#pollIntervalMs),
      setInterval(() => {
        this.#background("renewing leases", () => { this.#heartbeat(); });
      }, Math.max(Math.floor(this.#leaseMs / 3), 1)),
    ];
    // The server or the caller keeps the process alive; the queue's timers never should.
    for (const timer of this.#timers) timer.unref();
    this.#background("taking jobs", () => { this.#pump(); });
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.#worker = undefined;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    while (this.#active.size > 0) await Promise.allSettled([...this.#active]);
  }

  stats(): Promise<QueueStats> {
    const now = Date.now();
    const row = this.#db
      .prepare(
        `SELECT
           COALESCE(SUM(status = 'queued' AND attempt = 0), 0) AS queued,
           COALESCE(SUM(status = 'running'), 0) AS running,
           COALESCE(SUM(status = 'queued' AND attempt > 0), 0) AS retrying,
           COALESCE(SUM(status = 'dead'), 0) AS dead,
           MIN(CASE WHEN status IN ('queued', 'running') THEN enqueued_at END) AS oldest
         FROM jobs`,
      )
      .get() as { queued: number; running: number; retrying: number; dead: number; oldest: number | null };
    return Promise.resolve({
      queued: row.queued,
      running: row.running,
      retrying: row.retrying,
      dead: row.dead,
      oldestAgeSeconds: row.oldest === null ? 0 : Math.max(0, Math.floor((now - row.oldest) / 1000)),
    });
  }

  listDead(limit: number): Promise<DeadJob[]> {
    const rows = this.#db.prepare(`SELECT * FROM jobs WHERE status = 'dead' ORDER BY finished_at DESC, id DESC LIMIT ?`).all(limit) as JobRow[];
    return Promise.resolve(
      rows.map((row) => ({
        ...toJob(row),
        lastError: row.last_error ?? "",
        failedAt: new Date(row.finished_at ?? row.enqueued_at).toISOString(),
      })),
    );
  }

  retryDead(ids: readonly string[]): Promise<number> {
    const now = Date.now();
    // A revived job starts again with a full set of attempts; its last error stays visible until it runs.
    const revive = this.#db.prepare(
      `UPDATE jobs SET status = 'queued', attempt = 0, run_after = ?, finished_at = NULL, updated_at = ?
        WHERE status = 'dead' AND (? IS NULL OR id = ?)`,
    );
    const count = this.#db.transaction(() => {
      if (ids.length === 0) return revive.run(now, now, null, null).changes;
      let changed = 0;
      for (const id of ids) {
        if (/^\d+$/.test(id)) changed += revive.run(now, now, Number(id), Number(id)).changes;
      }
      return changed;
    })();
    if (count > 0) this.#background("taking jobs", () => { this.#pump(); });
    return Promise.resolve(count);
  }

  claimScheduled(key: string, nowMs: number, leaseMs: number): Promise<ScheduleClaim> {
    try {
      checkClaimTimes(key, { nowMs, leaseMs, "the lease's end": nowMs + leaseMs });
      checkLease(key, leaseMs);
      const token = randomUUID();
      // One statement, so the check and the take cannot be split by another process's claim.
      const won = this.#db
        .prepare(
          `INSERT INTO schedule (key, next_due_ms, token) VALUES (@key, @leasedUntil, @token)
           ON CONFLICT (key) DO UPDATE SET next_due_ms = excluded.next_due_ms, token = excluded.token
            WHERE schedule.next_due_ms <= @now
           RETURNING token`,
        )
        .get({ key, leasedUntil: nowMs + leaseMs, token, now: nowMs }) as { token: string } | undefined;
      if (won !== undefined) return Promise.resolve({ claimed: true, token: won.token });
      const row = this.#db.prepare(`SELECT next_due_ms FROM schedule WHERE key = ?`).get(key) as { next_due_ms: number } | undefined;
      // A row deleted in between (nothing deletes rows today) just means: due now, look again.
      return Promise.resolve({ claimed: false, nextDueMs: row?.next_due_ms ?? nowMs });
    } catch (error) {
      return Promise.reject(scheduleError(key, "claim", error));
    }
  }

  finishScheduled(key: string, token: string, nextDueMs: number): Promise<boolean> {
    try {
      checkClaimTimes(key, { nextDueMs });
      const result = this.#db.prepare(`UPDATE schedule SET next_due_ms = ?, token = NULL WHERE key = ? AND token = ?`).run(nextDueMs, key, token);
      return Promise.resolve(result.changes === 1);
    } catch (error) {
      return Promise.reject(scheduleError(key, "finish", error));
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.stop();
    this.#closed = true;
    this.#db.close();
  }

  /** Claims as many runnable jobs as there are free slots and runs them. */
  #pump(): void {
    const worker = this.#worker;
    if (!worker || this.#closed) return;
    const free = worker.options.concurrency - this.#active.size;
    if (free <= 0) return;
    const now = Date.now();
    const rows = this.#db.prepare(CLAIM).all({ runId: this.#runId, lockedUntil: now + this.#leaseMs, now, limit: free }) as JobRow[];
    // RETURNING does not promise an order; run each key's jobs in the order they were enqueued.
    rows.sort((a, b) => a.id - b.id);
    for (const row of rows) {
      const run = this.#run(worker, row).finally(() => {
        this.#active.delete(run);
        this.#background("taking jobs", () => { this.#pump(); });
      });
      this.#active.add(run);
    }
  }

  async #run(worker: RunningWorker, row: JobRow): Promise<void> {
    const job = toJob(row);
    const started = performance.now();
    let outcome: "done" | "retry" | "dead" = "done";
    let failure: unknown;
    try {
      await worker.handler(job);
    } catch (error) {
      failure = error;
      outcome = row.attempt >= worker.options.maxAttempts ? "dead" : "retry";
    }
    // If the outcome cannot be written, the job stays running under this process's lease and is
    // requeued by the next start: run again rather than lost.
    this.#background(`recording the outcome of job ${row.id}`, () => {
      if (outcome === "done") {
        this.#finish(row.id, `status = 'done', finished_at = @now, last_error = NULL`, {});
      } else if (outcome === "dead") {
        this.#finish(row.id, `status = 'dead', finished_at = @now, last_error = @lastError`, { lastError: errorSummary(failure) });
      } else {
        const runAfter = Date.now() + backoffDelayMs(row.attempt, this.#backoff);
        this.#finish(row.id, `status = 'queued', run_after = @runAfter, last_error = @lastError`, { lastError: errorSummary(failure), runAfter });
      }
    });
    try {
      worker.options.onSettled?.(job, outcome, performance.now() - started);
    } catch {
      // Metrics are best effort: a failing observer must not change what happened to the job.
    }
  }

  #background(what: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      try {
        this.#onError(`${what} failed: ${errorSummary(error)}`);
      } catch {
        // Reporting is best effort; the queue keeps going.
      }
    }
  }

  /** Settles a claimed job, but only while this process still holds it (after close() it no longer does). */
  #finish(id: number, set: string, values: Record<string, string | number>): void {
    if (this.#closed) return;
    this.#db
      .prepare(`UPDATE jobs SET ${set}, locked_by = NULL, locked_until = NULL, updated_at = @now WHERE id = @id AND locked_by = @runId AND status = 'running'`)
      .run({ ...values, now: Date.now(), id, runId: this.#runId });
  }

  #heartbeat(): void {
    if (this.#closed) return;
    this.#db.prepare(`UPDATE jobs SET locked_until = ? WHERE status = 'running' AND locked_by = ?`).run(Date.now() + this.#leaseMs, this.#runId);
  }

  /**
   * Requeues jobs whose process is gone. At start every job running under another run id is
   * abandoned (one worker process per file); later, only those whose lease has expired, in case a
   * second process was started on the same file by mistake. The interrupted attempt counts, so a
   * job that kills its process every time still ends up dead instead of looping.
   */
  #recoverAbandoned(atStart: boolean): void {
    const worker = this.#worker;
    if (!worker || this.#closed) return;
    const now = Date.now();
    const abandoned = `status = 'running' AND locked_by IS NOT @runId AND (@atStart = 1 OR locked_until < @now)`;
    const message = "the worker stopped while running this job (process ended or lease expired)";
    this.#db.transaction(() => {
      this.#db
        .prepare(`UPDATE jobs SET status = 'dead', finished_at = @now, last_error = @message, locked_by = NULL, locked_until = NULL, updated_at = @now WHERE ${abandoned} AND attempt >= @maxAttempts`)
        .run({ runId: this.#runId, atStart: atStart ? 1 : 0, now, message, maxAttempts: worker.options.maxAttempts });
      this.#db
        .prepare(`UPDATE jobs SET status = 'queued', run_after = @now, last_error = @message, locked_by = NULL, locked_until = NULL, updated_at = @now WHERE ${abandoned}`)
        .run({ runId: this.#runId, atStart: atStart ? 1 : 0, now, message });
    })();
  }

  /** Deletes finished jobs past retention, at most once a minute. Dead jobs stay until someone retries them. */
  #prune(): void {
    const now = Date.now();
    if (now - this.#lastPrune < 60_000 || this.#closed) return;
    this.#lastPrune = now;
    this.#db.prepare(`DELETE FROM jobs WHERE status = 'done' AND finished_at < ?`).run(now - this.#retentionMs);
  }
}

function scheduleError(key: string, what: "claim" | "finish", error: unknown): CharterError {
  if (error instanceof CharterError) return error;
  return new CharterError("IO", `could not ${what} the scheduled task ${JSON.stringify(key)} in the job queue: ${errorSummary(error)}`, { cause: error });
}

function toJob(row: JobRow): Job {
  return {
    id: String(row.id),
    key: row.key,
    deliveryId: row.delivery_id,
    event: row.event,
    payload: JSON.parse(row.payload) as unknown,
    attempt: row.attempt,
    enqueuedAt: new Date(row.enqueued_at).toISOString(),
  };
}
