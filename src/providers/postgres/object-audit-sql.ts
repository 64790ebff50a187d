import type pg from "pg";
import type { Connections } from "./connections.js";
import { grantSql, revokeSql } from "./sql.js";
import { AUDITABLE, type AuditDatabase, type AuditStep } from "./object-audit.js";

/**
 * The reads and statements behind object auditing (object-audit.ts). pgaudit.role is read as a
 * session in each database sees it, since ALTER DATABASE … SET may name a different role per
 * database. pgaudit's settings exist only where the library is loaded; a placeholder someone set
 * without it does not show in pg_settings, so that tells whether the server audits at all.
 */
const AUDIT_SQL = `
WITH setting AS (SELECT NULLIF(current_setting('pgaudit.role', true), '') AS role),
auditor AS (SELECT r.* FROM pg_roles r, setting s WHERE r.rolname = s.role)
SELECT
  EXISTS (SELECT 1 FROM pg_settings WHERE name = 'pgaudit.role') AS loaded,
  (SELECT role FROM setting) AS role,
  (SELECT json_build_object('login', a.rolcanlogin, 'superuser', a.rolsuper,
     'members', (SELECT COALESCE(json_agg(m.rolname ORDER BY m.rolname), '[]') FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member WHERE am.roleid = a.oid))
   FROM auditor a) AS auditor,
  (SELECT COALESCE(json_agg(json_build_array(n.nspname, c.relname) ORDER BY n.nspname, c.relname), '[]')
   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)') AS relations,
  (SELECT COALESCE(json_agg(json_build_object('schema', n.nspname, 'name', c.relname, 'privilege', x.privilege_type, 'grantor', pg_get_userbyid(x.grantor))), '[]')
   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN LATERAL aclexplode(c.relacl) x
   WHERE c.relacl IS NOT NULL AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND x.grantee = (SELECT oid FROM auditor)
     AND x.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')) AS held`;

interface AuditRow {
  loaded: boolean;
  role: string | null;
  auditor: { login: boolean; superuser: boolean; members: string[] } | null;
  relations: [string, string][];
  held: { schema: string; name: string; privilege: string; grantor: string }[];
}

export async function observeAudit(connections: Connections, databases: readonly string[]): Promise<AuditDatabase[]> {
  return Promise.all(
    databases.map(async (database) => {
      const client = await connections.client(database);
      const row = (await client.query<AuditRow>({ name: "charter_observe_audit", text: AUDIT_SQL })).rows[0];
      if (row === undefined) throw new Error("postgres: the audit read returned no row");
      return {
        database,
        loaded: row.loaded,
        role: row.role,
        auditor: row.auditor === null ? undefined : { canLogin: row.auditor.login, superuser: row.auditor.superuser, members: row.auditor.members },
        relations: row.relations,
        held: row.held,
      };
    }),
  );
}

/**
 * Grants or revokes, after checking again, in the same session, that the step's role is still the
 * one pgaudit.role names and (for a grant) still a role nobody can use: the plan may be minutes
 * old, and a payload is only ever trusted for its shape.
 */
export async function applyAuditStep(connections: Connections, step: AuditStep, withWarnings: (client: pg.Client, fn: () => Promise<unknown>) => Promise<string[]>): Promise<string[]> {
  for (const privilege of step.privileges) {
    if (!AUDITABLE.includes(privilege)) throw new Error(`postgres: ${JSON.stringify(privilege)} is not a privilege pgaudit audits`);
  }
  // PUBLIC is a keyword in GRANT: a role named "public" cannot exist, and PUBLIC is never an auditor.
  if (step.role === "public") throw new Error("postgres: PUBLIC is not an auditor role");
  const client = await connections.client(step.database);
  const check = await client.query<{ role: string | null; login: boolean | null; superuser: boolean | null; members: number }>(
    `SELECT NULLIF(current_setting('pgaudit.role', true), '') AS role, r.rolcanlogin AS login, r.rolsuper AS superuser,
       (SELECT count(*)::int FROM pg_auth_members m WHERE m.roleid = r.oid) AS members
     FROM (SELECT 1) one LEFT JOIN pg_roles r ON r.rolname = $1`,
    [step.role],
  );
  const row = check.rows[0];
  if (row?.role !== step.role) throw new Error(`pgaudit.role in database ${step.database} is no longer ${step.role}; plan again`);
  if (step.type === "audit-grant" && (row.login !== false || row.superuser !== false || row.members > 0)) {
    throw new Error(`role ${step.role} can log in, is a superuser or has members; Charter grants it nothing`);
  }
  const statements = step.privileges.map((privilege) => {
    const grant = { database: step.database, kind: "table" as const, path: [step.schema, step.name], privilege };
    return step.type === "audit-grant" ? grantSql(grant, step.role) : revokeSql(grant, step.role);
  });
  return withWarnings(client, () => client.query(statements.join(";\n")));
}
