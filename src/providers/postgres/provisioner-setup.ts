import type { Permission } from "../../manifest/permission.js";
import { grantsFor, type Grant } from "./grants.js";
import { roleNames } from "./role-names.js";
import { grantSql, ident } from "./sql.js";

/**
 * The one-time setup a database administrator runs so that Charter can provision without being
 * a superuser. The provisioner gets exactly one path to each privilege it hands out: a direct
 * grant WITH GRANT OPTION on that object (never ownership, never a group role holding the same
 * privilege), because REVOKE and DROP OWNED only remove grants recorded with the caller as
 * grantor, and a second path can make the recorded grantor another role.
 */
export interface ProvisionerSetupOptions {
  /** Login role Charter connects as; default charter_provisioner. Set its password separately (psql \password). */
  readonly role?: string;
  readonly rolePrefix?: string;
  /** Every permission any agent may be granted on this server: the provisioner may hand out these and nothing else. */
  readonly permissions: readonly Permission[];
}

export interface ProvisionerSetupScript {
  /** Run once, in any database. */
  readonly cluster: readonly string[];
  /** Run in each database. */
  readonly databases: readonly { readonly database: string; readonly statements: readonly string[] }[];
}

export function provisionerSetup(options: ProvisionerSetupOptions): ProvisionerSetupScript {
  const role = options.role ?? "charter_provisioner";
  const names = roleNames(options.rolePrefix);
  const grants = grantsFor(options.permissions);
  const withOption = (g: Grant): string => `${grantSql(g, role)} WITH GRANT OPTION`;
  const cluster = [
    `CREATE ROLE ${ident(role)} LOGIN CREATEROLE`,
    `CREATE ROLE ${ident(names.marker)} NOLOGIN`,
    `GRANT ${ident(names.marker)} TO ${ident(role)} WITH ADMIN OPTION`,
    `GRANT pg_signal_backend TO ${ident(role)}`,
    ...grants.filter((g) => g.kind === "database").map(withOption),
  ];
  const byDatabase = new Map<string, string[]>();
  for (const g of grants) {
    if (g.kind === "database") continue;
    const list = byDatabase.get(g.database) ?? [];
    list.push(withOption(g));
    byDatabase.set(g.database, list);
  }
  return { cluster, databases: [...byDatabase].map(([database, statements]) => ({ database, statements })) };
}

/** The script as psql input: `\connect` switches database between sections. */
export function renderPsqlScript(script: ProvisionerSetupScript): string {
  const lines = script.cluster.map((s) => `${s};`);
  for (const { database, statements } of script.databases) {
    lines.push("", `\\connect ${ident(database)}`, ...statements.map((s) => `${s};`));
  }
  return lines.join("\n") + "\n";
}
