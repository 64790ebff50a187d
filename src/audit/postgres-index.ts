import pg from "pg";
import { CharterError } from "../errors.js";
import { type AuditStore, INDEX_VERSION, type IndexBatch, type IndexMeta, META_LAST_HASH, META_SIZE, META_VERSION } from "./audit-store.js";
import { type Cell, insertStatement, schemaStatements, TABLES } from "./index-schema.js";

export const DEFAULT_POSTGRES_SCHEMA = "charter_audit";

// PostgreSQL accepts at most 65,535 parameters per statement; batches stay well below.
const MAX_PARAMETERS = 30_000;

/**
 * The audit index in a PostgreSQL schema, so several app replicas share one index. Every write
 * (creating the schema, a batch, a reset) holds a transaction-scoped advisory lock named after
 * the schema: two replicas updating at once serialise, and the second finds the meta already
 * advanced and indexes nothing twice (the primary keys would refuse duplicates anyway).
 */
export async function openPostgresIndex(connectionString: string, schema = DEFAULT_POSTGRES_SCHEMA): Promise<AuditStore> {
  const client = new pg.Client({ connectionString });
  try {
    await client.connect();
  } catch (cause) {
    throw new CharterError("IO", `cannot connect to the audit index database: ${(cause as Error).message}`, { cause, hint: "Check DATABASE_URL, or unset it to use a local SQLite index." });
  }
  const quoted = client.escapeIdentifier(schema);
  const lockKey = `charter-audit:${schema}`;
  const locked = async <T>(work: () => Promise<T>): Promise<T> => {
    await client.query("BEGIN");
    try {
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [lockKey]);
      const result = await work();
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK");
      throw error;
    }
  };
  const create = async (): Promise<void> => {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    for (const sql of schemaStatements("postgres")) await client.query(sql);
  };
  // Drops every table and creates them empty, stamped with this version's layout.
  const recreate = async (): Promise<void> => {
    await client.query(`DROP SCHEMA IF EXISTS ${quoted} CASCADE`);
    await create();
    await client.query("INSERT INTO meta (key, value) VALUES ($1, $2)", [META_VERSION, INDEX_VERSION]);
  };
  try {
    await client.query(`SET search_path TO ${quoted}`);
    await locked(async () => {
      await create();
      const { rows } = await client.query<{ value: string }>("SELECT value FROM meta WHERE key = $1", [META_VERSION]);
      if (rows[0]?.value !== INDEX_VERSION) await recreate();
    });
  } catch (cause) {
    await client.end();
    throw new CharterError("IO", `cannot prepare the audit index schema ${schema}: ${(cause as Error).message}`, { cause });
  }
  const readMeta = async (): Promise<IndexMeta> => {
    const { rows } = await client.query<{ key: string; value: string }>("SELECT key, value FROM meta");
    const get = (key: string): string | undefined => rows.find((r) => r.key === key)?.value;
    return { size: Number(get(META_SIZE) ?? 0), lastHash: get(META_LAST_HASH) ?? null };
  };
  const setMeta = (key: string, value: string): Promise<unknown> =>
    client.query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value]);

  return {
    dialect: "postgres",
    location: `PostgreSQL schema ${schema}`,
    async select(sql: string, params: readonly Cell[] = []) {
      return (await client.query(numbered(sql), [...params])).rows as Record<string, unknown>[];
    },
    async selectRows(sql: string, params: readonly Cell[] = []) {
      return (await client.query({ text: numbered(sql), values: [...params], rowMode: "array" })).rows as unknown[][];
    },
    meta: readMeta,
    apply(batch: IndexBatch) {
      return locked(async () => {
        const meta = await readMeta();
        if (meta.size !== batch.fromSeq || meta.lastHash !== batch.prevHash) return "raced" as const;
        for (const [table, rows] of batch.rows) {
          const per = Math.max(1, Math.floor(MAX_PARAMETERS / TABLES[table].length));
          for (let i = 0; i < rows.length; i += per) {
            const chunk = rows.slice(i, i + per);
            await client.query(insertStatement(table, (k) => `$${k}`, chunk.length), chunk.flat());
          }
        }
        await setMeta(META_SIZE, String(batch.toSeq + 1));
        await setMeta(META_LAST_HASH, batch.lastHash);
        return "applied" as const;
      });
    },
    reset() {
      return locked(recreate);
    },
    async close() {
      await client.end();
    },
  };
}

/** `?` placeholders, which every query is written with, as PostgreSQL's numbered ones. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
