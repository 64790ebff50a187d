import { resolve } from "node:path";
import type { JobQueue } from "./job-queue.js";
import { PostgresJobQueue, type PostgresQueueOptions } from "./postgres-queue.js";
import { SqliteJobQueue, type SqliteQueueOptions } from "./sqlite-queue.js";

/**
 * The queue the app and `charter jobs` share, chosen from the environment:
 *  - DATABASE_URL set: PostgreSQL through graphile-worker, for one or several replicas
 *    (graphile-worker's tables in schema graphile_worker, Charter's in charter_jobs);
 *  - otherwise the embedded SQLite file CHARTER_QUEUE_DB (default .charter/queue.sqlite, relative
 *    to the working directory), for exactly one app process.
 */
const DEFAULT_QUEUE_DB = ".charter/queue.sqlite";

export interface OpenQueueOptions {
  /** Resolves a relative CHARTER_QUEUE_DB (default: the process's working directory). */
  readonly cwd?: string;
  /** Tuning for the embedded queue (tests use short backoff and polling). */
  readonly sqlite?: Omit<SqliteQueueOptions, "path">;
  readonly postgres?: Omit<PostgresQueueOptions, "connectionString">;
}

export type QueueLocation = { readonly kind: "postgres"; readonly connectionString: string } | { readonly kind: "sqlite"; readonly path: string };

type Env = Readonly<Record<string, string | undefined>>;

/** Where the queue lives, without opening it (the CLI reports a missing SQLite file instead of creating one). */
export function queueLocation(env: Env, cwd: string = process.cwd()): QueueLocation {
  const url = env["DATABASE_URL"]?.trim();
  if (url) return { kind: "postgres", connectionString: url };
  return { kind: "sqlite", path: resolve(cwd, env["CHARTER_QUEUE_DB"]?.trim() || DEFAULT_QUEUE_DB) };
}

export function openJobQueue(env: Env, options: OpenQueueOptions = {}): JobQueue {
  const location = queueLocation(env, options.cwd);
  if (location.kind === "postgres") return new PostgresJobQueue({ ...options.postgres, connectionString: location.connectionString });
  return new SqliteJobQueue({ ...options.sqlite, path: location.path });
}
