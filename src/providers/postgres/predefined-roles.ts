/**
 * What membership in one of PostgreSQL's predefined roles lets a role do. None of it shows in any
 * object's ACL (pg_read_all_data reads every table without a grant on any), so drift names the
 * power of the membership itself.
 */
const POWERS: Readonly<Record<string, string>> = {
  pg_read_all_data: "reads every table, view and sequence in every database, whatever their grants",
  pg_write_all_data: "inserts, updates and deletes in every table, view and sequence in every database, whatever their grants",
  pg_execute_server_program: "runs programs on the database server as its operating-system user (COPY … PROGRAM)",
  pg_read_server_files: "reads any file the database server can read (COPY … FROM a file, pg_read_file)",
  pg_write_server_files: "writes any file the database server can write (COPY … TO a file)",
  pg_signal_backend: "cancels and terminates other roles' sessions",
  pg_monitor: "reads every session's activity and queries, statistics and settings",
  pg_read_all_settings: "reads every configuration setting, including those reserved to superusers",
  pg_read_all_stats: "reads every statistics view, including other roles' queries",
  pg_stat_scan_tables: "runs monitoring functions that lock any table",
  pg_checkpoint: "forces checkpoints",
  pg_create_subscription: "creates subscriptions, which connect the server to others",
  pg_use_reserved_connections: "uses the connections reserved for administrators",
  pg_maintain: "runs VACUUM, ANALYZE, REINDEX, CLUSTER, REFRESH MATERIALIZED VIEW and LOCK on every table",
};

/** PostgreSQL reserves the pg_ prefix: only the server's own roles carry it. */
export function predefinedRolePower(role: string): string | undefined {
  if (!role.startsWith("pg_")) return undefined;
  return POWERS[role] ?? "a role predefined by PostgreSQL, with powers no ACL shows";
}
