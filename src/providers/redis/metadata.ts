import type { IdentityMarker, LeaseRecord } from "../../provision/identity-marker.js";

/**
 * What Charter stores beside each ACL user (see METADATA in names.ts). The records are read
 * back from a server anyone with enough ACL rights can write to: parse defensively, and treat
 * a record that does not parse as absent (which fails closed: a user without a marker is left
 * alone and reported, a password without a lease is revoked).
 */
export type { IdentityMarker, LeaseRecord };

const IDENTITY_TAG = "charter/redis-identity";
const LEASE_TAG = "charter/redis-lease";

export function encodeMarker(m: IdentityMarker): string {
  return JSON.stringify({ charter: IDENTITY_TAG, agent: m.agent, commit: m.commit, manifestSha256: m.manifestSha256, maxLifetimeSeconds: m.maxLifetimeSeconds });
}

export function parseMarker(text: string | undefined): IdentityMarker | undefined {
  const v = parseObject(text);
  if (v === undefined || v["charter"] !== IDENTITY_TAG) return undefined;
  const { agent, commit, manifestSha256, maxLifetimeSeconds } = v;
  if (typeof agent !== "string" || typeof commit !== "string" || typeof manifestSha256 !== "string") return undefined;
  if (typeof maxLifetimeSeconds !== "number" || !Number.isInteger(maxLifetimeSeconds) || maxLifetimeSeconds <= 0) return undefined;
  return { agent, commit, manifestSha256, maxLifetimeSeconds };
}

export function encodeLease(l: LeaseRecord): string {
  return JSON.stringify({ charter: LEASE_TAG, lease: l.lease, agent: l.agent, validUntil: l.validUntil });
}

export function parseLease(text: string | undefined): LeaseRecord | undefined {
  const v = parseObject(text);
  if (v === undefined || v["charter"] !== LEASE_TAG) return undefined;
  const { lease, agent, validUntil } = v;
  if (typeof lease !== "string" || !/^[0-9a-f]{24}$/.test(lease) || typeof agent !== "string") return undefined;
  if (typeof validUntil !== "number" || !Number.isSafeInteger(validUntil)) return undefined;
  return { lease, agent, validUntil };
}

function parseObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined || text.length > 4096) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
