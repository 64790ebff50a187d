import { randomUUID } from "node:crypto";
import { CharterError } from "../../errors.js";
import { type AgentTokenClaims, signToken } from "./agent-token.js";
import { type LocalRegistry, MANAGED_BY, type StoredIdentity } from "./registry.js";
import type { SigningKey } from "./signing-key.js";

export interface IssueTokenOptions {
  readonly issuer: string;
  /** Shorter than the manifest's maxLifetime if wanted; never longer. Default: the maxLifetime. */
  readonly ttlSeconds?: number;
  readonly now?: Date;
}

export interface IssuedToken {
  /** The secret: hand it to the agent, never log or record it. */
  readonly token: string;
  readonly claims: AgentTokenClaims;
}

/**
 * Issues a short-lived token for a provisioned agent. It carries what the registry holds (the
 * state a sync applied from an approved manifest), not what a working tree says, so a token can
 * never carry access that was not provisioned. The token's id is recorded so it can be revoked.
 */
export function issueToken(registry: LocalRegistry, key: SigningKey, agentId: string, options: IssueTokenOptions): IssuedToken {
  const { identity, limit } = activeIdentity(registry, agentId);
  const ttl = options.ttlSeconds ?? limit;
  if (!Number.isSafeInteger(ttl) || ttl <= 0) throw new CharterError("USAGE", "the token lifetime must be a positive whole number of seconds", { hint: "Pass --ttl such as 15m." });
  if (ttl > limit) {
    throw new CharterError("OUT_OF_RANGE", `a ${ttl}s token would outlive agent "${agentId}"'s credentials.maxLifetime of ${limit}s`, {
      hint: "Ask for a shorter --ttl; only a reviewed manifest change can raise the limit.",
    });
  }
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const claims: AgentTokenClaims = {
    iss: options.issuer,
    sub: agentId,
    iat,
    exp: iat + ttl,
    jti: randomUUID(),
    manifest_sha256: identity.manifestSha256,
    commit: identity.commit,
    permissions: [...identity.permissions],
  };
  registry.recordToken({ jti: claims.jti, agentId, issuedAt: claims.iat, expiresAt: claims.exp, revoked: false });
  return { token: signToken(claims, key), claims };
}

/**
 * The registry's entry for an agent that may get credentials: managed by Charter, active and
 * complete. Every credential is cut from this approved, synced state, never from a working tree.
 */
export function activeIdentity(registry: LocalRegistry, agentId: string): { identity: StoredIdentity & { manifestSha256: string; commit: string }; limit: number } {
  const identity = registry.identity(agentId);
  if (identity === undefined || identity.managedBy !== MANAGED_BY) {
    throw new CharterError("NOT_FOUND", `no agent "${agentId}" in the local registry`, {
      hint: identity === undefined ? "Check the id, and run charter sync after its manifest is merged." : "That entry was not created by Charter; charter drift reports it.",
    });
  }
  if (identity.status !== "active") {
    throw new CharterError("REVOKED", `agent "${agentId}" is retired: its identity was revoked${identity.revokedAt ? ` at ${identity.revokedAt}` : ""}`, {
      hint: "A retired agent gets no credentials; reactivate it through a reviewed change to its manifest.",
    });
  }
  const limit = identity.maxLifetimeSeconds;
  if (limit === null || limit <= 0 || identity.manifestSha256 === null || identity.commit === null) {
    throw new CharterError("INVALID_CONFIG", `the registry entry of "${agentId}" is incomplete`, { hint: "Run charter sync to repair it." });
  }
  return { identity: { ...identity, manifestSha256: identity.manifestSha256, commit: identity.commit }, limit };
}
