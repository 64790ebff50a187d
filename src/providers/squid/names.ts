/**
 * Names Charter writes into squid's configuration and password file. Agent ids come from pull
 * requests: a user name is only derived from an id matching the manifest schema's DNS-label
 * pattern. Each lease is its own proxy user, `charter-agent-<id>.<lease>`, so that several
 * passwords of one agent can be valid at once (basic_ncsa_auth holds one password per user) and
 * a new lease needs no reload: the agent's rules match its users by a regular expression.
 */
const AGENT_ID = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const LEASE_ID = /^[0-9a-f]{24}$/;

const USER_PREFIX = "charter-agent-";

export function isSafeAgentId(id: string): boolean {
  return AGENT_ID.test(id);
}

function isLeaseId(id: string): boolean {
  return LEASE_ID.test(id);
}

export function leaseUserName(agentId: string, lease: string): string {
  return `${USER_PREFIX}${agentId}.${lease}`;
}

/** The agent and lease a Charter-named proxy user stands for, or undefined when the name is not one. */
export function parseLeaseUser(user: string): { readonly agent: string; readonly lease: string } | undefined {
  if (!user.startsWith(USER_PREFIX)) return undefined;
  const rest = user.slice(USER_PREFIX.length);
  const dot = rest.lastIndexOf(".");
  if (dot === -1) return undefined;
  const agent = rest.slice(0, dot);
  const lease = rest.slice(dot + 1);
  return isSafeAgentId(agent) && isLeaseId(lease) ? { agent, lease } : undefined;
}

/** The regular expression (squid's proxy_auth_regex) that matches every lease user of one agent and nothing else. */
export function agentUserRegex(agentId: string): string {
  return `^${USER_PREFIX}${agentId}\\.[0-9a-f]{24}$`;
}
