import type { DriftFinding } from "../../schema-types/evidence-record.generated.js";
import type { PlannedOperation } from "../../provision/provider.js";
import { ResourceCatalog, type CatalogEntry } from "../../trail/resource-catalog.js";
import type { RoleNames } from "./role-names.js";
import { ident, literal } from "./sql.js";
import type { Step } from "./steps.js";

/**
 * pgaudit object auditing of the tables the resource catalog classifies. pgaudit writes an OBJECT
 * audit line for a statement on a relation when the role named by `pgaudit.role` holds the
 * privilege the statement uses on it (directly or inherited), whoever runs the statement. So
 * setting it up is granting: the auditor role gets the configured privileges on each classified
 * table, and loses the ones Charter granted on tables the catalog no longer classifies.
 *
 * The auditor role is the database administrator's (pgaudit.role can only be set by a
 * superuser); Charter never creates it and grants to it only while it is a role nobody can use:
 * NOLOGIN, not a superuser, without members. Otherwise every grant would hand the classified
 * data to whoever logs in as it or is a member of it — the opposite of auditing.
 */

/** What pgaudit's object auditing can log. */
export const AUDITABLE: readonly string[] = ["SELECT", "INSERT", "UPDATE", "DELETE"];

export interface AuditSettings {
  /** The catalog entries for postgres resources on this instance (or on every instance). */
  readonly entries: readonly CatalogEntry[];
  /** Upper-case privileges, a subset of AUDITABLE. */
  readonly privileges: readonly string[];
}

export interface AuditorRole {
  readonly canLogin: boolean;
  readonly superuser: boolean;
  readonly members: readonly string[];
}

/** A table privilege the auditor role holds, with who granted it. */
export interface AuditorGrant {
  readonly schema: string;
  readonly name: string;
  readonly privilege: string;
  readonly grantor: string;
}

/** One database as object auditing sees it. */
export interface AuditDatabase {
  readonly database: string;
  /** pgaudit is in shared_preload_libraries (its settings exist). */
  readonly loaded: boolean;
  /** pgaudit.role as a session in this database sees it (ALTER SYSTEM or ALTER DATABASE); null: unset. */
  readonly role: string | null;
  /** The role pgaudit.role names; undefined when no such role exists. */
  readonly auditor: AuditorRole | undefined;
  /** Every user relation (tables, views, materialized views, foreign tables): [schema, name]. */
  readonly relations: readonly (readonly [string, string])[];
  /** Table privileges the auditor role holds. */
  readonly held: readonly AuditorGrant[];
}

export type AuditStep =
  | { readonly type: "audit-grant"; readonly database: string; readonly role: string; readonly schema: string; readonly name: string; readonly privileges: readonly string[] }
  | { readonly type: "audit-revoke"; readonly database: string; readonly role: string; readonly schema: string; readonly name: string; readonly privileges: readonly string[] };

export interface AuditDiffContext {
  readonly instance: string;
  readonly names: RoleNames;
  readonly provisioner: string;
}

const PROVIDER = "postgres";

/** Pure: the grants and revokes that make the auditor role audit exactly the classified tables, and what stands in the way. */
export function diffObjectAudit(ctx: AuditDiffContext, settings: AuditSettings, databases: readonly AuditDatabase[]): { operations: PlannedOperation[]; findings: DriftFinding[] } {
  const operations: PlannedOperation[] = [];
  const findings: DriftFinding[] = [];
  const catalog = new ResourceCatalog(settings.entries);
  const find = (kind: string, detail: string, fix?: string): void => {
    findings.push({ provider: PROVIDER, instance: ctx.instance, agent: "*", kind, detail, ...(fix === undefined ? {} : { fix }) });
  };
  const op = (step: AuditStep): void => {
    const verb = step.type === "audit-grant" ? "to" : "from";
    operations.push({
      provider: PROVIDER,
      instance: ctx.instance,
      agent: "*",
      action: step.type,
      target: `${step.privileges.join(", ")} on table ${step.database}.${step.schema}.${step.name} ${verb} ${step.role}`,
      payload: step satisfies Step,
    });
  };
  const suggested = `${ctx.names.prefix}auditor`;

  for (const db of databases) {
    const classified = db.relations.filter(([schema, name]) => catalog.classesOf("postgres", `${db.database}.${schema}.${name}`, ctx.instance).length > 0);
    const ours = db.held.filter((g) => g.grantor === ctx.provisioner);
    if (classified.length === 0 && ours.length === 0) continue;
    const listed = `${classified.length} table${classified.length === 1 ? "" : "s"} the resource catalog classifies in database ${db.database} (${preview(classified.map(([s, n]) => `${s}.${n}`))})`;
    if (!db.loaded) {
      find("audit-unavailable", `pgaudit is not loaded on instance ${ctx.instance}: the ${listed} cannot be object-audited`, "Add pgaudit to shared_preload_libraries in postgresql.conf and restart the server (docs/providers.md).");
      continue;
    }
    if (db.role === null) {
      find(
        "audit-role-unset",
        `pgaudit.role is not set in database ${db.database}: Charter cannot set up object auditing for the ${listed}`,
        `CREATE ROLE ${ident(suggested)} NOLOGIN;\nALTER DATABASE ${ident(db.database)} SET pgaudit.role = ${literal(suggested)};`,
      );
      continue;
    }
    const unsafe = unsafeReason(ctx, db.role, db.auditor);
    if (db.auditor === undefined) {
      find("audit-role-missing", `pgaudit.role names ${db.role} in database ${db.database}, but no such role exists: the ${listed} are not object-audited`, `CREATE ROLE ${ident(db.role)} NOLOGIN;`);
      continue;
    }
    if (unsafe !== undefined) {
      // Whatever Charter granted it is now readable by whoever can use the role: taken back.
      find("audit-role-unsafe", `pgaudit.role names ${db.role} in database ${db.database}, which ${unsafe.reason}; Charter grants it nothing, and revokes what it granted, so the ${listed} are not object-audited`, unsafe.fix);
      for (const [table, privileges] of byTable(ours)) op({ type: "audit-revoke", database: db.database, role: db.role, schema: table[0], name: table[1], privileges });
      continue;
    }
    const held = new Set(db.held.map((g) => key(g.schema, g.name, g.privilege)));
    const wanted = new Set<string>();
    for (const [schema, name] of classified) {
      const missing: string[] = [];
      for (const privilege of settings.privileges) {
        wanted.add(key(schema, name, privilege));
        if (!held.has(key(schema, name, privilege))) missing.push(privilege);
      }
      if (missing.length > 0) op({ type: "audit-grant", database: db.database, role: db.role, schema, name, privileges: missing });
    }
    const extra = ours.filter((g) => !wanted.has(key(g.schema, g.name, g.privilege)));
    for (const [table, privileges] of byTable(extra)) op({ type: "audit-revoke", database: db.database, role: db.role, schema: table[0], name: table[1], privileges });
  }
  return { operations, findings };
}

function unsafeReason(ctx: AuditDiffContext, role: string, auditor: AuditorRole | undefined): { reason: string; fix?: string } | undefined {
  if (role === ctx.provisioner || role === ctx.names.marker || role.startsWith(ctx.names.identityPrefix) || role.startsWith(ctx.names.leasePrefix)) {
    return { reason: "is one of Charter's own roles (the provisioner, the marker, an identity or a lease)" };
  }
  if (auditor === undefined) return undefined;
  if (auditor.superuser) return { reason: "is a superuser", fix: `ALTER ROLE ${ident(role)} NOSUPERUSER;` };
  if (auditor.canLogin) return { reason: "can log in, so its grants would let it read the data it audits", fix: `ALTER ROLE ${ident(role)} NOLOGIN;` };
  if (auditor.members.length > 0) {
    return {
      reason: `has members (${preview(auditor.members)}), who would inherit every privilege it is granted`,
      fix: auditor.members.map((m) => `REVOKE ${ident(role)} FROM ${ident(m)};`).join("\n"),
    };
  }
  return undefined;
}

function key(schema: string, name: string, privilege: string): string {
  // NUL cannot occur in a PostgreSQL identifier.
  return `${schema}\0${name}\0${privilege}`;
}

function byTable(grants: readonly AuditorGrant[]): [readonly [string, string], string[]][] {
  const out = new Map<string, [readonly [string, string], string[]]>();
  for (const g of grants) {
    const k = `${g.schema}\0${g.name}`;
    const entry = out.get(k) ?? [[g.schema, g.name] as const, []];
    entry[1].push(g.privilege);
    out.set(k, entry);
  }
  // In AUDITABLE's order, whatever order the catalog lists them in: a plan reads the same every time.
  return [...out.values()].map(([table, privileges]) => [table, AUDITABLE.filter((p) => privileges.includes(p))]);
}

function preview(names: readonly string[]): string {
  return names.length <= 3 ? names.join(", ") : `${names.slice(0, 3).join(", ")} and ${names.length - 3} more`;
}
