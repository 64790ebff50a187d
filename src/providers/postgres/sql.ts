import pg from "pg";
import { PRIVILEGES, type Grant } from "./grants.js";

/**
 * SQL text for DDL. GRANT, CREATE ROLE and COMMENT cannot take bind parameters, so every
 * identifier and literal goes through pg's escapeIdentifier/escapeLiteral; resource names and
 * agent ids are attacker-controlled. Privilege keywords come from a fixed list, never from input.
 */
export const ident = (name: string): string => pg.escapeIdentifier(name);
export const literal = (value: string): string => pg.escapeLiteral(value);

function privilegeKeyword(privilege: string): string {
  if (!PRIVILEGES.includes(privilege)) throw new Error(`postgres: refusing unknown privilege ${JSON.stringify(privilege)}`);
  return privilege;
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
      return { privilege: keyword, on: `FUNCTION ${qualified()}` };
    case "column":
      return { privilege: `${keyword} (${ident(need(third))})`, on: `TABLE ${qualified()}` };
  }
}

function need(part: string | undefined): string {
  if (part === undefined) throw new Error("postgres: object path is incomplete");
  return part;
}

export function grantSql(g: Grant, role: string): string {
  const { privilege, on } = onClause(g);
  return `GRANT ${privilege} ON ${on} TO ${ident(role)}`;
}

export function revokeSql(g: Grant, role: string): string {
  const { privilege, on } = onClause(g);
  return `REVOKE ${privilege} ON ${on} FROM ${ident(role)}`;
}
