// A throwaway server set up the way docs/providers.md tells an administrator to: the provider
// runs as a non-superuser provisioner created by provisionerSetup(), so every test also proves
// that the documented privileges suffice.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { parsePermission, type Permission } from "../../../src/manifest/permission.js";
import type { DesiredAgent } from "../../../src/provision/provider.js";
import { createPostgresProvider, provisionerSetup, type PostgresProvider } from "../../../src/providers/postgres/index.js";
import { type PostgresOptions, startPostgres, type PostgresServer } from "../../helpers/postgres.js";

export const INSTANCE = "crm-prod";
export const PROVISIONER = "charter_provisioner";

export interface Cluster {
  readonly server: PostgresServer;
  readonly provisionerPassword: string;
  /** Runs SQL as the superuser in a database. */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(database: string, text: string, values?: unknown[]): Promise<R[]>;
  /** Runs SQL as any role with a password. */
  sqlAs<R extends pg.QueryResultRow = pg.QueryResultRow>(database: string, user: string, password: string, text: string): Promise<R[]>;
  /** A provider running as the provisioner; `database` is the one its connection string names (default postgres). */
  provider(options?: { databases?: readonly string[]; database?: string }): PostgresProvider;
  stop(): Promise<void>;
}

export function permission(raw: string): Permission {
  const parsed = parsePermission(raw);
  if (!parsed.ok) throw new Error(`bad test permission ${raw}: ${parsed.reason}`);
  return parsed.permission;
}

export function agent(id: string, permissions: readonly string[], overrides: Partial<DesiredAgent> = {}): DesiredAgent {
  return {
    id,
    status: "active",
    commit: "a".repeat(40),
    manifestSha256: "b".repeat(64),
    permissions: permissions.map(permission),
    maxLifetimeSeconds: 3600,
    maxConcurrentSessions: 2,
    ...overrides,
  };
}

/**
 * Starts a server, creates `databases` with the given DDL as superuser, then the provisioner
 * with grant options on exactly `grantable` (the permissions agents may be given).
 */
export async function startCluster(databases: Readonly<Record<string, string>>, grantable: readonly string[], options: PostgresOptions = {}): Promise<Cluster> {
  const server = await startPostgres(options);
  const providers: PostgresProvider[] = [];
  const provisionerPassword = randomBytes(18).toString("base64url");
  const sqlAs = async <R extends pg.QueryResultRow>(database: string, user: string, password: string, text: string, values?: unknown[]): Promise<R[]> => {
    const client = new pg.Client({ connectionString: server.urlFor(database, user, password) });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  };
  const sql = <R extends pg.QueryResultRow>(database: string, text: string, values?: unknown[]): Promise<R[]> =>
    sqlAs<R>(database, server.user, server.password, text, values);

  for (const [name, ddl] of Object.entries(databases)) {
    if (name !== "postgres") await sql("postgres", `CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    if (ddl !== "") await sql(name, ddl);
  }
  const setup = provisionerSetup({ role: PROVISIONER, permissions: grantable.map(permission) });
  await sql("postgres", setup.cluster.join(";\n"));
  await sql("postgres", `ALTER ROLE ${PROVISIONER} PASSWORD ${pg.escapeLiteral(provisionerPassword)}`);
  for (const { database, statements } of setup.databases) await sql(database, statements.join(";\n"));

  return {
    server,
    provisionerPassword,
    sql,
    sqlAs,
    provider(options = {}) {
      const provider = createPostgresProvider({
        instance: INSTANCE,
        connectionString: server.urlFor(options.database ?? "postgres", PROVISIONER, provisionerPassword),
        ...(options.databases === undefined ? {} : { databases: options.databases }),
      });
      providers.push(provider);
      return provider;
    },
    async stop() {
      await Promise.allSettled(providers.map((p) => p.close()));
      server.stop();
    },
  };
}

/** observe → diff → apply → observe → diff, as the engine does; returns both diffs and the applied steps. */
export async function sync(provider: PostgresProvider, desired: readonly DesiredAgent[], prune = false) {
  const before = provider.diff(desired, await provider.observe(), { prune });
  const applied = await provider.apply(before.operations);
  const after = provider.diff(desired, await provider.observe(), { prune });
  return { before, applied, after };
}

/** Connects with a lease's connection string; resolves to the open client or rejects with the server's refusal. */
export async function login(connectionString: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  return client;
}
