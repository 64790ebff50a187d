import type { AlertStore } from "./alert-store.js";
import { trailLocation } from "./open-trail-store.js";
import { openPostgresAlerts } from "./postgres-alert-store.js";
import { openSqliteAlerts } from "./sqlite-alert-store.js";

type Env = Readonly<Record<string, string | undefined>>;

/** The alert store beside the trail: the same SQLite file or PostgreSQL schema (see open-trail-store.ts). */
export async function openAlertStore(env: Env, cwd: string = process.cwd(), file?: string): Promise<AlertStore> {
  const location = trailLocation(env, cwd, file);
  if (location.kind === "postgres") return openPostgresAlerts(location.url, location.schema);
  return openSqliteAlerts(location.path);
}
