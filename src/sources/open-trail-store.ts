import { resolve } from "node:path";
import { openSqliteTrail } from "./sqlite-trail-store.js";
import type { TrailStore } from "./trail-store.js";
import { openPostgresTrail } from "./postgres-trail-store.js";
import type { LeaseIssue } from "../providers/postgres/lease.js";

/**
 * The trail the app and the CLI share, chosen from the environment like the job queue:
 *  - DATABASE_URL set: the PostgreSQL schema CHARTER_TRAIL_SCHEMA (default charter_trail), for
 *    several ingest replicas writing one trail;
 *  - otherwise the SQLite file CHARTER_TRAIL_DB (default .charter/trail.sqlite under the working
 *    directory), for one app process, read by the CLI from other processes while it ingests.
 */
const DEFAULT_TRAIL_DB = ".charter/trail.sqlite";
const DEFAULT_TRAIL_SCHEMA = "charter_trail";

type Env = Readonly<Record<string, string | undefined>>;

export function trailLocation(env: Env, cwd: string = process.cwd(), file?: string): { kind: "sqlite"; path: string } | { kind: "postgres"; url: string; schema: string } {
  if (file !== undefined) return { kind: "sqlite", path: resolve(cwd, file) };
  const url = env["DATABASE_URL"]?.trim();
  if (url) return { kind: "postgres", url, schema: env["CHARTER_TRAIL_SCHEMA"]?.trim() || DEFAULT_TRAIL_SCHEMA };
  return { kind: "sqlite", path: resolve(cwd, env["CHARTER_TRAIL_DB"]?.trim() || DEFAULT_TRAIL_DB) };
}

export async function openTrailStore(env: Env, cwd: string = process.cwd(), file?: string): Promise<TrailStore> {
  const location = trailLocation(env, cwd, file);
  if (location.kind === "postgres") return openPostgresTrail(location.url, location.schema);
  return openSqliteTrail(location.path);
}

/**
 * The provider hook that makes a lease attributable: its random login name is bound to the
 * agent from its issue time on. Not until it expires: VALID UNTIL stops new logins, but a
 * session opened before keeps working, and a lease name is never reused.
 */
export function rememberLeases(store: TrailStore): (lease: LeaseIssue) => Promise<void> {
  return (lease) => store.addBindings([{ principal: lease.username, instance: lease.instance === "" ? null : lease.instance, agent: lease.agent, kind: "lease", fromMs: Date.parse(lease.issuedAt), untilMs: null }]);
}
