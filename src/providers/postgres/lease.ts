import { randomBytes } from "node:crypto";
import { CharterError } from "../../errors.js";
import type { Connections } from "./connections.js";
import { parseMarker } from "./marker.js";
import { identityRoleName, leaseRoleName, type RoleNames } from "./role-names.js";
import { scramVerifier } from "./scram.js";
import { ident, literal } from "./sql.js";

export interface LeaseRequest {
  /** How long the credential may log in; at most the manifest's credentials.maxLifetime. */
  readonly ttlSeconds: number;
  /** The issue time; defaults to the server's clock, which is what VALID UNTIL is checked against. */
  readonly now?: Date;
  /** The database the returned connection string names; defaults to the provider's own. */
  readonly database?: string;
}

/** A short-lived login. The password exists only in this value: it is never logged nor recorded. */
export interface Lease {
  readonly username: string;
  readonly password: string;
  /** ISO timestamp after which the password no longer logs in. */
  readonly validUntil: string;
  readonly connectionString: string;
}

/** A lease about to be created, as the action trail must remember it: lease names are random, and the role is dropped once expired. */
export interface LeaseIssue {
  readonly instance: string;
  readonly username: string;
  readonly agent: string;
  readonly issuedAt: string;
  readonly validUntil: string;
}

export interface LeaseContext {
  readonly names: RoleNames;
  readonly connections: Connections;
  readonly instance?: string;
  /**
   * Told of every lease before its role exists, so that whatever the login does is attributed
   * to the agent; when it fails, no lease is issued.
   */
  readonly onIssue?: (lease: LeaseIssue) => Promise<void>;
}

/**
 * Creates a LOGIN role that inherits the agent's identity and nothing else. The limits come from
 * the identity's own marker, written from the approved manifest, so a lease cannot outlive the
 * manifest's maxLifetime even when the caller has no manifest at hand. The server receives a
 * SCRAM verifier, never the password.
 */
export async function issueLease(ctx: LeaseContext, agentId: string, request: LeaseRequest): Promise<Lease> {
  const identity = identityRoleName(ctx.names, agentId);
  if (!Number.isInteger(request.ttlSeconds) || request.ttlSeconds < 1) {
    throw new CharterError("OUT_OF_RANGE", `lease ttl must be a whole number of seconds ≥ 1, got ${request.ttlSeconds}`);
  }
  const main = await ctx.connections.client();
  const found = await main.query<{ comment: string | null; managed: boolean; now_ms: number }>(
    `SELECT shobj_description(r.oid, 'pg_authid') AS comment,
       EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles k ON k.oid = m.roleid WHERE m.member = r.oid AND k.rolname = $2) AS managed,
       (extract(epoch FROM now()) * 1000)::float8 AS now_ms
     FROM pg_roles r WHERE r.rolname = $1`,
    [identity, ctx.names.marker],
  );
  const row = found.rows[0];
  const marker = row === undefined || !row.managed ? undefined : parseMarker(row.comment);
  if (row === undefined || marker?.agent !== agentId) {
    throw new CharterError("NOT_FOUND", `agent ${agentId} has no Charter-managed identity on this server`, {
      hint: "Sync provisioning after the agent's manifest is merged, then issue the lease.",
    });
  }
  if (request.ttlSeconds > marker.maxLifetimeSeconds) {
    throw new CharterError("OUT_OF_RANGE", `lease ttl ${request.ttlSeconds} s exceeds agent ${agentId}'s maxLifetime of ${marker.maxLifetimeSeconds} s`, {
      hint: "Ask for a shorter lease, or raise credentials.maxLifetime in the manifest through a reviewed change.",
    });
  }
  const issuedAt = request.now?.getTime() ?? row.now_ms;
  const validUntilMs = issuedAt + request.ttlSeconds * 1000;
  // A caller's clock set ahead must not stretch a lease past maxLifetime by the server's clock.
  if (!Number.isFinite(validUntilMs) || validUntilMs > row.now_ms + marker.maxLifetimeSeconds * 1000) {
    throw new CharterError("OUT_OF_RANGE", `a lease issued at ${new Date(issuedAt).toISOString()} for ${request.ttlSeconds} s would outlive agent ${agentId}'s maxLifetime by the server's clock`, {
      hint: "Issue the lease without `now`, or with the current time.",
    });
  }
  const validUntil = new Date(validUntilMs).toISOString();
  const username = leaseRoleName(ctx.names);
  const password = randomBytes(24).toString("base64url");
  const connLimit = marker.maxConcurrentSessions ?? -1;
  const leaseComment = JSON.stringify({ charter: "charter/lease", agent: agentId, identity });
  await ctx.onIssue?.({ instance: ctx.instance ?? "", username, agent: agentId, issuedAt: new Date(issuedAt).toISOString(), validUntil });
  await main.query(
    [
      "BEGIN",
      `CREATE ROLE ${ident(username)} LOGIN INHERIT PASSWORD ${literal(scramVerifier(password))} VALID UNTIL ${literal(validUntil)} ` +
        `CONNECTION LIMIT ${String(connLimit)} IN ROLE ${ident(identity)}`,
      `COMMENT ON ROLE ${ident(username)} IS ${literal(leaseComment)}`,
      "COMMIT",
    ].join(";\n"),
  ).catch(async (cause: unknown) => {
    await main.query("ROLLBACK").catch(() => undefined);
    throw new CharterError("IO", `cannot create a lease for agent ${agentId}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  });
  return { username, password, validUntil, connectionString: ctx.connections.urlFor(request.database ?? ctx.connections.defaultDatabase, username, password) };
}
