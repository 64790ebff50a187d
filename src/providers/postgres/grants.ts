import type { Permission } from "../../manifest/permission.js";

/**
 * One privilege on one database object, as Charter grants it and as the catalogs report it.
 * `path` names the object inside `database`: [] for the database itself, [schema] for a schema,
 * [schema, name] for a table, sequence or function, [schema, table, column] for a column,
 * [name] for a language, foreign-data wrapper or foreign server, [oid] for a large object and
 * [name] for a configuration parameter (cluster-wide: `database` is "").
 */
export type GrantKind =
  | "database"
  | "schema"
  | "table"
  | "sequence"
  | "function"
  | "column"
  | "language"
  | "large-object"
  | "foreign-data-wrapper"
  | "foreign-server"
  | "parameter";

/** One argument type of a function: its schema, its name, and how PostgreSQL prints it. */
export type ArgumentType = readonly [schema: string, name: string, display: string];

export interface Grant {
  readonly database: string;
  readonly kind: GrantKind;
  readonly path: readonly string[];
  /** Upper-case SQL privilege keyword, always one of PRIVILEGES. */
  readonly privilege: string;
  /**
   * A function's argument types, when observed. A grant Charter makes names the function without
   * them (and fails on an overloaded name); a revoke of an observed grant names the exact overload.
   */
  readonly args?: readonly ArgumentType[];
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
  "SET",
  "ALTER SYSTEM",
];

const TABLE_ACTIONS = ["select", "insert", "update", "delete", "truncate", "references", "trigger"];

/**
 * Identity of a grant for set comparison. NUL cannot occur in a PostgreSQL identifier, so it
 * separates unambiguously. A sequence compares as a table: Charter grants a privilege on one with
 * `ON TABLE` (which PostgreSQL accepts for sequences), the catalogs report it as a sequence.
 * Argument types do not count: an approved EXECUTE covers the function's name.
 */
export function grantKey(g: Grant): string {
  const kind = g.kind === "sequence" ? "table" : g.kind;
  return `${g.database}\0${kind}\0${g.path.join("\0")}\0${g.privilege}`;
}

/** Human-readable, secret-free: what an operation or finding names as its target. */
export function describeGrant(g: Grant): string {
  return `${g.privilege} on ${describeObject(g)}`;
}

/** "table crm.public.customers", "function crm.billing.refund(integer)", "parameter work_mem". */
function describeObject(o: Pick<Grant, "database" | "kind" | "path" | "args">): string {
  const word = o.kind === "foreign-data-wrapper" ? "foreign-data wrapper" : o.kind.replaceAll("-", " ");
  return `${word} ${objectLocation(o)}`;
}

/** Where an object is, without its kind: "crm.public.customers", "16402 in database crm". */
export function objectLocation(o: Pick<Grant, "database" | "kind" | "path" | "args">): string {
  const inDatabase = [o.database, ...o.path].join(".");
  switch (o.kind) {
    case "function":
      return `${inDatabase}${o.args === undefined ? "" : `(${o.args.map((a) => a[2]).join(", ")})`}`;
    case "large-object":
      return `${o.path.join("")} in database ${o.database}`;
    case "parameter":
      return o.path.join(".");
    default:
      return inDatabase;
  }
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
