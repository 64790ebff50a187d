import pg from "pg";
import { parsePermission, type Permission } from "../src/manifest/permission.js";
import { type SyncResult, sync } from "../src/provision/engine.js";
import type { DesiredState } from "../src/provision/desired-state.js";
import type { DesiredAgent } from "../src/provision/provider.js";
import { providerKey } from "../src/provision/routing.js";
import { createPostgresProvider, provisionerSetup, type PostgresProvider, roleNames } from "../src/providers/postgres/index.js";
import { startPostgres, type PostgresServer } from "../test/helpers/postgres.js";
import { median, report, round, time } from "./measure.js";

/**
 * PostgreSQL provisioning on a throwaway PostgreSQL 15, as the documented non-superuser
 * provisioner, through the engine's sync (observe → diff → apply → verify), which is what
 * `charter sync` and the app run.
 *
 * provision (one line per size): the first sync of N agents (2–3 table grants each, one database),
 * which creates every identity and grant, against a no-op re-sync of the same agents, which only
 * reads the catalogs and diffs. Each sample starts from a server without identities (dropped by
 * the superuser between samples, untimed). The goal: the re-sync costs at most 0.1 of the first
 * sync at every size. Small sizes take more samples (samplesFor).
 *
 * provision/catalog-read (one line per size): one observation — the effective-privilege read of
 * every agent, one statement per database — of a database with T tables, against scanning the
 * catalogs that read covers (pg_class, pg_attribute, pg_proc, pg_namespace) in the same database.
 */

const SIZES = list("CHARTER_BENCH_PROVISION_AGENTS", [100, 1000, 3000]);
const TABLE_SIZES = list("CHARTER_BENCH_PROVISION_TABLES", [100, 10_000]);
const SAMPLES = Math.max(3, Number(process.env["CHARTER_BENCH_PROVISION_SAMPLES"] ?? 3));
/**
 * Samples of a size at least: a small size's no-op re-sync is a few milliseconds of fixed cost,
 * so one scheduling hiccup on a shared machine moves its median most, and each of its samples
 * costs well under a second. 9 at 100 agents, SAMPLES from 300 on.
 */
const samplesFor = (agents: number): number => Math.max(SAMPLES, Math.min(9, Math.ceil(900 / agents)));
const TABLES = 50;
const READ_AGENTS = 100;
const INSTANCE = "crm-prod";
const PROVISIONER = "charter_provisioner";
const PASSWORD = "bench-provisioner";

function list(variable: string, fallback: readonly number[]): number[] {
  const raw = process.env[variable];
  if (raw === undefined || raw.trim() === "") return [...fallback];
  return raw.split(",").map((v) => {
    const n = Number(v.trim());
    if (!Number.isInteger(n) || n < 1) throw new Error(`${variable}: ${JSON.stringify(v)} is not a positive whole number`);
    return n;
  });
}

function permission(raw: string): Permission {
  const parsed = parsePermission(raw);
  if (!parsed.ok) throw new Error(`bench permission ${raw}: ${parsed.reason}`);
  return parsed.permission;
}

/** Agent i reads 2 or 3 of `tables` tables, spread so that every table is shared by many agents. */
function desiredAgents(count: number, database: string, tables: number): DesiredAgent[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `agent-${String(i).padStart(4, "0")}`,
    status: "active" as const,
    commit: "a".repeat(40),
    manifestSha256: "b".repeat(64),
    permissions: Array.from({ length: 2 + (i % 2) }, (_, k) => permission(`postgres:select:${database}.public.t${String((i * 7 + k * 13) % tables)}@${INSTANCE}`)),
    maxLifetimeSeconds: 3600,
    maxConcurrentSessions: 2,
  }));
}

function state(provider: PostgresProvider, agents: readonly DesiredAgent[]): DesiredState {
  return { commit: "a".repeat(40), agents: agents.map((a) => a.id), retired: new Set(), byProvider: new Map([[providerKey(provider), agents]]), unrouted: [] };
}

async function superuser(server: PostgresServer, database: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: server.urlFor(database) });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** Creates `tables` tables t0… in `database` (in batches, so that no statement is huge), and the provisioner's grant options on them. */
async function createTables(server: PostgresServer, database: string, tables: number, prefix?: string): Promise<void> {
  await superuser(server, "postgres", `CREATE DATABASE ${database}`);
  for (let start = 0; start < tables; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, tables - start) }, (_, k) => `CREATE TABLE public.t${String(start + k)} (id int PRIMARY KEY, name text)`);
    await superuser(server, database, batch.join(";\n"));
  }
  const grantable = Array.from({ length: Math.min(tables, TABLES) }, (_, t) => permission(`postgres:select:${database}.public.t${String(t)}@${INSTANCE}`));
  const setup = provisionerSetup({ role: PROVISIONER, permissions: grantable, ...(prefix === undefined ? {} : { rolePrefix: prefix }) });
  await superuser(server, database, `GRANT CONNECT ON DATABASE ${database} TO ${PROVISIONER} WITH GRANT OPTION`);
  for (const { statements } of setup.databases) await superuser(server, database, statements.join(";\n"));
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  let value: T | undefined;
  const ms = await time(async () => {
    value = await fn();
  });
  return { ms, value: value as T };
}

/** Drops every identity and lease the bench created, as the superuser: the next first sync starts from nothing. */
async function dropIdentities(server: PostgresServer, database: string, prefix: string, tables: number): Promise<void> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    const rows = await client.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE left(rolname, length($1)) = $1 OR left(rolname, length($2)) = $2", [`${prefix}agent_`, `${prefix}lease_`]);
    const roles = rows.rows.map((r) => pg.escapeIdentifier(r.rolname));
    if (roles.length === 0) return;
    // DROP OWNED run by a superuser leaves grants whose grantor is another role: the provisioner revokes its own.
    const all = roles.join(", ");
    const granted = Array.from({ length: Math.min(tables, TABLES) }, (_, t) => `public.t${String(t)}`).join(", ");
    await superuser(
      server,
      database,
      `SET ROLE ${PROVISIONER}; REVOKE ALL ON ${granted} FROM ${all}; REVOKE ALL ON SCHEMA public FROM ${all}; REVOKE ALL ON DATABASE ${database} FROM ${all}; RESET ROLE; DROP OWNED BY ${all}`,
    );
    await client.query(`DROP ROLE ${roles.join(", ")}`);
  } finally {
    await client.end();
  }
}

function stats(samples: readonly number[]): { min: number; median: number } {
  return { min: round(Math.min(...samples)), median: round(median(samples)) };
}

function check(result: SyncResult, what: string, wantsWork: boolean): void {
  if (result.outcome !== "converged") throw new Error(`provision bench: the ${what} did not converge: ${JSON.stringify(result.verification).slice(0, 500)}`);
  if (!wantsWork && result.plan.length > 0) throw new Error(`provision bench: the ${what} was not a no-op (${result.plan.length} operations)`);
}

async function resync(server: PostgresServer): Promise<void> {
  const provider = createPostgresProvider({ instance: INSTANCE, connectionString: server.urlFor("crm", PROVISIONER, PASSWORD), databases: ["crm"] });
  try {
    for (const agents of SIZES) {
      const desired = state(provider, desiredAgents(agents, "crm", TABLES));
      const first: number[] = [];
      const noop: number[] = [];
      let operations = 0;
      const samples = samplesFor(agents);
      for (let s = 0; s < samples; s++) {
        await dropIdentities(server, "crm", "charter_", TABLES);
        const created = await timed(() => sync([provider], desired, { prune: false }));
        check(created.value, "first sync", true);
        first.push(created.ms);
        operations = created.value.plan.length;
        const again = await timed(() => sync([provider], desired, { prune: false }));
        check(again.value, "re-sync", false);
        noop.push(again.ms);
      }
      const f = stats(first);
      const n = stats(noop);
      report({
        bench: "provision",
        agents,
        operations,
        samples,
        first_sync_ms: f,
        noop_sync_ms: n,
        baseline: "first sync (create every identity and grant), through the engine",
        ratio: round(median(noop) / median(first), 3),
        ratio_of_min: round(Math.min(...noop) / Math.min(...first), 3),
        goal: "ratio ≤ 0.1",
      });
    }
    await dropIdentities(server, "crm", "charter_", TABLES);
  } finally {
    await provider.close();
  }
}

async function catalogRead(server: PostgresServer): Promise<void> {
  const prefix = "wide_";
  // Its own provisioner's marker under another prefix, so that these agents never meet the re-sync bench's.
  await superuser(server, "postgres", `CREATE ROLE ${roleNames(prefix).marker} NOLOGIN; GRANT ${roleNames(prefix).marker} TO ${PROVISIONER} WITH ADMIN OPTION`);
  for (const tables of TABLE_SIZES) {
    const database = `wide_${String(tables)}`;
    await createTables(server, database, tables, prefix);
    const provider = createPostgresProvider({ instance: INSTANCE, connectionString: server.urlFor(database, PROVISIONER, PASSWORD), databases: [database], rolePrefix: prefix });
    const scan = new pg.Client({ connectionString: server.urlFor(database) });
    await scan.connect();
    try {
      const agents = desiredAgents(READ_AGENTS, database, Math.min(tables, TABLES));
      check(await sync([provider], state(provider, agents), { prune: false }), `provisioning of ${database}`, true);
      let grants = 0;
      const reads: number[] = [];
      const scans: number[] = [];
      for (let s = 0; s < Math.max(SAMPLES, 5); s++) {
        const read = await timed(() => provider.observe());
        grants = read.value.identities.reduce((sum, i) => sum + i.grants.length, 0);
        reads.push(read.ms);
        scans.push(
          await time(() =>
            scan.query("SELECT (SELECT count(*) FROM pg_class) + (SELECT count(*) FROM pg_attribute) + (SELECT count(*) FROM pg_proc) + (SELECT count(*) FROM pg_namespace) AS n"),
          ),
        );
      }
      const relations = (await scan.query<{ relations: string }>("SELECT count(*) AS relations FROM pg_class")).rows[0]?.relations ?? "0";
      report({
        bench: "provision/catalog-read",
        tables,
        relations: Number(relations),
        agents: READ_AGENTS,
        grants_read: grants,
        samples: reads.length,
        observe_ms: stats(reads),
        baseline_ms: stats(scans),
        baseline: "count(*) over pg_class, pg_attribute, pg_proc and pg_namespace in the same database",
        ratio: round(median(reads) / median(scans), 2),
      });
    } finally {
      await scan.end();
      await provider.close();
    }
    await dropIdentities(server, database, prefix, tables);
  }
}

export async function run(): Promise<void> {
  const server = await startPostgres();
  try {
    await superuser(server, "postgres", "CREATE DATABASE crm");
    await superuser(server, "crm", Array.from({ length: TABLES }, (_, t) => `CREATE TABLE public.t${String(t)} (id int)`).join(";\n"));
    const setup = provisionerSetup({ role: PROVISIONER, permissions: Array.from({ length: TABLES }, (_, t) => permission(`postgres:select:crm.public.t${String(t)}@${INSTANCE}`)) });
    await superuser(server, "crm", [...setup.cluster, `ALTER ROLE ${PROVISIONER} PASSWORD ${pg.escapeLiteral(PASSWORD)}`].join(";\n"));
    for (const { statements } of setup.databases) await superuser(server, "crm", statements.join(";\n"));
    await resync(server);
    await catalogRead(server);
  } finally {
    server.stop();
  }
}
