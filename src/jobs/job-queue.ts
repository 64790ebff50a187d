/**
 * Durable work: every webhook Charter accepts becomes a job stored before GitHub gets its 2xx,
 * so that a process dying between "merged" and "recorded" loses nothing. Two implementations
 * share this contract: an embedded SQLite queue (one process, the default) and PostgreSQL through
 * graphile-worker (several replicas sharing the work, with DATABASE_URL).
 */
export interface JobInput {
  /** Jobs with the same key run one at a time, in the order they were enqueued (one repository's ledger). */
  readonly key: string;
  /** GitHub's delivery id: a second enqueue with the same id is a redelivery and is not stored again. */
  readonly deliveryId: string;
  /** The webhook event name (pull_request, push, …), or an internal kind such as reconcile. */
  readonly event: string;
  readonly payload: unknown;
}

export interface Job extends JobInput {
  readonly id: string;
  /** 1 on the first run. */
  readonly attempt: number;
  readonly enqueuedAt: string;
}

export interface DeadJob extends Job {
  readonly lastError: string;
  readonly failedAt: string;
}

export interface QueueStats {
  readonly queued: number;
  readonly running: number;
  /** Failed at least once and waiting for their next attempt. */
  readonly retrying: number;
  readonly dead: number;
  /** Age of the oldest job not yet done, in seconds; 0 when there is none. */
  readonly oldestAgeSeconds: number;
}

export interface WorkerOptions {
  readonly concurrency: number;
  /** Attempts before a job is dead-lettered. */
  readonly maxAttempts: number;
  /** Called after each job, for metrics: how long it ran and how it ended. */
  readonly onSettled?: (job: Job, outcome: "done" | "retry" | "dead", ms: number) => void;
}

/**
 * One run per interval across replicas: scheduled work (reconciliation, drift detection, access
 * reviews) is claimed here before it runs, so that of several processes sharing the store only
 * the first to find a task due runs it. Times are the caller's clock in epoch milliseconds.
 */
export interface ScheduleClaims {
  /**
   * Takes the task `key` when its stored next-due time has passed (or it was never run), in one
   * atomic step: of any number of concurrent callers exactly one gets a claim. The claim is a
   * lease: until `nowMs + leaseMs` nobody else can take the task, so a process that dies while
   * running it delays the task by at most the lease. When the task is not due, says when it is
   * (a hint: the holder may finish earlier, or release it for a retry).
   */
  claimScheduled(key: string, nowMs: number, leaseMs: number): Promise<ScheduleClaim>;
  /**
   * Ends a claim: the task is next due at `nextDueMs` (the task's own answer; a failed run passes
   * the time of its claim, to be retried at the next look). A claim that expired and was taken by
   * another caller is left alone; false then.
   */
  finishScheduled(key: string, token: string, nextDueMs: number): Promise<boolean>;
}

export type ScheduleClaim = { readonly claimed: true; readonly token: string } | { readonly claimed: false; readonly nextDueMs: number };

export interface JobQueue extends ScheduleClaims {
  /** Stores the job durably before resolving; false when the delivery id was already stored. */
  enqueue(job: JobInput): Promise<boolean>;
  /**
   * Runs jobs with `handler` until stop(). A handler that throws is retried with exponential
   * backoff and jitter; after maxAttempts the job is dead-lettered, visible to `charter jobs`.
   * A job whose worker died (process killed) is picked up again once its lease expires.
   */
  start(handler: (job: Job) => Promise<void>, options: WorkerOptions): Promise<void>;
  /** Stops taking jobs and waits for running ones to finish. */
  stop(): Promise<void>;
  stats(): Promise<QueueStats>;
  listDead(limit: number): Promise<DeadJob[]>;
  /** Puts dead jobs back in the queue (all when ids is empty); returns how many. */
  retryDead(ids: readonly string[]): Promise<number>;
  close(): Promise<void>;
}
