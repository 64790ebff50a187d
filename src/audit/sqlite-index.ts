import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { CharterError } from "../errors.js";
import { type AuditStore, INDEX_VERSION, type IndexBatch, type IndexMeta, META_LAST_HASH, META_SIZE, META_VERSION } from "./audit-store.js";
import { type Cell, insertStatement, schemaStatements, TABLE_NAMES, type TableName } from "./index-schema.js";

/** Rows per INSERT statement; SQLite allows 32,766 parameters, the widest table has 13 columns. */
const MULTI_ROWS = 64;

/**
 * The audit index in one SQLite file: the default, for a clone on an auditor's machine or a
 * single app instance. better-sqlite3 is synchronous; the interface is async only because the
 * PostgreSQL store must be.
 */
export function openSqliteIndex(path: string): AuditStore {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (cause) {
    throw new CharterError("IO", `cannot open the audit index ${path}: ${(cause as Error).message}`, { cause, hint: "Pass another file with --index, or delete this one and run with --rebuild." });
  }
  // WAL lets a reader query while an update is writing; NORMAL sync is safe with WAL and the
  // index is rebuildable from the branch anyway.
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  // A million-record index is about 1 GB; SQLite's default 2 MB page cache makes building it
  // (inserts spread over every agent's key range) and answering large queries wait on page reads.
  db.pragma("cache_size = -131072");
  // Past the cache, every page an answer touches was one read() call and a copy: a whole answer
  // over a million records touches more distinct pages than the cache holds (its rows are
  // spread over a year of changes). Mapped, a page is read where the OS already keeps it, which
  // halved the CPU time of such an answer when its pages did not fit the cache (measured at
  // 200,000 records with the cache cut to 16 MB). SQLite caps the size at its build's limit.
  db.pragma("mmap_size = 17179869184");
  db.pragma("temp_store = MEMORY");
  const create = (): void => {
    for (const sql of schemaStatements("sqlite")) db.exec(sql);
  };
  // Drops every table and creates them empty, stamped with this version's layout.
  const recreate = (): void => {
    for (const table of [...TABLE_NAMES, "meta"]) db.exec(`DROP TABLE IF EXISTS ${table}`);
    create();
    db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)").run(META_VERSION, INDEX_VERSION);
  };
  const version = (): unknown => db.prepare("SELECT value FROM meta WHERE key = ?").pluck().get(META_VERSION);
  create();
  // Checked again under the write lock: another process may have rebuilt it meanwhile.
  if (version() !== INDEX_VERSION) {
    db.transaction(() => {
      if (version() !== INDEX_VERSION) recreate();
    }).immediate();
  }
  // Rows go in MULTI_ROWS to a statement: one call into SQLite per row costs more than the
  // insert itself for the narrow key tables.
  const inserts = new Map<string, Database.Statement>();
  const insert = (table: TableName, rows: number): Database.Statement => {
    const key = `${table}/${rows}`;
    let statement = inserts.get(key);
    if (!statement) inserts.set(key, (statement = db.prepare(insertStatement(table, () => "?", rows))));
    return statement;
  };
  const statements = new Map<string, Database.Statement>();
  const prepared = (sql: string): Database.Statement => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
  // Raw statements apart: raw() is a mode of the statement, and select's callers want objects.
  const rawStatements = new Map<string, Database.Statement>();
  const preparedRaw = (sql: string): Database.Statement => {
    let statement = rawStatements.get(sql);
    if (!statement) rawStatements.set(sql, (statement = db.prepare(sql).raw(true)));
    return statement;
  };
  const readMeta = (): IndexMeta => {
    const rows = prepared("SELECT key, value FROM meta").all() as { key: string; value: string }[];
    const get = (key: string): string | undefined => rows.find((r) => r.key === key)?.value;
    return { size: Number(get(META_SIZE) ?? 0), lastHash: get(META_LAST_HASH) ?? null };
  };
  const setMeta = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  // BEGIN IMMEDIATE takes the write lock before the meta is read, so two processes updating
  // the same file serialise and the second sees what the first stored.
  const applyTransaction = db.transaction((batch: IndexBatch): "applied" | "raced" => {
    const meta = readMeta();
    if (meta.size !== batch.fromSeq || meta.lastHash !== batch.prevHash) return "raced";
    for (const [table, rows] of batch.rows) {
      const whole = rows.length - (rows.length % MULTI_ROWS);
      if (whole > 0) {
        const statement = insert(table, MULTI_ROWS);
        for (let i = 0; i < whole; i += MULTI_ROWS) statement.run(rows.slice(i, i + MULTI_ROWS).flat());
      }
      if (whole < rows.length) insert(table, rows.length - whole).run(rows.slice(whole).flat());
    }
    setMeta.run(META_SIZE, String(batch.toSeq + 1));
    setMeta.run(META_LAST_HASH, batch.lastHash);
    return "applied";
  });

  return {
    dialect: "sqlite",
    location: path,
    select(sql: string, params: readonly Cell[] = []) {
      return Promise.resolve(prepared(sql).all(...params) as Record<string, unknown>[]);
    },
    selectRows(sql: string, params: readonly Cell[] = []) {
      return Promise.resolve(preparedRaw(sql).all(...params) as unknown[][]);
    },
    meta() {
      return Promise.resolve(readMeta());
    },
    apply(batch) {
      return Promise.resolve(applyTransaction.immediate(batch));
    },
    reset() {
      statements.clear();
      rawStatements.clear();
      inserts.clear();
      db.transaction(recreate).immediate();
      return Promise.resolve();
    },
    close() {
      if (db.open) {
        db.exec("PRAGMA optimize");
        db.close();
      }
      return Promise.resolve();
    },
  };
}
