import type { Grant } from "./grants.js";
import type { AuditStep } from "./object-audit.js";
import type { ObservedDefaultPrivilege } from "./observed.js";

/**
 * What a planned operation asks apply() to do. The engine hands operations back as it received
 * them, so apply() checks the shape again before acting on one.
 */
export type Step =
  | { readonly type: "create-marker"; readonly role: string }
  | { readonly type: "create-identity"; readonly role: string; readonly marker: string; readonly markerRole: string }
  | {
      readonly type: "update-identity";
      readonly role: string;
      readonly marker: string;
      readonly markerRole: string;
      /** Unexpired leases whose connection limit no longer matches the manifest. */
      readonly leases: readonly string[];
      readonly connLimit: number;
    }
  | { readonly type: "grant"; readonly role: string; readonly grant: Grant }
  | { readonly type: "revoke"; readonly role: string; readonly grant: Grant }
  /** Ends `member`'s membership in `role`: one of the two is always Charter's. */
  | { readonly type: "revoke-membership"; readonly role: string; readonly member: string }
  /** Removes one of the provisioner's own default privileges (the only ones it may alter). */
  | { readonly type: "revoke-default"; readonly entry: ObservedDefaultPrivilege }
  | { readonly type: "drop-lease"; readonly role: string }
  | { readonly type: "revoke-login"; readonly roles: readonly string[] }
  | { readonly type: "terminate-sessions"; readonly roles: readonly string[] }
  /** Lets the provisioner act as the roles: REASSIGN/DROP OWNED need it, CREATEROLE alone does not suffice. */
  | { readonly type: "assume-roles"; readonly roles: readonly string[] }
  | { readonly type: "drop-owned"; readonly database: string; readonly roles: readonly string[] }
  | { readonly type: "drop-role"; readonly role: string }
  /** Object auditing (object-audit.ts): privileges on one classified table for the role pgaudit.role names. */
  | AuditStep;

const TYPES: readonly string[] = [
  "create-marker",
  "create-identity",
  "update-identity",
  "grant",
  "revoke",
  "revoke-membership",
  "revoke-default",
  "drop-lease",
  "revoke-login",
  "terminate-sessions",
  "assume-roles",
  "drop-owned",
  "drop-role",
  "audit-grant",
  "audit-revoke",
];

/** A payload this provider planned, judged by shape; statements still quote every name in it. */
export function isStep(value: unknown): value is Step {
  return typeof value === "object" && value !== null && TYPES.includes(String((value as { type?: unknown }).type));
}

/** The database a step's statements run in; undefined: the connection string's database (roles are cluster-wide). */
export function stepDatabase(step: Step): string | undefined {
  switch (step.type) {
    case "grant":
    case "revoke":
      // Privileges on a database or a parameter are cluster-wide: they are granted from the
      // connection's database, which also reaches a database Charter does not manage.
      return step.grant.kind === "database" || step.grant.kind === "parameter" ? undefined : step.grant.database;
    case "drop-owned":
      return step.database;
    case "revoke-default":
      return step.entry.database;
    case "audit-grant":
    case "audit-revoke":
      return step.database;
    default:
      return undefined;
  }
}

/**
 * The actions a postgres plan is made of. A deprovision is the sequence revoke-login,
 * terminate-sessions, assume-roles, drop-owned (one per database), drop-lease, drop-identity:
 * separate steps, because terminating sessions cannot be rolled back with a transaction and a
 * step that fails (a grant made by someone else blocks DROP ROLE) must not hide the others.
 */
export type PostgresAction =
  | "create-marker"
  | "create-identity"
  | "update-identity"
  | "grant"
  | "revoke"
  | "revoke-membership"
  | "revoke-default"
  | "drop-expired-lease"
  | "revoke-lease"
  | "revoke-login"
  | "terminate-sessions"
  | "assume-roles"
  | "drop-owned"
  | "drop-lease"
  | "drop-identity"
  | "audit-grant"
  | "audit-revoke";
