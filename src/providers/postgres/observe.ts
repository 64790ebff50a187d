import { createHash } from "node:crypto";
import type pg from "pg";
import type { Connections } from "./connections.js";
import type { ArgumentType, GrantKind } from "./grants.js";
import { parseMarker } from "./marker.js";
import { observeAudit } from "./object-audit-sql.js";
import type { DefaultObjects, ObservedDefaultPrivilege, ObservedGrant, ObservedIdentity, ObservedObject, ObservedRole, PostgresObserved } from "./observed.js";
import {
  clusterAndDatabaseSql,
  type ClusterRow,
  clusterSql,
  databaseSql,
  type DatabaseRow,
  DATABASES_SQL,
  type DefaultRow,
  type FunctionArgs,
  type GrantRow,
  type OwnerRow,
  type RoleRow,
} from "./observe-sql.js";
import type { RoleNames } from "./role-names.js";

/**
 * Reads, without changing anything, what Charter's identities and leases can do: their roles and
 * attributes, every role they reach through memberships, and every privilege, owned object and
 * default privilege those roles and PUBLIC hold (see observe-sql.ts for what is read and which
 * of PostgreSQL's defaults are left out). Grantors are kept: a grant Charter did not make cannot
 * be revoked by Charter and must be reported instead.
 *
 * One statement per observed database, all sent at once; the cluster-wide part rides with the
 * connection string's database. Statements are prepared once per connection, so a re-sync does not
 * plan them again.
 */

export interface ObserveContext {
  readonly instance: string;
  readonly names: RoleNames;
  readonly connections: Connections;
  /** Configured databases; undefined: every database the provisioner may connect to. */
  readonly databases: readonly string[] | undefined;
  /** Whether object auditing is configured: then each database's pgaudit state is read too. */
  readonly audit?: boolean;
}

export async function observe(ctx: ObserveContext): Promise<PostgresObserved> {
  const { names, connections } = ctx;
  const main = await connections.client();
  const databases = ctx.databases ?? (await main.query<{ datname: string }>(DATABASES_SQL)).rows.map((r) => r.datname);
  const withCluster = databases.includes(connections.defaultDatabase);
  const reads = databases.map(async (database) => {
    const client = await connections.client(database);
    const text = database === connections.defaultDatabase ? clusterAndDatabaseSql(names) : databaseSql(names);
    return one<DatabaseRow & Partial<ClusterRow>>(client, text);
  });
  const cluster = withCluster ? undefined : one<ClusterRow>(main, clusterSql(names));
  const [perDatabase, audit] = await Promise.all([Promise.all(reads), ctx.audit === true ? observeAudit(connections, databases) : undefined]);
  const clusterRow = (await cluster) ?? (perDatabase[databases.indexOf(connections.defaultDatabase)] as ClusterRow | undefined);
  if (clusterRow === undefined) throw new Error("postgres: the server returned no row for the cluster read");
  const observed = assemble(ctx, databases, clusterRow, perDatabase);
  return audit === undefined ? observed : { ...observed, audit };
}

async function one<R extends pg.QueryResultRow>(client: pg.Client, text: string): Promise<R> {
  // The name is derived from the text, so a connection never reuses a name for another statement.
  const name = `charter_observe_${createHash("sha256").update(text).digest("hex").slice(0, 16)}`;
  const row = (await client.query<R>({ name, text })).rows[0];
  if (row === undefined) throw new Error("postgres: a catalog read returned no row");
  return row;
}

function assemble(ctx: ObserveContext, databases: readonly string[], cluster: ClusterRow, perDatabase: readonly DatabaseRow[]): PostgresObserved {
  const { names } = ctx;
  const memberships = cluster.memberships.flatMap((m) => m.members.map((member) => ({ member, role: m.role, grantor: m.grantor, inherit: m.inherit })));
  const memberOf = groupBy(memberships, (m) => m.member);
  const membersOf = groupBy(memberships, (m) => m.role);
  const roles = new Map<string, ObservedRole>(cluster.roles.map((row) => [row[0], toRole(row, memberOf.get(row[0]) ?? [], membersOf.get(row[0]) ?? [])]));

  const grants = new Map<string, ObservedGrant[]>();
  const owned = new Map<string, ObservedObject[]>();
  const defaults = new Map<string, ObservedDefaultPrivilege[]>();
  const push = <T>(map: Map<string, T[]>, key: string, value: T): void => {
    const list = map.get(key);
    if (list === undefined) map.set(key, [value]);
    else list.push(value);
  };
  for (const row of [...cluster.cluster_grants, ...perDatabase.flatMap((d) => d.grants)]) {
    for (const grantee of row[9]) {
      const grant = toGrant(row, grantee);
      if (grant !== undefined) push(grants, grantee, grant);
    }
  }
  for (const row of [...cluster.cluster_owners, ...perDatabase.flatMap((d) => d.owners)]) {
    const object = toObject(row);
    if (object !== undefined) push(owned, row.owner, object);
  }
  for (const row of perDatabase.flatMap((d) => d.defaults)) {
    const entry = toDefault(row);
    if (entry !== undefined) push(defaults, row.grantee, entry);
  }

  const all = [...roles.values()].sort((a, b) => compare(a.name, b.name));
  const identityRoles = all.filter((r) => r.name.startsWith(names.identityPrefix));
  const managedIdentities = new Set(identityRoles.filter((r) => r.memberOf.some((m) => m.role === names.marker)).map((r) => r.name));
  const leases = all.filter((r) => r.name.startsWith(names.leasePrefix));
  const leasesOf = new Map<string, ObservedRole[]>();
  const strayLeases: ObservedRole[] = [];
  for (const lease of leases) {
    const owner = lease.memberOf.find((m) => managedIdentities.has(m.role))?.role;
    if (owner === undefined) strayLeases.push(lease);
    else push(leasesOf, owner, lease);
  }

  const identities: ObservedIdentity[] = identityRoles.map((role) => {
    const managed = managedIdentities.has(role.name);
    const own = managed ? (leasesOf.get(role.name) ?? []) : [];
    return {
      role,
      managed,
      marker: parseMarker(role.comment),
      leases: own,
      grants: [...(grants.get(role.name) ?? []), ...own.flatMap((l) => grants.get(l.name) ?? [])],
    };
  });
  return {
    instance: ctx.instance,
    provisioner: cluster.provisioner,
    now: new Date(cluster.now_ms).toISOString(),
    databases,
    markerRoleExists: roles.has(names.marker),
    identities,
    strayLeases,
    roles,
    grants,
    owned,
    defaults,
  };
}

interface MembershipEdge {
  readonly member: string;
  readonly role: string;
  readonly grantor: string;
  readonly inherit: boolean;
}

function toRole(row: RoleRow, memberships: readonly MembershipEdge[], members: readonly MembershipEdge[]): ObservedRole {
  const [name, login, superuser, createRole, createDb, replication, bypassRls, connLimit, validUntilMs, comment] = row;
  return {
    name,
    canLogin: login,
    superuser,
    createRole,
    createDb,
    replication,
    bypassRls,
    connLimit,
    validUntil: typeof validUntilMs === "number" && Number.isFinite(validUntilMs) ? new Date(validUntilMs).toISOString() : null,
    comment,
    // Sorted, so that findings come out in the same order whatever order the catalog returns.
    memberOf: memberships.map((m) => ({ role: m.role, grantor: m.grantor, inherit: m.inherit })).sort((a, b) => compare(a.role, b.role)),
    members: members.map((m) => m.member).sort(compare),
  };
}

const KINDS: readonly GrantKind[] = ["database", "schema", "table", "sequence", "function", "column", "language", "large-object", "foreign-data-wrapper", "foreign-server", "parameter"];

/** The object's path inside its database, by kind; undefined for a row whose shape the kind does not explain. */
function pathOf(kind: string, schema: string | null, name: string, sub: string | null): { kind: GrantKind; path: string[] } | undefined {
  const known = KINDS.find((k) => k === kind);
  switch (known) {
    case undefined:
      return undefined;
    case "database":
      return { kind: known, path: [] };
    case "table":
    case "sequence":
    case "function":
      return schema === null ? undefined : { kind: known, path: [schema, name] };
    case "column":
      return schema === null || sub === null ? undefined : { kind: known, path: [schema, name, sub] };
    default:
      return { kind: known, path: [name] };
  }
}

function argsOf(args: FunctionArgs): { args?: ArgumentType[] } {
  return args === null ? {} : { args: args.map(([schema, name, display]) => [schema, name, display] as const) };
}

function toGrant(row: GrantRow, grantee: string): ObservedGrant | undefined {
  const [database, kind, schema, name, sub, args, privilege, grantor, definer] = row;
  const where = pathOf(kind, schema, name, sub);
  if (where === undefined) return undefined;
  return {
    database,
    ...where,
    ...argsOf(args),
    privilege,
    grantee,
    grantor,
    ...(definer ? { securityDefiner: true } : {}),
  };
}

function toObject(row: OwnerRow): ObservedObject | undefined {
  const where = pathOf(row.kind, row.schema, row.name, null);
  if (where === undefined) return undefined;
  return { database: row.database, ...where, ...argsOf(row.args), keyword: row.keyword, owner: row.owner };
}

const DEFAULT_OBJECTS: Readonly<Record<string, DefaultObjects>> = { r: "TABLES", S: "SEQUENCES", f: "FUNCTIONS", T: "TYPES", n: "SCHEMAS" };

function toDefault(row: DefaultRow): ObservedDefaultPrivilege | undefined {
  const objects = DEFAULT_OBJECTS[row.objtype];
  if (objects === undefined) return undefined;
  return { database: row.database, owner: row.owner, schema: row.schema ?? undefined, objects, privilege: row.privilege, grantee: row.grantee, grantor: row.grantor };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list === undefined) out.set(k, [item]);
    else list.push(item);
  }
  return out;
}
