import type { RoleNames } from "./role-names.js";
import { literal } from "./sql.js";

/**
 * The catalog reads behind observe(): one statement for what is cluster-wide (roles, memberships,
 * database and parameter privileges) and one per observed database (everything else), each
 * answering in a single row of JSON arrays, so that an observation costs one round trip per
 * database however many agents and objects there are. Each statement computes the roles that
 * matter itself — Charter's identities and leases, the marker, and every role they reach through
 * memberships, transitively — and returns only what those roles or PUBLIC hold.
 *
 * PostgreSQL's built-in defaults are filtered here, the one place the rule lives (docs/providers.md,
 * "PostgreSQL's defaults"): PUBLIC's CONNECT and TEMPORARY on databases, EXECUTE on functions that
 * are not SECURITY DEFINER (unless their initial privileges withhold it), USAGE on languages and
 * types, and every privilege recorded in
 * pg_init_privs (what initdb and extension scripts set up, such as USAGE on the public schema and
 * SELECT on the system catalogs) are not returned; neither is PUBLIC's SELECT on information_schema,
 * whose views show each role only what it may see. Everything else PUBLIC holds is returned.
 *
 * Role names are matched by prefix with left(), not LIKE: `_` is a LIKE wildcard. The names are
 * inlined as literals (validated by roleNames() and quoted) so that the text is fixed per provider
 * and can be prepared once per connection.
 */

function ctes(names: RoleNames): string {
  const identity = literal(names.identityPrefix);
  const lease = literal(names.leasePrefix);
  return `
agent AS MATERIALIZED (
  SELECT oid FROM pg_roles
  WHERE left(rolname, length(${identity})) = ${identity} OR left(rolname, length(${lease})) = ${lease} OR rolname = ${literal(names.marker)}
),
reach(oid) AS (
  SELECT oid FROM agent
  UNION
  SELECT m.roleid FROM pg_auth_members m JOIN reach r ON r.oid = m.member
),
-- A superuser role reached through a membership already means everything; its own grants and
-- objects (every system catalog) are not listed one by one.
held AS MATERIALIZED (
  SELECT oid FROM agent
  UNION
  SELECT r.oid FROM reach r JOIN pg_roles o ON o.oid = r.oid WHERE NOT o.rolsuper
),
holder AS MATERIALIZED (SELECT oid FROM held UNION ALL SELECT 0::oid)`;
}

const grantee = (column: string): string => `CASE WHEN ${column} = 0 THEN 'public' ELSE pg_get_userbyid(${column}) END`;

const CLUSTER_COLUMNS = `
  current_user AS provisioner,
  (extract(epoch FROM now()) * 1000)::float8 AS now_ms,
  -- Roles and grants, one or more per agent, come as arrays in RoleRow's and GrantRow's order:
  -- building and parsing an object's keys for each was a sixth of a re-sync's read.
  (SELECT COALESCE(json_agg(json_build_array(
      r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls, r.rolconnlimit,
      CASE WHEN r.rolvaliduntil IS NULL OR r.rolvaliduntil = 'infinity' THEN NULL
           WHEN r.rolvaliduntil = '-infinity' THEN 0::float8
           ELSE (extract(epoch FROM r.rolvaliduntil) * 1000)::float8 END,
      CASE WHEN r.oid IN (SELECT oid FROM agent) THEN d.description END)), '[]')
   FROM pg_roles r LEFT JOIN pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_authid'::regclass
   WHERE r.oid IN (SELECT oid FROM reach) OR r.oid IN (SELECT m.member FROM pg_auth_members m WHERE m.roleid IN (SELECT oid FROM agent))
  ) AS roles,
  -- One entry per role, grantor and inheritance, with its members: a thousand identities in the
  -- marker make one entry, not a thousand. PostgreSQL 16 records inheritance per membership
  -- (inherit_option); 15 has the member's INHERIT only.
  (SELECT COALESCE(json_agg(json_build_object('role', m.role, 'grantor', m.grantor, 'inherit', m.inherit, 'members', m.members)), '[]')
   FROM (
     SELECT pg_get_userbyid(m.roleid) AS role, COALESCE(gr.rolname, '') AS grantor,
       COALESCE((to_jsonb(m) ->> 'inherit_option')::boolean, mr.rolinherit) AS inherit, json_agg(mr.rolname) AS members
     FROM pg_auth_members m JOIN pg_roles mr ON mr.oid = m.member LEFT JOIN pg_roles gr ON gr.oid = m.grantor
     WHERE m.member IN (SELECT oid FROM reach) OR m.roleid IN (SELECT oid FROM agent)
     GROUP BY 1, 2, 3
   ) m
  ) AS memberships,
  (SELECT COALESCE(json_agg(json_build_array(
      g.datname, g.kind, NULL, g.name, NULL, NULL, g.privilege_type, pg_get_userbyid(g.grantor), false, g.grantees)), '[]')
   FROM (
     SELECT g.datname, g.kind, g.name, g.privilege_type, g.grantor, json_agg(${grantee("g.grantee")}) AS grantees
     FROM (
       SELECT d.datname, 'database' AS kind, d.datname::text AS name, a.*
       FROM pg_database d CROSS JOIN LATERAL aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a
       WHERE a.grantee IN (SELECT oid FROM holder) AND a.grantee <> d.datdba
         AND NOT (a.grantee = 0 AND a.privilege_type IN ('CONNECT', 'TEMPORARY'))
       UNION ALL
       SELECT '', 'parameter', p.parname, a.*
       FROM pg_parameter_acl p CROSS JOIN LATERAL aclexplode(p.paracl) a
       WHERE a.grantee IN (SELECT oid FROM holder)
     ) g
     GROUP BY g.datname, g.kind, g.name, g.privilege_type, g.grantor
   ) g
  ) AS cluster_grants,
  (SELECT COALESCE(json_agg(json_build_object(
      'database', d.datname, 'kind', 'database', 'schema', NULL, 'name', d.datname, 'args', NULL, 'keyword', 'DATABASE',
      'owner', pg_get_userbyid(d.datdba))), '[]')
   FROM pg_database d WHERE d.datdba IN (SELECT oid FROM held)
  ) AS cluster_owners`;

const FUNCTION_ARGS = (oid: string): string => `
  (SELECT COALESCE(json_agg(json_build_array(tn.nspname, t.typname, format_type(t.oid, NULL)) ORDER BY u.ord), '[]')
   FROM pg_proc fp CROSS JOIN LATERAL unnest(fp.proargtypes) WITH ORDINALITY AS u(typ, ord)
   JOIN pg_type t ON t.oid = u.typ JOIN pg_namespace tn ON tn.oid = t.typnamespace
   WHERE fp.oid = ${oid})`;

const DATABASE_CTES = `,
system_schema AS MATERIALIZED (SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema')),
-- Every object with privileges on it. The system's own functions (oid below 16384, PostgreSQL's
-- FirstNormalObjectId) are read only when they have initial privileges: for the rest PUBLIC's
-- EXECUTE is the default, and a grant to a role is no more than PUBLIC holds. Skipping them
-- skips most of pg_proc, which is most of a small server's read.
objects AS MATERIALIZED (
  SELECT 'pg_class'::regclass::oid AS classoid, c.oid AS objoid, 0 AS objsubid,
    CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END AS kind, c.relnamespace AS ns, c.relname::text AS name, NULL::text AS sub,
    c.relacl AS acl, c.relowner AS owner, false AS definer
  FROM pg_class c WHERE c.relacl IS NOT NULL
  UNION ALL
  SELECT 'pg_class'::regclass::oid, c.oid, at.attnum, 'column', c.relnamespace, c.relname::text, at.attname::text, at.attacl, c.relowner, false
  FROM pg_attribute at JOIN pg_class c ON c.oid = at.attrelid
  WHERE at.attacl IS NOT NULL AND NOT at.attisdropped
  UNION ALL
  SELECT 'pg_namespace'::regclass::oid, n.oid, 0, 'schema', n.oid, n.nspname::text, NULL, n.nspacl, n.nspowner, false
  FROM pg_namespace n WHERE n.nspacl IS NOT NULL
  UNION ALL
  -- A SECURITY DEFINER function outside the system schemas is read with its default ACL filled in:
  -- PUBLIC's default EXECUTE on it lets every role act as its owner.
  SELECT 'pg_proc'::regclass::oid, p.oid, 0, 'function', p.pronamespace, p.proname::text, NULL,
    CASE WHEN d.definer THEN COALESCE(p.proacl, acldefault('f', p.proowner)) ELSE p.proacl END, p.proowner, d.definer
  FROM pg_proc p CROSS JOIN LATERAL (SELECT p.prosecdef AND p.pronamespace NOT IN (SELECT oid FROM system_schema) AS definer) d
  WHERE p.oid >= 16384 AND (p.proacl IS NOT NULL OR d.definer)
  UNION ALL
  -- Looked up by oid from pg_init_privs' few dozen functions: joined, the planner scans all of
  -- pg_proc for them, which was a sixth of a small server's read.
  SELECT 'pg_proc'::regclass::oid, p.oid, 0, 'function', p.pronamespace, p.proname::text, NULL, p.proacl, p.proowner, false
  FROM pg_proc p
  WHERE p.oid = ANY (ARRAY(SELECT ip.objoid FROM pg_init_privs ip WHERE ip.classoid = 'pg_proc'::regclass AND ip.objoid < 16384)) AND p.proacl IS NOT NULL
  UNION ALL
  SELECT 'pg_language'::regclass::oid, l.oid, 0, 'language', NULL, l.lanname::text, NULL, l.lanacl, l.lanowner, false
  FROM pg_language l WHERE l.lanacl IS NOT NULL
  UNION ALL
  SELECT 'pg_largeobject_metadata'::regclass::oid, lo.oid, 0, 'large-object', NULL, lo.oid::text, NULL, lo.lomacl, lo.lomowner, false
  FROM pg_largeobject_metadata lo WHERE lo.lomacl IS NOT NULL
  UNION ALL
  SELECT 'pg_foreign_data_wrapper'::regclass::oid, w.oid, 0, 'foreign-data-wrapper', NULL, w.fdwname::text, NULL, w.fdwacl, w.fdwowner, false
  FROM pg_foreign_data_wrapper w WHERE w.fdwacl IS NOT NULL
  UNION ALL
  SELECT 'pg_foreign_server'::regclass::oid, s.oid, 0, 'foreign-server', NULL, s.srvname::text, NULL, s.srvacl, s.srvowner, false
  FROM pg_foreign_server s WHERE s.srvacl IS NOT NULL
),
-- What the roles own, from the shared dependency catalog (every object a role other than the
-- bootstrap superuser owns has an entry there): found by role, not by scanning every catalog.
ownership AS MATERIALIZED (
  SELECT d.classid, d.objid FROM pg_shdepend d
  WHERE d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND d.refclassid = 'pg_authid'::regclass
    AND d.deptype = 'o' AND d.refobjid IN (SELECT oid FROM held)
),
-- An object whose privileges are still exactly its initial ones (most system catalogs and
-- functions) holds nothing the rule reports: it is left out before its ACL is taken apart.
object_acl AS MATERIALIZED (
  SELECT o.*, ip.initprivs AS initial
  FROM objects o LEFT JOIN pg_init_privs ip ON ip.objoid = o.objoid AND ip.classoid = o.classoid AND ip.objsubid = o.objsubid
  WHERE ip.initprivs IS NULL OR ip.initprivs <> o.acl
),
object_grants AS (
  SELECT o.*, a.grantee, a.grantor, a.privilege_type
  FROM object_acl o CROSS JOIN LATERAL aclexplode(o.acl) a
  WHERE a.grantee IN (SELECT oid FROM holder)
    -- The owner's own entries: ownership is read (and reported) as such.
    AND a.grantee <> o.owner
    AND NOT (a.grantee = 0 AND (
      -- EXECUTE for PUBLIC is the default of a function, unless its initial privileges say
      -- otherwise (initdb revokes it from pg_read_file and its like): then those decide, below.
      (o.kind = 'function' AND a.privilege_type = 'EXECUTE' AND NOT o.definer AND o.initial IS NULL)
      OR (o.kind = 'language' AND a.privilege_type = 'USAGE')
      OR o.ns = (SELECT oid FROM pg_namespace WHERE nspname = 'information_schema')))
    AND NOT (o.initial IS NOT NULL AND EXISTS (
      SELECT 1 FROM aclexplode(o.initial) i WHERE i.grantee = a.grantee AND i.privilege_type = a.privilege_type))
),
owned AS (
  SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END AS kind, c.relnamespace AS ns, c.relname::text AS name, NULL::oid AS fn, c.relowner AS owner,
    CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS keyword
  FROM ownership o JOIN pg_class c ON c.oid = o.objid WHERE o.classid = 'pg_class'::regclass AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  UNION ALL
  SELECT 'schema', n.oid, n.nspname::text, NULL, n.nspowner, 'SCHEMA' FROM ownership o JOIN pg_namespace n ON n.oid = o.objid WHERE o.classid = 'pg_namespace'::regclass
  UNION ALL
  SELECT 'function', p.pronamespace, p.proname::text, p.oid, p.proowner, CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END
  FROM ownership o JOIN pg_proc p ON p.oid = o.objid WHERE o.classid = 'pg_proc'::regclass
  UNION ALL
  SELECT 'language', NULL, l.lanname::text, NULL, l.lanowner, 'LANGUAGE' FROM ownership o JOIN pg_language l ON l.oid = o.objid WHERE o.classid = 'pg_language'::regclass
  UNION ALL
  SELECT 'large-object', NULL, lo.oid::text, NULL, lo.lomowner, 'LARGE OBJECT'
  FROM ownership o JOIN pg_largeobject_metadata lo ON lo.oid = o.objid WHERE o.classid = 'pg_largeobject'::regclass
  UNION ALL
  SELECT 'foreign-data-wrapper', NULL, w.fdwname::text, NULL, w.fdwowner, 'FOREIGN DATA WRAPPER'
  FROM ownership o JOIN pg_foreign_data_wrapper w ON w.oid = o.objid WHERE o.classid = 'pg_foreign_data_wrapper'::regclass
  UNION ALL
  SELECT 'foreign-server', NULL, s.srvname::text, NULL, s.srvowner, 'SERVER' FROM ownership o JOIN pg_foreign_server s ON s.oid = o.objid WHERE o.classid = 'pg_foreign_server'::regclass
)`;

const DATABASE_COLUMNS = `
  -- One entry per object, privilege and grantor, with its grantees.
  (SELECT COALESCE(json_agg(json_build_array(
      current_database(), g.kind, n.nspname, g.name, g.sub, CASE WHEN g.kind = 'function' THEN ${FUNCTION_ARGS("g.objoid")} END,
      g.privilege_type, pg_get_userbyid(g.grantor), g.definer, g.grantees)), '[]')
   FROM (
     SELECT g.kind, g.ns, g.name, g.sub, g.objoid, g.privilege_type, g.grantor, g.definer, json_agg(${grantee("g.grantee")}) AS grantees
     FROM object_grants g GROUP BY g.kind, g.ns, g.name, g.sub, g.objoid, g.privilege_type, g.grantor, g.definer
   ) g LEFT JOIN pg_namespace n ON n.oid = g.ns
  ) AS grants,
  (SELECT COALESCE(json_agg(json_build_object(
      'database', current_database(), 'kind', o.kind, 'schema', n.nspname, 'name', o.name,
      'args', CASE WHEN o.fn IS NOT NULL THEN ${FUNCTION_ARGS("o.fn")} END, 'keyword', o.keyword, 'owner', pg_get_userbyid(o.owner))), '[]')
   FROM owned o LEFT JOIN pg_namespace n ON n.oid = o.ns
  ) AS owners,
  -- Entries for the owner itself are its own privileges on what it creates, not a grant to anyone.
  (SELECT COALESCE(json_agg(json_build_object(
      'database', current_database(), 'owner', pg_get_userbyid(d.defaclrole), 'schema', n.nspname, 'objtype', d.defaclobjtype::text,
      'privilege', a.privilege_type, 'grantee', ${grantee("a.grantee")}, 'grantor', pg_get_userbyid(a.grantor))), '[]')
   FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace CROSS JOIN LATERAL aclexplode(d.defaclacl) a
   WHERE a.grantee IN (SELECT oid FROM holder) AND a.grantee <> d.defaclrole
     AND NOT (a.grantee = 0 AND ((d.defaclobjtype = 'f' AND a.privilege_type = 'EXECUTE') OR (d.defaclobjtype = 'T' AND a.privilege_type = 'USAGE')))
  ) AS defaults`;

/** The cluster-wide read; run in the connection string's database. */
export function clusterSql(names: RoleNames): string {
  return `WITH RECURSIVE ${ctes(names)}\nSELECT ${CLUSTER_COLUMNS}`;
}

/** The read of one database's catalogs; run in that database. */
export function databaseSql(names: RoleNames): string {
  return `WITH RECURSIVE ${ctes(names)}${DATABASE_CTES}\nSELECT ${DATABASE_COLUMNS}`;
}

/** Both in one statement, for the connection string's database when it is observed too: one round trip. */
export function clusterAndDatabaseSql(names: RoleNames): string {
  return `WITH RECURSIVE ${ctes(names)}${DATABASE_CTES}\nSELECT ${CLUSTER_COLUMNS},${DATABASE_COLUMNS}`;
}

export const DATABASES_SQL = `
SELECT datname FROM pg_database
WHERE datallowconn AND NOT datistemplate AND has_database_privilege(datname, 'CONNECT')
ORDER BY datname`;

export type RoleRow = [
  name: string,
  login: boolean,
  superuser: boolean,
  createrole: boolean,
  createdb: boolean,
  replication: boolean,
  bypassrls: boolean,
  connlimit: number,
  validUntilMs: number | null,
  comment: string | null,
];

export interface MembershipRow {
  role: string;
  grantor: string;
  inherit: boolean;
  members: string[];
}

/** A function's argument types: schema, name and display of each. */
export type FunctionArgs = [string, string, string][] | null;

export type GrantRow = [
  database: string,
  kind: string,
  schema: string | null,
  name: string,
  sub: string | null,
  args: FunctionArgs,
  privilege: string,
  grantor: string,
  definer: boolean,
  grantees: string[],
];

export interface OwnerRow {
  database: string;
  kind: string;
  schema: string | null;
  name: string;
  args: FunctionArgs;
  keyword: string;
  owner: string;
}

export interface DefaultRow {
  database: string;
  owner: string;
  schema: string | null;
  objtype: string;
  privilege: string;
  grantee: string;
  grantor: string;
}

export interface ClusterRow {
  provisioner: string;
  now_ms: number;
  roles: RoleRow[];
  memberships: MembershipRow[];
  cluster_grants: GrantRow[];
  cluster_owners: OwnerRow[];
}

export interface DatabaseRow {
  grants: GrantRow[];
  owners: OwnerRow[];
  defaults: DefaultRow[];
}
