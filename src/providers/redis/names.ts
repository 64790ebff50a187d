import { CharterError } from "../../errors.js";

/**
 * Names and patterns Charter writes into ACL rules. Agent ids and key patterns come from pull
 * requests and are attacker-controlled: a user name is only derived from an id matching the
 * manifest schema's DNS-label pattern, and a key pattern is only written when it matches the
 * permission grammar's key pattern. Nothing else is escaped into a rule; it is refused.
 * ioredis sends every rule as its own argument, and Redis 7 refuses spaces inside one, but a
 * rule written by ACL SAVE is a space-separated line: refusing is what keeps a pattern such as
 * `a* +@all` from becoming two rules when that file is loaded again.
 */

/** The manifest schema's agent id pattern. */
const AGENT_ID = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/**
 * The permission grammar's key pattern: no glob character but a final `*` (Redis patterns also
 * know `?`, `[…]` and `\`), and it starts with a literal, so no approved pattern matches a key
 * that starts with `#`, which is where Charter keeps its records (see METADATA).
 */
const KEY_PATTERN = /^[A-Za-z0-9:_.{}-]{1,255}\*?$/;

export const USER_PREFIX = "charter-agent-";

/**
 * Charter's records on the server it provisions: Redis ACL users have no comment or expiry
 * field, so the ownership marker and each credential's expiry are kept here, in hashes only the
 * provisioner's rules reach.
 */
export const METADATA = {
  /** user name → identity marker (JSON). A user named like an agent without an entry here is a look-alike. */
  identities: "#charter:identities",
  /** SHA-256 of a password (hex, as ACL GETUSER shows it) → lease record (JSON). */
  leases: "#charter:leases",
} as const;

export function isSafeAgentId(id: string): boolean {
  return AGENT_ID.test(id);
}

export function isSafeKeyPattern(pattern: string): boolean {
  if (!KEY_PATTERN.test(pattern)) return false;
  // A pattern made only of separators and the wildcard reaches every key.
  return !/^[:*]+$/.test(pattern);
}

export function agentUserName(agentId: string): string {
  if (!isSafeAgentId(agentId)) {
    throw new CharterError("INVALID_CONFIG", `agent id ${JSON.stringify(agentId)} is not a valid agent id (lowercase letters, digits and hyphens)`, {
      hint: "Agent ids must match the manifest schema's id pattern.",
    });
  }
  return `${USER_PREFIX}${agentId}`;
}

/** The agent id a Charter-named user stands for, or undefined when the name is not one. */
export function agentOfUser(user: string): string | undefined {
  if (!user.startsWith(USER_PREFIX)) return undefined;
  const id = user.slice(USER_PREFIX.length);
  return isSafeAgentId(id) ? id : undefined;
}
