import type { ObservedRole } from "./observed.js";

/**
 * Which roles an agent can act as. A role holds the privileges of every role it is a member of,
 * transitively: directly when each step inherits, and otherwise after SET ROLE, which PostgreSQL 15
 * allows along any membership. Both count as the agent's: a privilege one SET ROLE away is held.
 */
export interface ReachedRole {
  readonly role: string;
  /** The roles from the agent's own role to this one, both included. */
  readonly chain: readonly string[];
  /** Every step inherits: the agent holds the role's privileges without SET ROLE. */
  readonly inherited: boolean;
  /** The first step, out of the agent's own roles: revoking it cuts this path. */
  readonly first: { readonly member: string; readonly role: string; readonly grantor: string };
}

/**
 * Breadth first from `start` (the agent's own roles), so each role is reached by a shortest chain.
 * `expected(member, role)` names the memberships that are meant to be there and are not followed
 * (an identity's membership in the marker, which is reviewed once for every agent; a lease's in its
 * identity, which is one of the start roles anyway).
 */
export function reachedRoles(roles: ReadonlyMap<string, ObservedRole>, start: readonly string[], expected: (member: string, role: string) => boolean): ReachedRole[] {
  const own = new Set(start);
  const seen = new Set(start);
  const out: ReachedRole[] = [];
  let frontier: ReachedRole[] = [];
  for (const member of start) {
    for (const m of roles.get(member)?.memberOf ?? []) {
      if (expected(member, m.role) || seen.has(m.role)) continue;
      seen.add(m.role);
      frontier.push({ role: m.role, chain: [member, m.role], inherited: m.inherit, first: { member, role: m.role, grantor: m.grantor } });
    }
  }
  while (frontier.length > 0) {
    out.push(...frontier);
    const next: ReachedRole[] = [];
    for (const reached of frontier) {
      for (const m of roles.get(reached.role)?.memberOf ?? []) {
        if (own.has(m.role) || seen.has(m.role) || expected(reached.role, m.role)) continue;
        seen.add(m.role);
        next.push({ role: m.role, chain: [...reached.chain, m.role], inherited: reached.inherited && m.inherit, first: reached.first });
      }
    }
    frontier = next;
  }
  return out;
}

/**
 * How a finding names the path: "readers → pg_read_all_data", or "SET ROLE secrets" when the
 * agent must switch roles to use it. The agent's identity itself is left out; a lease is named.
 */
export function via(chain: readonly string[], inherited: boolean, identity: string | undefined): string {
  const steps = chain[0] === identity ? chain.slice(1) : chain;
  return `${inherited ? "" : "SET ROLE "}${steps.join(" → ")}`;
}
