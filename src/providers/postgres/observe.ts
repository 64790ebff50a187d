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
  shobj_description(r.oid, 'pg_authid') AS comment,
  COALESCE((SELECT json_agg(json_build_object('role', g.rolname, 'grantor', gr.rolname))
    FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid LEFT JOIN pg_roles gr ON gr.oid = m.grantor
    WHERE m.member = r.oid), '[]') AS member_of,
  COALESCE((SELECT json_agg(mr.rolname) FROM pg_auth_members m JOIN pg_roles mr ON mr.oid = m.member
    WHERE m.roleid = r.oid), '[]') AS members
FROM pg_roles r
WHERE left(r.rolname, length($1)) = $1 OR left(r.rolname, length($2)) = $2
ORDER BY r.rolname`;

const GRANTEES = `roles AS (SELECT oid, rolname FROM pg_roles WHERE left(rolname, length($1)) = $1 OR left(rolname, length($2)) = $2)`;

const DATABASE_GRANTS_SQL = `
WITH ${GRANTEES}
SELECT d.datname AS database, 'database' AS kind, ARRAY[]::text[] AS path, a.privilege_type AS privilege,
  r.rolname AS grantee, g.rolname AS grantor
FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a
JOIN roles r ON r.oid = a.grantee JOIN pg_roles g ON g.oid = a.grantor
WHERE d.datname = ANY($3)`;

const OBJECT_GRANTS_SQL = `
WITH ${GRANTEES}
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
JOIN roles r ON r.oid = a.grantee JOIN pg_roles g ON g.oid = a.grantor`;

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
  member_of: { role: string; grantor: string | null }[];
  members: string[];
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
  const grantRows: GrantRow[] = [...(await main.query<GrantRow>(DATABASE_GRANTS_SQL, [...prefixes, databases])).rows];
  // One session per database, read concurrently: each holds its own catalogs.
  const perDatabase = await Promise.all(
    databases.map(async (database) => {
      const client: pg.Client = await connections.client(database);
      return (await client.query<GrantRow>(OBJECT_GRANTS_SQL, prefixes)).rows;
    }),
  );
  for (const rows of perDatabase) grantRows.push(...rows);

  return assemble(ctx, { provisioner: info.provisioner, nowMs: info.now_ms, markerExists: info.marker_exists, databases, roleRows, grantRows });
}

function toRole(row: RoleRow): ObservedRole {
  return {
    name: row.name,
    canLogin: row.can_login,
    connLimit: row.conn_limit,
    validUntil: row.valid_until_ms !== null && Number.isFinite(row.valid_until_ms) ? new Date(row.valid_until_ms).toISOString() : null,
    comment: row.comment,
    memberOf: row.member_of.map((m) => ({ role: m.role, grantor: m.grantor ?? "" })),
    members: row.members,
  };
}

function assemble(
  ctx: ObserveContext,
  raw: { provisioner: string; nowMs: number; markerExists: boolean; databases: readonly string[]; roleRows: RoleRow[]; grantRows: GrantRow[] },
): PostgresObserved {
  const { names } = ctx;
  const roles = raw.roleRows.map(toRole);
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
