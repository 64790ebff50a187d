import type { Permission } from "../../manifest/permission.js";

/**
 * One privilege on one database object, as Charter grants it and as the catalogs report it.
 * `path` names the object inside `database`: [] for the database itself, [schema] for a schema,
 * [schema, name] for a table, sequence or function, [schema, table, column] for a column.
 */
export type GrantKind = "database" | "schema" | "table" | "sequence" | "function" | "column";

export interface Grant {
  readonly database: string;
  readonly kind: GrantKind;
  readonly path: readonly string[];
  /** Upper-case SQL privilege keyword, always one of PRIVILEGES. */
  readonly privilege: string;
}

/** Every privilege keyword Charter will write into SQL; anything else is refused, never interpolated. */
export const PRIVILEGES: readonly string[] = [
  "SELECT",
  "INSERT",
  "UPDATE",
  "DELETE",
  "TRUNCATE",
  "REFERENCES",
  "TRIGGER",
  "USAGE",
  "EXECUTE",
  "CONNECT",
  "CREATE",
  "TEMPORARY",
];

const TABLE_ACTIONS = ["select", "insert", "update", "delete", "truncate", "references", "trigger"];

/** Identity of a grant for set comparison. NUL cannot occur in a PostgreSQL identifier, so it separates unambiguously. */
export function grantKey(g: Grant): string {
  return `${g.database}\0${g.kind}\0${g.path.join("\0")}\0${g.privilege}`;
}

/** Human-readable, secret-free: what an operation or finding names as its target. */
export function describeGrant(g: Grant): string {
  const object = [g.database, ...g.path].join(".");
  return `${g.privilege} on ${g.kind} ${object}`;
}

/**
 * The grants a set of permissions needs. A table privilege or function EXECUTE is useless
 * without USAGE on its schema (PostgreSQL looks the name up first) and CONNECT on its database,
 * so those are granted with it: neither reaches any data by itself, and leaving them to the
 * manifest author would only produce identities that cannot use what was approved. CONNECT is
 * granted explicitly because hardened servers revoke it from PUBLIC.
 */
export function grantsFor(permissions: readonly Permission[]): Grant[] {
  const out = new Map<string, Grant>();
  const add = (g: Grant): void => {
    out.set(grantKey(g), g);
  };
  for (const p of permissions) {
    const parts = p.resource.split(".");
    const [database, schema, name] = parts;
    if (database === undefined || schema === undefined) continue;
    add({ database, kind: "database", path: [], privilege: "CONNECT" });
    add({ database, kind: "schema", path: [schema], privilege: "USAGE" });
    if (p.action === "usage" || name === undefined) continue;
    if (p.action === "execute") add({ database, kind: "function", path: [schema, name], privilege: "EXECUTE" });
    else if (TABLE_ACTIONS.includes(p.action)) add({ database, kind: "table", path: [schema, name], privilege: p.action.toUpperCase() });
  }
  return [...out.values()];
}

/** The shape problem of a postgres permission this provider cannot turn into a grant, if any. */
export function permissionProblem(p: Permission): string | undefined {
  const parts = p.resource.split(".");
  const expected = p.action === "usage" ? 2 : 3;
  if (parts.length !== expected) return `"${p.resource}" has ${parts.length} parts, expected ${expected}`;
  if (p.action !== "usage" && p.action !== "execute" && !TABLE_ACTIONS.includes(p.action)) return `unknown postgres action "${p.action}"`;
  return undefined;
}
