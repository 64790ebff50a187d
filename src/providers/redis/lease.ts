import { createHash, randomBytes } from "node:crypto";
import { CharterError } from "../../errors.js";
import type { RedisConnection } from "./connection.js";
import { encodeLease, parseMarker } from "./metadata.js";
import { agentUserName, METADATA } from "./names.js";

export interface RedisLeaseRequest {
  /** How long the password may log in; at most the manifest's credentials.maxLifetime. */
  readonly ttlSeconds: number;
}

/** A short-lived password of the agent's ACL user. The password exists only in this value: it is never logged nor recorded. */
export interface RedisLease {
  readonly username: string;
  readonly password: string;
  /** Names the lease in plans and records. */
  readonly lease: string;
  /** ISO timestamp by the server's clock; the next sync (or drift run) after it removes the password. */
  readonly validUntil: string;
}

/**
 * Adds a fresh password to the agent's user. Redis has no password expiry, so the lease record
 * beside it says when it ends and every sync removes the passwords whose time has come; the
 * limit comes from the user's own marker, written from the approved manifest, so a lease cannot
 * outlive maxLifetime even when the caller has no manifest at hand. The server receives the
 * password's SHA-256, never the password.
 */
export async function issueLease(connection: RedisConnection, instance: string, agentId: string, request: RedisLeaseRequest): Promise<RedisLease> {
  const username = agentUserName(agentId);
  if (!Number.isInteger(request.ttlSeconds) || request.ttlSeconds < 1) {
    throw new CharterError("OUT_OF_RANGE", `lease ttl must be a whole number of seconds ≥ 1, got ${request.ttlSeconds}`);
  }
  const marker = parseMarker(((await connection.call("HGET", METADATA.identities, username)) as string | null) ?? undefined);
  const user = await connection.call("ACL", "GETUSER", username);
  if (marker?.agent !== agentId || user === null) {
    throw new CharterError("NOT_FOUND", `agent ${agentId} has no Charter-managed ACL user on redis@${instance}`, {
      hint: "Sync provisioning after the agent's manifest is merged, then issue the lease.",
    });
  }
  if (request.ttlSeconds > marker.maxLifetimeSeconds) {
    throw new CharterError("OUT_OF_RANGE", `lease ttl ${request.ttlSeconds} s exceeds agent ${agentId}'s maxLifetime of ${marker.maxLifetimeSeconds} s`, {
      hint: "Ask for a shorter lease, or raise credentials.maxLifetime in the manifest through a reviewed change.",
    });
  }
  const [seconds, micros] = ((await connection.call("TIME")) as string[]).map(Number);
  const now = (seconds ?? 0) * 1000 + Math.floor((micros ?? 0) / 1000);
  const validUntil = now + request.ttlSeconds * 1000;
  const password = randomBytes(24).toString("base64url");
  const hash = createHash("sha256").update(password).digest("hex");
  const lease = randomBytes(12).toString("hex");
  // The record first: a password on the user without its record would be revoked as unknown.
  await connection.call("HSET", METADATA.leases, hash, encodeLease({ lease, agent: agentId, validUntil }));
  await connection.call("ACL", "SETUSER", username, `#${hash}`);
  return { username, password, lease, validUntil: new Date(validUntil).toISOString() };
}
