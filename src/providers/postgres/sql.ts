import pg from "pg";
import { PRIVILEGES, type Grant } from "./grants.js";
import { PUBLIC } from "./observed.js";

/**
 * SQL text for DDL. GRANT, CREATE ROLE and COMMENT cannot take bind parameters, so every
 * identifier and literal goes through pg's escapeIdentifier/escapeLiteral; resource names and
 * agent ids are attacker-controlled, and so are the names of objects and roles read back from the
 * catalogs (anyone with CREATE can name a table). Privilege keywords come from a fixed list,
 * never from input.
 */
export const ident = (name: string): string => pg.escapeIdentifier(name);
export const literal = (value: string): string => pg.escapeLiteral(value);

/** A grantee in GRANT/REVOKE: PUBLIC is a keyword, not a role (PostgreSQL reserves the name "public"). */
export const grantee = (role: string): string => (role === PUBLIC ? "PUBLIC" : ident(role));

function privilegeKeyword(privilege: string): string {
  if (!PRIVILEGES.includes(privilege)) throw new Error(`postgres: refusing unknown privilege ${JSON.stringify(privilege)}`);
  return privilege;
}

const LARGE_OBJECT_OID = /^[0-9]{1,10}$/;

/** `"billing"."refund"("pg_catalog"."int4")`, or the bare name when the argument types are unknown. */
export function functionName(schema: string, name: string, args: Grant["args"]): string {
  const qualified = `${ident(schema)}.${ident(name)}`;
  return args === undefined ? qualified : `${qualified}(${args.map(([s, t]) => `${ident(s)}.${ident(t)}`).join(", ")})`;
}

/** `ON TABLE "s"."t"` and the like; a column privilege is written `SELECT ("c") ON TABLE "s"."t"`. */
function onClause(g: Grant): { privilege: string; on: string } {
  const keyword = privilegeKeyword(g.privilege);
  const [first, second, third] = g.path;
  const qualified = (): string => `${ident(need(first))}.${ident(need(second))}`;
  switch (g.kind) {
    case "database":
      return { privilege: keyword, on: `DATABASE ${ident(g.database)}` };
    case "schema":
      return { privilege: keyword, on: `SCHEMA ${ident(need(first))}` };
    case "table":
      return { privilege: keyword, on: `TABLE ${qualified()}` };
    case "sequence":
      return { privilege: keyword, on: `SEQUENCE ${qualified()}` };
    case "function":
      // Without an argument list PostgreSQL accepts the name only when it is not overloaded;
      // an overloaded name fails the step instead of granting every overload.
      return { privilege: keyword, on: `FUNCTION ${functionName(need(first), need(second), g.args)}` };
    case "column":
      return { privilege: `${keyword} (${ident(need(third))})`, on: `TABLE ${qualified()}` };
    case "language":
      return { privilege: keyword, on: `LANGUAGE ${ident(need(first))}` };
    case "large-object": {
      const oid = need(first);
      if (!LARGE_OBJECT_OID.test(oid)) throw new Error(`postgres: ${JSON.stringify(oid)} is not a large object id`);
      return { privilege: keyword, on: `LARGE OBJECT ${oid}` };
    }
    case "foreign-data-wrapper":
      return { privilege: keyword, on: `FOREIGN DATA WRAPPER ${ident(need(first))}` };
    case "foreign-server":
      return { privilege: keyword, on: `FOREIGN SERVER ${ident(need(first))}` };
    case "parameter":
      // A parameter name is dotted for extensions' settings (plpgsql.extra_warnings); each part is a name.
      return { privilege: keyword, on: `PARAMETER ${need(first).split(".").map(ident).join(".")}` };
  }
}

function need(part: string | undefined): string {
  if (part === undefined) throw new Error("postgres: object path is incomplete");
  return part;
}

export function grantSql(g: Grant, role: string): string {
  const { privilege, on } = onClause(g);
  return `GRANT ${privilege} ON ${on} TO ${grantee(role)}`;
}

export function revokeSql(g: Grant, role: string): string {
  const { privilege, on } = onClause(g);
  return `REVOKE ${privilege} ON ${on} FROM ${grantee(role)}`;
}
