import { PRIVILEGES, type Grant } from "./grants.js";
import type { ObservedDefaultPrivilege, ObservedObject } from "./observed.js";
import { functionName, grantee, ident, revokeSql } from "./sql.js";

/**
 * The statements a person runs to remove what Charter may not remove itself; a finding carries
 * them as `fix`. Each is exact SQL, every name quoted, to be run by a superuser (or the role the
 * statement names) connected to the database the finding names. Names come from the catalogs,
 * where anyone who may create an object chooses them: they are quoted like any other input.
 */

/**
 * REVOKE only removes grants whose recorded grantor is the current role (a superuser acts as the
 * object's owner, and REVOKE … GRANTED BY must name the current role), so the fix acts as the grantor.
 */
export function revokeAsGrantor(g: Grant, role: string, grantor: string): string {
  return `SET ROLE ${ident(grantor)}; ${revokeSql(g, role)}; RESET ROLE;`;
}

export function revokeMembershipSql(role: string, member: string): string {
  return `REVOKE ${ident(role)} FROM ${ident(member)}`;
}

export function revokeMembership(role: string, member: string): string {
  return `${revokeMembershipSql(role, member)};`;
}

/** Attribute keywords as ALTER ROLE writes them; the list is fixed, never input. */
export type RoleAttribute = "LOGIN" | "SUPERUSER" | "CREATEROLE" | "CREATEDB" | "REPLICATION" | "BYPASSRLS";

export function removeAttribute(role: string, attribute: RoleAttribute): string {
  return `ALTER ROLE ${ident(role)} NO${attribute};`;
}

function objectName(o: ObservedObject): string {
  const [first, second] = o.path;
  switch (o.kind) {
    case "database":
      return ident(o.database);
    case "function":
      return functionName(first ?? "", second ?? "", o.args);
    case "table":
    case "sequence":
      return `${ident(first ?? "")}.${ident(second ?? "")}`;
    case "large-object":
      return /^[0-9]{1,10}$/.test(first ?? "") ? (first ?? "") : ident(first ?? "");
    default:
      return ident(first ?? "");
  }
}

/** Ownership goes to whoever runs the fix (a superuser, or a member of both roles). */
export function takeOwnership(o: ObservedObject): string {
  return `ALTER ${o.keyword} ${objectName(o)} OWNER TO CURRENT_USER;`;
}

export function alterDefaultPrivilegesSql(d: Pick<ObservedDefaultPrivilege, "schema" | "objects" | "privilege" | "grantee">, owner?: string): string {
  const forRole = owner === undefined ? "" : ` FOR ROLE ${ident(owner)}`;
  const inSchema = d.schema === undefined ? "" : ` IN SCHEMA ${ident(d.schema)}`;
  if (!PRIVILEGES.includes(d.privilege)) throw new Error(`postgres: refusing unknown privilege ${JSON.stringify(d.privilege)}`);
  return `ALTER DEFAULT PRIVILEGES${forRole}${inSchema} REVOKE ${d.privilege} ON ${d.objects} FROM ${grantee(d.grantee)}`;
}

export function revokeDefault(d: ObservedDefaultPrivilege): string {
  return `${alterDefaultPrivilegesSql(d, d.owner)};`;
}
