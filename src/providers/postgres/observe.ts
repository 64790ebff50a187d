import type pg from "pg";
import type { Connections } from "./connections.js";
import type { GrantKind } from "./grants.js";
import { parseMarker } from "./marker.js";
import type { ObservedGrant, ObservedIdentity, ObservedRole, PostgresObserved } from "./observed.js";
import type { RoleNames } from "./role-names.js";

/**
 * Reads, without changing anything, every role named like a Charter identity or lease and every
 * privilege held by one of them: on databases (pg_database, cluster-wide) and on schemas,
 * tables, sequences, columns and functions in each observed database. Grantors are kept: a grant
 * Charter did not make cannot be revoked by Charter and must be reported instead.
 */

// Role names are matched by prefix with left(), not LIKE: `_` is a LIKE wildcard.
const ROLES_SQL = `
SELECT r.rolname AS name, r.rolcanlogin AS can_login, r.rolconnlimit AS conn_limit,
  (extract(epoch FROM r.rolvaliduntil) * 1000)::float8 AS valid_until_ms,
  d.description AS comment
FROM pg_roles r
LEFT JOIN pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_authid'::regclass
WHERE left(r.rolname, length($1)) = $1 OR left(r.rolname, length($2)) = $2
ORDER BY r.rolname`;

// Flat rows joined in one pass: a correlated subquery per role costs a scan per role.
const MEMBERSHIPS_SQL = `
SELECT mr.rolname AS member, g.rolname AS role, COALESCE(gr.rolname, '') AS grantor
FROM pg_auth_members m
JOIN pg_roles mr ON mr.oid = m.member
JOIN pg_roles g ON g.oid = m.roleid
LEFT JOIN pg_roles gr ON gr.oid = m.grantor
WHERE left(mr.rolname, length($1)) = $1 OR left(mr.rolname, length($2)) = $2
   OR left(g.rolname, length($1)) = $1 OR left(g.rolname, length($2)) = $2`;

// Each ACL item is joined to its grantee by oid and then filtered by name: the planner cannot
// estimate a prefix filter, and a pre-filtered role list made it loop over every pair.
const GRANTEE_IS_CHARTERS = `(left(r.rolname, length($1)) = $1 OR left(r.rolname, length($2)) = $2)`;

const DATABASE_GRANTS_SQL = `
SELECT d.datname AS database, 'database' AS kind, ARRAY[]::text[] AS path, a.privilege_type AS privilege,
  r.rolname AS grantee, g.rolname AS grantor
FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a
JOIN pg_roles r ON r.oid = a.grantee JOIN pg_roles g ON g.oid = a.grantor
WHERE d.datname = ANY($3) AND ${GRANTEE_IS_CHARTERS}`;

const OBJECT_GRANTS_SQL = `
SELECT current_database() AS database, o.kind, o.path, a.privilege_type AS privilege,
  r.rolname AS grantee, g.rolname AS grantor
FROM (
  SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END AS kind,
    ARRAY[n.nspname::text, c.relname::text] AS path, c.relacl AS acl
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relacl IS NOT NULL
  UNION ALL
  SELECT 'column', ARRAY[n.nspname::text, c.relname::text, at.attname::text], at.attacl
  FROM pg_attribute at JOIN pg_class c ON c.oid = at.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE at.attacl IS NOT NULL AND NOT at.attisdropped
  UNION ALL
  SELECT 'schema', ARRAY[n.nspname::text], n.nspacl FROM pg_namespace n WHERE n.nspacl IS NOT NULL
  UNION ALL
  SELECT 'function', ARRAY[n.nspname::text, p.proname::text], p.proacl
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proacl IS NOT NULL
) o CROSS JOIN LATERAL aclexplode(o.acl) a
JOIN pg_roles r ON r.oid = a.grantee JOIN pg_roles g ON g.oid = a.grantor
WHERE ${GRANTEE_IS_CHARTERS}`;

const DATABASES_SQL = `
SELECT datname FROM pg_database
WHERE datallowconn AND NOT datistemplate AND has_database_privilege(datname, 'CONNECT')
ORDER BY datname`;

interface RoleRow {
  name: string;
  can_login: boolean;
  conn_limit: number;
  valid_until_ms: number | null;
  comment: string | null;
}

interface MembershipRow {
  member: string;
  role: string;
  grantor: string;
}

interface GrantRow {
  database: string;
  kind: GrantKind;
  path: string[];
  privilege: string;
  grantee: string;
  grantor: string;
}

export interface ObserveContext {
  readonly instance: string;
  readonly names: RoleNames;
  readonly connections: Connections;
  /** Configured databases; undefined: every database the provisioner may connect to. */
  readonly databases: readonly string[] | undefined;
}

export async function observe(ctx: ObserveContext): Promise<PostgresObserved> {
  const { names, connections } = ctx;
  const main = await connections.client();
  const head = await main.query<{ provisioner: string; now_ms: number; marker_exists: boolean }>(
    `SELECT current_user AS provisioner, (extract(epoch FROM now()) * 1000)::float8 AS now_ms,
       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS marker_exists`,
    [names.marker],
  );
  const info = head.rows[0];
  if (info === undefined) throw new Error("postgres: the server returned no row for current_user");
  const databases = ctx.databases ?? (await main.query<{ datname: string }>(DATABASES_SQL)).rows.map((r) => r.datname);

  const prefixes = [names.identityPrefix, names.leasePrefix];
  const roleRows = (await main.query<RoleRow>(ROLES_SQL, prefixes)).rows;
  const membershipRows = (await main.query<MembershipRow>(MEMBERSHIPS_SQL, prefixes)).rows;
  const grantRows: GrantRow[] = [...(await main.query<GrantRow>(DATABASE_GRANTS_SQL, [...prefixes, databases])).rows];
  // One session per database, read concurrently: each holds its own catalogs.
  const perDatabase = await Promise.all(
    databases.map(async (database) => {
      const client: pg.Client = await connections.client(database);
      return (await client.query<GrantRow>(OBJECT_GRANTS_SQL, prefixes)).rows;
    }),
  );
  for (const rows of perDatabase) grantRows.push(...rows);

  return assemble(ctx, { provisioner: info.provisioner, nowMs: info.now_ms, markerExists: info.marker_exists, databases, roleRows, membershipRows, grantRows });
}

function toRole(row: RoleRow, memberships: readonly MembershipRow[]): ObservedRole {
  return {
    name: row.name,
    canLogin: row.can_login,
    connLimit: row.conn_limit,
    validUntil: row.valid_until_ms !== null && Number.isFinite(row.valid_until_ms) ? new Date(row.valid_until_ms).toISOString() : null,
    comment: row.comment,
    memberOf: memberships.filter((m) => m.member === row.name).map((m) => ({ role: m.role, grantor: m.grantor })),
    members: memberships.filter((m) => m.role === row.name).map((m) => m.member),
  };
}

function assemble(
  ctx: ObserveContext,
  raw: { provisioner: string; nowMs: number; markerExists: boolean; databases: readonly string[]; roleRows: RoleRow[]; membershipRows: MembershipRow[]; grantRows: GrantRow[] },
): PostgresObserved {
  const { names } = ctx;
  const byMember = groupBy(raw.membershipRows, (m) => m.member);
  const byRole = groupBy(raw.membershipRows, (m) => m.role);
  const roles = raw.roleRows.map((row) => toRole(row, [...(byMember.get(row.name) ?? []), ...(byRole.get(row.name) ?? [])]));
  const grantsOf = new Map<string, ObservedGrant[]>();
  for (const row of raw.grantRows) {
    const list = grantsOf.get(row.grantee) ?? [];
    list.push({ database: row.database, kind: row.kind, path: row.path, privilege: row.privilege, grantee: row.grantee, grantor: row.grantor });
    grantsOf.set(row.grantee, list);
  }
  const identityRoles = roles.filter((r) => r.name.startsWith(names.identityPrefix));
  const managedIdentities = new Set(identityRoles.filter((r) => r.memberOf.some((m) => m.role === names.marker)).map((r) => r.name));
  const leases = roles.filter((r) => r.name.startsWith(names.leasePrefix));
  const leaseOwner = (lease: ObservedRole): string | undefined => lease.memberOf.find((m) => managedIdentities.has(m.role))?.role;

  const identities: ObservedIdentity[] = identityRoles.map((role) => {
    const managed = managedIdentities.has(role.name);
    const own = managed ? leases.filter((l) => leaseOwner(l) === role.name) : [];
    return {
      role,
      managed,
      marker: parseMarker(role.comment),
      leases: own,
      grants: [...(grantsOf.get(role.name) ?? []), ...own.flatMap((l) => grantsOf.get(l.name) ?? [])],
    };
  });
  return {
    instance: ctx.instance,
    provisioner: raw.provisioner,
    now: new Date(raw.nowMs).toISOString(),
    databases: raw.databases,
    markerRoleExists: raw.markerExists,
    identities,
    strayLeases: leases.filter((l) => leaseOwner(l) === undefined),
  };
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
