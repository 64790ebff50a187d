/**
 * The audit index's tables, shared by the SQLite and PostgreSQL stores. The evidence branch is
 * the source of truth; every row here is derived from one record (its seq and hash are on the
 * row) and the whole index can be dropped and rebuilt from the branch.
 *
 * Times are kept twice: verbatim as recorded (GitHub's string) and as a UTC instant in
 * milliseconds, which is what every time filter compares.
 */
export const TABLES = {
  records: ["seq", "hash", "kind", "observed_at", "observed_ms"],
  // A change is filtered on these columns and read whole: the rest of it is one JSON document
  // (see ChangeEntry), because reading a row of twenty columns costs more than parsing it.
  // csv and json: the change's row as `charter audit changes` prints it in those formats, when
  // that row is the same whenever it is asked for (outside an emergency, whose retro-review
  // status depends on the day): a whole answer streams them instead of formatting each row.
  changes: ["seq", "hash", "merged_ms", "decision", "emergency", "entry", "csv", "json"],
  change_agents: ["agent", "merged_ms", "seq"],
  change_kinds: ["kind", "merged_ms", "seq"],
  change_data_classes: ["data_class", "merged_ms", "seq"],
  approvals: ["reviewer", "merged_ms", "seq", "via", "submitted_at"],
  checks: ["seq", "name", "app", "conclusion", "completed_at"],
  agent_versions: [
    "agent", "effective_ms", "seq", "hash", "effective_at", "manifest_sha", "manifest", "status", "environment", "owners", "permissions",
    "data_classes", "provider",
  ],
  exceptions: ["seq", "hash", "kind", "observed_at", "observed_ms", "pr", "reason", "agents", "commits", "issue"],
  exception_agents: ["agent", "observed_ms", "seq"],
  retro_approvals: ["emergency_seq", "seq", "hash", "outcome", "approvers", "observed_at"],
  provisioning: ["seq", "hash", "source", "after_seq", "outcome", "agents", "observed_at"],
  drift: ["seq", "hash", "observed_at", "observed_ms", "agents", "findings"],
  access_reviews: ["seq", "hash", "as_of", "agent_count", "observed_at"],
  // A trail anchor's segments, checkpoint and alert summary (one JSON document, read whole): what
  // the app's readiness record verifies its trail against, without reading every record again.
  trail_anchors: ["origin", "seq", "hash", "anchor"],
  // One agent's state is read whole (the access review, the updater), so it is stored as one
  // JSON document: reading a row of two dozen columns costs several times more than parsing it.
  agents: ["agent", "status", "drift_seq", "state"],
} as const;

export type TableName = keyof typeof TABLES;
export type Cell = string | number | null;
/** One row, its cells in the order of TABLES[table]. */
export type Row = readonly Cell[];

/** Columns that hold integers; everything else is text. */
const INTEGER = new Set([
  "seq", "observed_ms", "pr", "merged_ms", "emergency", "effective_ms", "issue", "emergency_seq", "after_seq", "version_seq",
  "drift_seq", "agent_count",
]);

const PRIMARY_KEYS: Readonly<Record<TableName, readonly string[]>> = {
  records: ["seq"],
  changes: ["seq"],
  change_agents: ["agent", "merged_ms", "seq"],
  change_kinds: ["kind", "merged_ms", "seq"],
  change_data_classes: ["data_class", "merged_ms", "seq"],
  approvals: ["reviewer", "merged_ms", "seq", "via"],
  checks: ["seq", "name"],
  agent_versions: ["agent", "effective_ms", "seq"],
  exceptions: ["seq"],
  exception_agents: ["agent", "observed_ms", "seq"],
  retro_approvals: ["emergency_seq", "seq"],
  provisioning: ["seq"],
  drift: ["seq"],
  access_reviews: ["seq"],
  trail_anchors: ["origin", "seq"],
  agents: ["agent"],
};

/**
 * The secondary indexes, one per query that needs it (see the query plans in the tests):
 * changes in a time window; emergency changes in a window (partial index, a small fraction of
 * all changes). Every other filter is the leading column of its table's primary key.
 */
const INDEXES = [
  "CREATE INDEX IF NOT EXISTS changes_by_time ON changes (merged_ms, seq)",
  "CREATE INDEX IF NOT EXISTS emergencies_by_time ON changes (merged_ms, seq) WHERE emergency = 1",
  "CREATE INDEX IF NOT EXISTS exceptions_by_time ON exceptions (observed_ms, seq)",
  // Which agents existed, undeleted, at a moment (the access review --at's count): a narrow
  // copy of the versions' key and status, so each agent's search skips the wide manifest rows.
  "CREATE INDEX IF NOT EXISTS versions_status ON agent_versions (agent, effective_ms, seq, status)",
];

export type Dialect = "sqlite" | "postgres";

/** CREATE TABLE statements for a fresh index. PostgreSQL needs 64-bit integers for the instants. */
export function schemaStatements(dialect: Dialect): string[] {
  const integer = dialect === "sqlite" ? "INTEGER" : "BIGINT";
  const tables = (Object.keys(TABLES) as TableName[]).map((table) => {
    const keys = PRIMARY_KEYS[table];
    const columns = TABLES[table].map((c) => `${c} ${INTEGER.has(c) ? integer : "TEXT"}${keys.includes(c) ? " NOT NULL" : ""}`);
    // SQLite keeps composite-key tables clustered on the key, so a range over the key reads
    // adjacent pages instead of jumping through a rowid.
    const suffix = dialect === "sqlite" && keys.length > 1 ? " WITHOUT ROWID" : "";
    return `CREATE TABLE IF NOT EXISTS ${table} (${columns.join(", ")}, PRIMARY KEY (${keys.join(", ")}))${suffix}`;
  });
  return ["CREATE TABLE IF NOT EXISTS meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL)", ...tables, ...INDEXES];
}

/** Tables in the order a dump lists them. */
export const TABLE_NAMES = Object.keys(TABLES) as TableName[];

/**
 * INSERT of `rows` rows into one table: a row already present (same key) is left alone, so
 * re-applying a batch adds nothing; an `agents` row replaces the agent's previous state.
 */
export function insertStatement(table: TableName, placeholder: (i: number) => string, rows = 1): string {
  const columns = TABLES[table];
  const values = Array.from({ length: rows }, (_, r) => `(${columns.map((_c, i) => placeholder(r * columns.length + i + 1)).join(", ")})`).join(", ");
  if (table === "agents") {
    const updates = columns.filter((c) => c !== "agent").map((c) => `${c} = excluded.${c}`).join(", ");
    return `INSERT INTO agents (${columns.join(", ")}) VALUES ${values} ON CONFLICT (agent) DO UPDATE SET ${updates}`;
  }
  return `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${values} ON CONFLICT DO NOTHING`;
}

export function primaryKey(table: TableName): readonly string[] {
  return PRIMARY_KEYS[table];
}

export function isIntegerColumn(column: string): boolean {
  return INTEGER.has(column);
}

/** A stored cell as text: stores return text, integers (SQLite) or integer strings (PostgreSQL BIGINT). */
export function cellText(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "number" || typeof value === "bigint" ? String(value) : "";
}
