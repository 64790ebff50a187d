import type pg from "pg";
import type { ProvisioningOperation } from "../../schema-types/evidence-record.generated.js";
import type { PlannedOperation } from "../../provision/provider.js";
import type { Connections } from "./connections.js";
import type { RoleNames } from "./role-names.js";
import { alterDefaultPrivilegesSql, revokeMembershipSql } from "./fixes.js";
import { applyAuditStep } from "./object-audit-sql.js";
import { PUBLIC } from "./observed.js";
import { grantSql, ident, literal, revokeSql } from "./sql.js";
import { isStep, stepDatabase, type Step } from "./steps.js";

export interface ApplyContext {
  readonly names: RoleNames;
  readonly connections: Connections;
}

/** How long pg_terminate_backend waits for a session to end before reporting that it did not. */
const TERMINATE_WAIT_MS = 5000;

/** Steps that are plain transactional DDL: several may share one transaction and one round trip. */
const BATCHABLE = new Set<Step["type"]>(["create-marker", "create-identity", "update-identity", "grant", "revoke"]);

class StepFailure extends Error {}

/**
 * Performs a plan. Consecutive transactional steps of one agent in one database go to the
 * server as a single transaction in one round trip; if that transaction fails or raises a
 * WARNING (PostgreSQL only warns when a GRANT or REVOKE does nothing for lack of a grant option),
 * it is rolled back or re-run step by step, so that every step gets its own status and error.
 * Re-running is safe because every step is idempotent. Deprovision steps always run alone.
 */
export async function applyPostgres(ctx: ApplyContext, operations: readonly PlannedOperation[]): Promise<ProvisioningOperation[]> {
  const results: ProvisioningOperation[] = [];
  const existing = await rolesPresent(ctx, operations);
  let i = 0;
  while (i < operations.length) {
    const first = operations[i] as PlannedOperation;
    const step = first.payload;
    if (!isStep(step)) {
      results.push(done(first, "failed", "not a postgres provider step"));
      i++;
      continue;
    }
    const group: { op: PlannedOperation; step: Step }[] = [{ op: first, step }];
    if (BATCHABLE.has(step.type)) {
      while (i + group.length < operations.length) {
        const next = operations[i + group.length] as PlannedOperation;
        const nextStep = next.payload;
        if (!isStep(nextStep) || !BATCHABLE.has(nextStep.type) || next.agent !== first.agent || databaseOf(ctx, nextStep) !== databaseOf(ctx, step)) break;
        group.push({ op: next, step: nextStep });
      }
    }
    i += group.length;
    results.push(...(await runGroup(ctx, group, existing)));
  }
  return results;
}

/** Where a step runs: roles are cluster-wide, so role steps share a batch with grants in the default database. */
function databaseOf(ctx: ApplyContext, step: Step): string {
  return stepDatabase(step) ?? ctx.connections.defaultDatabase;
}

function done(op: PlannedOperation, status: "applied" | "failed" | "skipped", error?: string): ProvisioningOperation {
  const { payload: _payload, ...record } = op;
  return { ...record, status, ...(error === undefined ? {} : { error }) };
}

async function runGroup(ctx: ApplyContext, group: readonly { op: PlannedOperation; step: Step }[], existing: Map<string, boolean>): Promise<ProvisioningOperation[]> {
  const [only] = group;
  if (group.length === 1 && only !== undefined) return [await runOne(ctx, only.op, only.step, existing)];
  const head = group[0]?.step;
  const database = head === undefined ? undefined : databaseOf(ctx, head);
  try {
    const statements = group.flatMap(({ step }) => transactional(ctx, step, existing));
    const client = await ctx.connections.client(database);
    const warnings = await withWarnings(client, () => client.query(["BEGIN", ...statements, "COMMIT"].join(";\n")));
    // Committed, warnings or not: the roles exist now, and the step-by-step re-run must know it.
    for (const { step } of group) noteCreated(step, existing);
    if (warnings.length === 0) return group.map(({ op }) => done(op, "applied"));
  } catch {
    await rollback(ctx, database);
  }
  const results: ProvisioningOperation[] = [];
  for (const { op, step } of group) results.push(await runOne(ctx, op, step, existing));
  return results;
}

async function runOne(ctx: ApplyContext, op: PlannedOperation, step: Step, existing: Map<string, boolean>): Promise<ProvisioningOperation> {
  const database = stepDatabase(step);
  try {
    if (BATCHABLE.has(step.type)) {
      const client = await ctx.connections.client(database);
      const statements = transactional(ctx, step, existing);
      const warnings = await withWarnings(client, () => client.query(["BEGIN", ...statements, "COMMIT"].join(";\n")));
      noteCreated(step, existing);
      return warnings.length > 0 ? done(op, "failed", warningText(warnings)) : done(op, "applied");
    }
    const warnings = await nonTransactional(ctx, step);
    return warnings.length > 0 ? done(op, "failed", warningText(warnings)) : done(op, "applied");
  } catch (error) {
    if (BATCHABLE.has(step.type)) await rollback(ctx, database);
    return done(op, "failed", error instanceof Error ? error.message : String(error));
  }
}

function warningText(warnings: readonly string[]): string {
  return warnings.length === 1 ? (warnings[0] ?? "") : `${warnings[0] ?? ""} (and ${warnings.length - 1} more warnings)`;
}

async function rollback(ctx: ApplyContext, database: string | undefined): Promise<void> {
  try {
    await (await ctx.connections.client(database)).query("ROLLBACK");
  } catch {
    // The session is gone or was not in a transaction; either way nothing is left open.
  }
}

/** Runs `fn`, collecting the WARNINGs the server sends meanwhile: a GRANT that grants nothing only warns. */
async function withWarnings(client: pg.Client, fn: () => Promise<unknown>): Promise<string[]> {
  const warnings: string[] = [];
  const listener = (notice: { severity?: string | undefined; message?: string | undefined }): void => {
    if (notice.severity === "WARNING") warnings.push(notice.message ?? "warning");
  };
  client.on("notice", listener);
  try {
    await fn();
  } finally {
    client.off("notice", listener);
  }
  return warnings;
}

/** Role name → whether it is a member of the marker role, for every role a plan creates or drops. */
async function rolesPresent(ctx: ApplyContext, operations: readonly PlannedOperation[]): Promise<Map<string, boolean>> {
  const wanted = new Set<string>();
  for (const { payload } of operations) {
    if (!isStep(payload)) continue;
    if ("role" in payload) wanted.add(payload.role);
    if ("roles" in payload) for (const r of payload.roles) wanted.add(r);
  }
  const present = new Map<string, boolean>();
  if (wanted.size === 0) return present;
  const client = await ctx.connections.client();
  const rows = await client.query<{ rolname: string; managed: boolean }>(
    `SELECT r.rolname, EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles k ON k.oid = m.roleid
       WHERE m.member = r.oid AND k.rolname = $2) AS managed
     FROM pg_roles r WHERE r.rolname = ANY($1)`,
    [[...wanted], ctx.names.marker],
  );
  for (const row of rows.rows) present.set(row.rolname, row.managed);
  return present;
}

function noteCreated(step: Step, existing: Map<string, boolean>): void {
  if (step.type === "create-identity") existing.set(step.role, true);
  if (step.type === "create-marker") existing.set(step.role, false);
}

function transactional(ctx: ApplyContext, step: Step, existing: Map<string, boolean>): string[] {
  switch (step.type) {
    case "create-marker":
      return existing.has(step.role) ? [] : [`CREATE ROLE ${ident(step.role)} NOLOGIN`];
    case "create-identity": {
      requirePrefix(step.role, ctx.names.identityPrefix);
      const comment = `COMMENT ON ROLE ${ident(step.role)} IS ${literal(step.marker)}`;
      const state = existing.get(step.role);
      // A role that appeared since the plan without the marker is someone else's: never adopt it.
      if (state === false) throw new StepFailure(`role ${step.role} already exists and is not managed by Charter`);
      if (state === true) return [`ALTER ROLE ${ident(step.role)} NOLOGIN`, comment];
      return [`CREATE ROLE ${ident(step.role)} NOLOGIN IN ROLE ${ident(step.markerRole)}`, comment];
    }
    case "update-identity":
      requirePrefix(step.role, ctx.names.identityPrefix);
      if (!Number.isInteger(step.connLimit)) throw new StepFailure("connection limit is not an integer");
      return [
        // CREATEDB and CREATEROLE are never approved; a role with CREATEROLE may take them away.
        `ALTER ROLE ${ident(step.role)} NOLOGIN NOCREATEDB NOCREATEROLE`,
        `COMMENT ON ROLE ${ident(step.role)} IS ${literal(step.marker)}`,
        ...step.leases.map((lease) => {
          requirePrefix(lease, ctx.names.leasePrefix);
          return `ALTER ROLE ${ident(lease)} CONNECTION LIMIT ${String(step.connLimit)}`;
        }),
      ];
    case "grant":
      requireCharterRole(ctx, step.role);
      return [grantSql(step.grant, step.role)];
    case "revoke":
      requireRevocable(ctx, step.role);
      return [revokeSql(step.grant, step.role)];
    default:
      throw new StepFailure(`${step.type} is not a transactional step`);
  }
}

/** Deprovision steps: each its own statement(s), in autocommit, so that a session killed stays killed. */
async function nonTransactional(ctx: ApplyContext, step: Step): Promise<string[]> {
  const main = await ctx.connections.client();
  switch (step.type) {
    case "drop-lease": {
      requirePrefix(step.role, ctx.names.leasePrefix);
      const roles = await stillPresent(main, [step.role]);
      if (roles.length === 0) return [];
      return withWarnings(main, async () => {
        await main.query(`ALTER ROLE ${ident(step.role)} NOLOGIN`);
        await terminate(main, roles);
        await main.query(`DROP ROLE IF EXISTS ${ident(step.role)}`);
      });
    }
    case "revoke-login": {
      const roles = await stillPresent(main, step.roles.map((r) => requireCharterRole(ctx, r)));
      if (roles.length === 0) return [];
      return withWarnings(main, () => main.query(roles.map((r) => `ALTER ROLE ${ident(r)} NOLOGIN`).join(";\n")));
    }
    case "terminate-sessions":
      return withWarnings(main, () => terminate(main, step.roles.map((r) => requireCharterRole(ctx, r))));
    case "assume-roles": {
      const roles = await stillPresent(main, step.roles.map((r) => requireCharterRole(ctx, r)));
      if (roles.length === 0) return [];
      return withWarnings(main, () => main.query(`GRANT ${roles.map(ident).join(", ")} TO CURRENT_USER`));
    }
    case "drop-owned": {
      const roles = await stillPresent(main, step.roles.map((r) => requireCharterRole(ctx, r)));
      if (roles.length === 0) return [];
      const client = await ctx.connections.client(step.database);
      const list = roles.map(ident).join(", ");
      return withWarnings(client, () => client.query(`REASSIGN OWNED BY ${list} TO CURRENT_USER;\nDROP OWNED BY ${list}`));
    }
    case "audit-grant":
    case "audit-revoke":
      return applyAuditStep(ctx.connections, step, withWarnings);
    case "drop-role":
      requireCharterRole(ctx, step.role);
      return withWarnings(main, () => main.query(`DROP ROLE IF EXISTS ${ident(step.role)}`));
    case "revoke-membership": {
      // Either end must be Charter's: the member (an identity, a lease, the marker) or the role (an identity or a lease).
      const charters = (role: string): boolean => role.startsWith(ctx.names.identityPrefix) || role.startsWith(ctx.names.leasePrefix);
      if (!charters(step.member) && step.member !== ctx.names.marker && !charters(step.role)) {
        throw new StepFailure(`refusing to revoke ${JSON.stringify(step.role)} from ${JSON.stringify(step.member)}: neither is a Charter role`);
      }
      // REVOKE of a membership that is already gone only warns: check first, so that the step stays idempotent.
      const held = await main.query(
        "SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = $1 AND u.rolname = $2",
        [step.role, step.member],
      );
      if (held.rows.length === 0) return [];
      return withWarnings(main, () => main.query(revokeMembershipSql(step.role, step.member)));
    }
    case "revoke-default": {
      requireRevocable(ctx, step.entry.grantee);
      const client = await ctx.connections.client(step.entry.database);
      // Without FOR ROLE the statement can only ever alter the provisioner's own default privileges.
      return withWarnings(client, () => client.query(alterDefaultPrivilegesSql(step.entry)));
    }
    default:
      throw new StepFailure(`${step.type} is not a deprovision step`);
  }
}

async function stillPresent(client: pg.Client, roles: readonly string[]): Promise<string[]> {
  const rows = await client.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname = ANY($1)", [[...roles]]);
  return rows.rows.map((r) => r.rolname);
}

async function terminate(client: pg.Client, roles: readonly string[]): Promise<void> {
  const rows = await client.query<{ ended: boolean }>(
    "SELECT pg_terminate_backend(pid, $2) AS ended FROM pg_stat_activity WHERE usename = ANY($1) AND pid <> pg_backend_pid()",
    [[...roles], TERMINATE_WAIT_MS],
  );
  const left = rows.rows.filter((r) => !r.ended).length;
  if (left > 0) throw new StepFailure(`${left} session(s) did not end within ${TERMINATE_WAIT_MS} ms`);
}

/** Defence in depth: whatever the payload says, apply only ever alters roles named like Charter's. */
function requireCharterRole(ctx: ApplyContext, role: string): string {
  if (!role.startsWith(ctx.names.identityPrefix) && !role.startsWith(ctx.names.leasePrefix)) {
    throw new StepFailure(`refusing to alter ${JSON.stringify(role)}: not a Charter identity or lease role`);
  }
  return role;
}

/** What a revoke may name as grantee: Charter's roles, the marker, and PUBLIC (only grants the provisioner made are ever revoked). */
function requireRevocable(ctx: ApplyContext, role: string): string {
  if (role === PUBLIC || role === ctx.names.marker) return role;
  return requireCharterRole(ctx, role);
}

function requirePrefix(role: string, prefix: string): void {
  if (!role.startsWith(prefix)) throw new StepFailure(`refusing to alter ${JSON.stringify(role)}: expected a name starting with ${prefix}`);
}
