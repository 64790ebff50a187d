import { randomBytes } from "node:crypto";
import { CharterError } from "../../errors.js";
import { readIfPresent, writeAtomically } from "./files.js";
import { md5Crypt } from "./md5-crypt.js";
import { leaseUserName } from "./names.js";
import { configPaths } from "./render.js";
import { encodeState, parseState } from "./state.js";

export interface SquidLeaseRequest {
  /** How long the credentials may be used; at most the manifest's credentials.maxLifetime. */
  readonly ttlSeconds: number;
}

/** Proxy credentials for one agent. The password exists only in this value: the password file holds its crypt hash. */
export interface SquidLease {
  readonly username: string;
  readonly password: string;
  readonly lease: string;
  /** ISO timestamp; the next sync (or drift run) after it removes the user. */
  readonly validUntil: string;
}

/**
 * Adds a proxy user for a fresh lease. basic_ncsa_auth re-reads the password file when it
 * changes, so the lease works at once, without a reload. The limit comes from the agent's
 * marker, written from the approved manifest, so a lease cannot outlive maxLifetime.
 */
export async function issueLease(instance: string, directory: string, agentId: string, request: SquidLeaseRequest, now: () => number): Promise<SquidLease> {
  if (!Number.isInteger(request.ttlSeconds) || request.ttlSeconds < 1) {
    throw new CharterError("OUT_OF_RANGE", `lease ttl must be a whole number of seconds ≥ 1, got ${request.ttlSeconds}`);
  }
  const paths = configPaths(directory);
  const state = parseState(await readIfPresent(paths.state));
  const marker = state.identities.get(agentId);
  if (marker === undefined) {
    throw new CharterError("NOT_FOUND", `agent ${agentId} has no Charter-managed proxy identity on squid@${instance}`, {
      hint: "Sync provisioning after the agent's manifest is merged, then issue the lease.",
    });
  }
  if (request.ttlSeconds > marker.maxLifetimeSeconds) {
    throw new CharterError("OUT_OF_RANGE", `lease ttl ${request.ttlSeconds} s exceeds agent ${agentId}'s maxLifetime of ${marker.maxLifetimeSeconds} s`, {
      hint: "Ask for a shorter lease, or raise credentials.maxLifetime in the manifest through a reviewed change.",
    });
  }
  const lease = randomBytes(12).toString("hex");
  const password = randomBytes(24).toString("base64url");
  const username = leaseUserName(agentId, lease);
  const validUntil = now() + request.ttlSeconds * 1000;
  // The record first: a user in the password file without its record would be revoked as unknown.
  await writeAtomically(paths.state, encodeState({ ...state, leases: new Map([...state.leases, [lease, { lease, agent: agentId, validUntil }]]) }));
  const passwords = (await readIfPresent(paths.passwords)) ?? "";
  await writeAtomically(paths.passwords, `${passwords}${passwords === "" || passwords.endsWith("\n") ? "" : "\n"}${username}:${md5Crypt(password)}\n`, { newMtime: true });
  return { username, password, lease, validUntil: new Date(validUntil).toISOString() };
}
