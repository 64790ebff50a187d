import { createHash, randomBytes } from "node:crypto";
import { CharterError } from "../../errors.js";

/**
 * Role names Charter derives. Agent ids come from pull requests and are attacker-controlled, so
 * a name is only ever derived from an id that matches the manifest schema's DNS-label pattern;
 * anything else is refused rather than escaped into a name. Every name is still quoted when it
 * reaches SQL.
 */

/** The manifest schema's agent id pattern. Ids never contain `_`, so mapping `-` to `_` keeps names distinct. */
const AGENT_ID = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const ROLE_PREFIX = /^[a-z][a-z0-9_]{0,19}$/;
/** PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes; a longer name would silently collide. */
const MAX_ROLE_NAME = 63;
const HASH_CHARS = 8;

const DEFAULT_ROLE_PREFIX = "charter_";

export interface RoleNames {
  readonly prefix: string;
  /** The NOLOGIN role whose members are exactly Charter's identity roles: the ownership marker. */
  readonly marker: string;
  /** Identity roles start with this; a role that does but is not a marker member is a look-alike. */
  readonly identityPrefix: string;
  readonly leasePrefix: string;
}

export function roleNames(prefix: string = DEFAULT_ROLE_PREFIX): RoleNames {
  if (!ROLE_PREFIX.test(prefix)) {
    throw new CharterError("INVALID_CONFIG", `postgres rolePrefix "${prefix}" must be a lowercase name of at most 20 characters (letters, digits, _)`, {
      hint: "Use a prefix such as charter_.",
    });
  }
  return { prefix, marker: `${prefix}managed`, identityPrefix: `${prefix}agent_`, leasePrefix: `${prefix}lease_` };
}

export function isSafeAgentId(id: string): boolean {
  return AGENT_ID.test(id);
}

/**
 * `charter_agent_support_triage` for `support-triage`. A name that would exceed 63 bytes keeps a
 * readable head and ends in 8 hex characters of the id's SHA-256, so two long ids sharing a head
 * still get different roles.
 */
export function identityRoleName(names: RoleNames, agentId: string): string {
  if (!isSafeAgentId(agentId)) {
    throw new CharterError("INVALID_CONFIG", `agent id ${JSON.stringify(agentId)} is not a valid agent id (lowercase letters, digits and hyphens)`, {
      hint: "Agent ids must match the manifest schema's id pattern.",
    });
  }
  const full = `${names.identityPrefix}${agentId.replaceAll("-", "_")}`;
  if (full.length <= MAX_ROLE_NAME) return full;
  const hash = createHash("sha256").update(agentId).digest("hex").slice(0, HASH_CHARS);
  return `${full.slice(0, MAX_ROLE_NAME - HASH_CHARS - 1)}_${hash}`;
}

/** A fresh lease role name: random, so that a lease name reveals nothing and is never reused. */
export function leaseRoleName(names: RoleNames): string {
  return `${names.leasePrefix}${randomBytes(12).toString("hex")}`;
}
