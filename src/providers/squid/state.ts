import { parseLeaseUser } from "./names.js";
import type { IdentityMarker, LeaseRecord } from "../../provision/identity-marker.js";

/**
 * What Charter keeps beside the proxy's configuration, in its own file in the configuration
 * directory: an identity marker per agent (ownership, and the approval that produced it), a
 * record per lease (expiry; the password's crypt hash is in the password file), and the SHA-256
 * of the configuration Charter last wrote and last had squid load. The file can be edited by
 * whoever can write the directory: it is parsed defensively, and an entry that does not parse
 * is absent (a password without its lease record is revoked, an agent without a marker gets one
 * written again from the approved manifest).
 */
export type { IdentityMarker, LeaseRecord };

export interface SquidState {
  readonly identities: ReadonlyMap<string, IdentityMarker>;
  readonly leases: ReadonlyMap<string, LeaseRecord>;
  /** SHA-256 (hex) of the configuration file Charter last wrote, and of the one squid last loaded on Charter's reload. */
  readonly written: string | undefined;
  readonly loaded: string | undefined;
  /**
   * Proxy users removed while squid may still hold their password as checked (credentialsttl):
   * user → until when (ms) the configuration denies them by name.
   */
  readonly revoked: ReadonlyMap<string, number>;
}

const TAG = "charter/squid-state";
const MAX_BYTES = 64 * 1024 * 1024;

const EMPTY_STATE: SquidState = { identities: new Map(), leases: new Map(), written: undefined, loaded: undefined, revoked: new Map() };

export function encodeState(state: SquidState): string {
  const identities = Object.fromEntries([...state.identities].sort(([a], [b]) => (a < b ? -1 : 1)));
  const leases = Object.fromEntries([...state.leases].sort(([a], [b]) => (a < b ? -1 : 1)));
  const revoked = Object.fromEntries([...state.revoked].sort(([a], [b]) => (a < b ? -1 : 1)));
  return `${JSON.stringify({ charter: TAG, identities, leases, revoked, written: state.written ?? null, loaded: state.loaded ?? null }, null, 1)}\n`;
}

export function encodeMarker(m: IdentityMarker): string {
  return JSON.stringify([m.agent, m.commit, m.manifestSha256, m.maxLifetimeSeconds]);
}

export function parseState(text: string | undefined): SquidState {
  if (text === undefined || text.length > MAX_BYTES) return EMPTY_STATE;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return EMPTY_STATE;
  }
  if (!isObject(value) || value["charter"] !== TAG) return EMPTY_STATE;
  const identities = new Map<string, IdentityMarker>();
  for (const [key, raw] of entries(value["identities"])) {
    const m = marker(raw);
    if (m !== undefined && m.agent === key) identities.set(key, m);
  }
  const leases = new Map<string, LeaseRecord>();
  for (const [key, raw] of entries(value["leases"])) {
    const l = lease(raw);
    if (l !== undefined && l.lease === key) leases.set(key, l);
  }
  const revoked = new Map<string, number>();
  for (const [user, until] of entries(value["revoked"])) {
    if (parseLeaseUser(user) !== undefined && typeof until === "number" && Number.isSafeInteger(until)) revoked.set(user, until);
  }
  const hash = (v: unknown): string | undefined => (typeof v === "string" && /^[0-9a-f]{64}$/.test(v) ? v : undefined);
  return { identities, leases, written: hash(value["written"]), loaded: hash(value["loaded"]), revoked };
}

function marker(v: unknown): IdentityMarker | undefined {
  if (!isObject(v)) return undefined;
  const { agent, commit, manifestSha256, maxLifetimeSeconds } = v;
  if (typeof agent !== "string" || typeof commit !== "string" || typeof manifestSha256 !== "string") return undefined;
  if (typeof maxLifetimeSeconds !== "number" || !Number.isInteger(maxLifetimeSeconds) || maxLifetimeSeconds <= 0) return undefined;
  return { agent, commit, manifestSha256, maxLifetimeSeconds };
}

function lease(v: unknown): LeaseRecord | undefined {
  if (!isObject(v)) return undefined;
  const { lease: id, agent, validUntil } = v;
  if (typeof id !== "string" || !/^[0-9a-f]{24}$/.test(id) || typeof agent !== "string") return undefined;
  if (typeof validUntil !== "number" || !Number.isSafeInteger(validUntil)) return undefined;
  return { lease: id, agent, validUntil };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function entries(v: unknown): [string, unknown][] {
  // Own keys only, into Maps: a "__proto__" key in the file cannot reach any prototype.
  return isObject(v) ? Object.keys(v).map((k) => [k, v[k]]) : [];
}
