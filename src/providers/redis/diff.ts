import type { DriftFinding } from "../../schema-types/evidence-record.generated.js";
import { type DesiredAgent, type DiffOptions, NO_AGENT, type PlannedOperation, type ProviderDiff } from "../../provision/provider.js";
import { encodeMarker, type IdentityMarker } from "./metadata.js";
import { agentOfUser, agentUserName, isSafeAgentId, isSafeKeyPattern } from "./names.js";
import type { ObservedUser, RedisObserved } from "./observed.js";
import { allowedCommands, describeKeys, desiredAccess, evaluateCommands, parseKeys, ruleArguments, sameKeys } from "./rules.js";
import type { Step } from "./steps.js";

/**
 * The actions a redis plan is made of. A deprovision is revoke-login (`off` and no password:
 * no new login), terminate-sessions (CLIENT KILL USER: `off` leaves open connections working),
 * drop-identity (ACL DELUSER and Charter's records of the user and its leases).
 */
export type RedisAction =
  | "create-identity"
  | "set-rules"
  | "update-identity"
  | "drop-expired-lease"
  | "revoke-lease"
  | "revoke-password"
  | "end-expired-sessions"
  | "revoke-login"
  | "terminate-sessions"
  | "drop-identity";

export interface DiffContext {
  readonly instance: string;
  /** Users Charter neither manages nor reports. */
  readonly knownUsers: readonly string[];
}

const PROVIDER = "redis";
const LISTED = 8;

type Op = (agent: string, action: RedisAction, target: string, payload: Step) => void;
type Find = (agent: string, kind: string, detail: string) => void;

/**
 * Pure: what turns `observed` into `desired`. Where the user still carries the approval being
 * applied (same commit and manifest), a difference in its rules is drift and is also reported.
 * A user named like an agent without Charter's marker, and any other user not listed as known,
 * is reported and never touched.
 */
export function diffRedis(ctx: DiffContext, desired: readonly DesiredAgent[], observed: RedisObserved, options: DiffOptions): ProviderDiff {
  const operations: PlannedOperation[] = [];
  const findings: DriftFinding[] = [];
  const op: Op = (agent, action, target, payload) => {
    operations.push({ provider: PROVIDER, instance: ctx.instance, agent, action, target, payload });
  };
  const find: Find = (agent, kind, detail) => {
    findings.push({ provider: PROVIDER, instance: ctx.instance, agent, kind, detail });
  };
  const users = new Map(observed.users.map((u) => [u.name, u]));
  const claimed = new Set<string>();
  const memo = memoized(observed);

  for (const agent of [...desired].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (!isSafeAgentId(agent.id)) {
      find(agent.id, "invalid-agent", `agent id ${JSON.stringify(agent.id)} is not a DNS label; no ACL user is derived from it`);
      continue;
    }
    const name = agentUserName(agent.id);
    claimed.add(name);
    const user = users.get(name);
    const marker = observed.markers.get(name);
    if (user !== undefined && marker === undefined) {
      find(agent.id, "unmanaged-identity", `ACL user ${name} exists but Charter has no record of creating it; Charter leaves it alone (remove it with ACL DELUSER ${name}, then sync)`);
      continue;
    }
    if (marker !== undefined && marker.agent !== agent.id) {
      find(agent.id, "unmanaged-identity", `ACL user ${name} is recorded for agent ${JSON.stringify(marker.agent)}; Charter leaves it alone`);
      continue;
    }
    if (agent.status === "retired") {
      if (user !== undefined || marker !== undefined) deprovision(agent.id, name, user, op);
      continue;
    }
    syncAgent(ctx, agent, name, user, observed, memo, op, find);
  }

  for (const user of observed.users) {
    if (claimed.has(user.name) || user.name === observed.provisioner) continue;
    const agent = agentOfUser(user.name);
    const marker = observed.markers.get(user.name);
    if (agent !== undefined && marker?.agent === agent) {
      if (options.prune) deprovision(agent, user.name, user, op);
      else find(agent, "orphaned-identity", `ACL user ${user.name} is managed by Charter but no manifest names its agent; prune to remove it`);
    } else if (agent !== undefined) {
      find(agent, "unmanaged-identity", `ACL user ${user.name} looks like an agent identity but Charter has no record of creating it; Charter leaves it alone (remove it with ACL DELUSER ${user.name})`);
    } else if (!ctx.knownUsers.includes(user.name)) {
      // Not an agent's identity: the finding is about the user itself, under no agent's name.
      findings.push({
        provider: PROVIDER,
        instance: ctx.instance,
        agent: NO_AGENT,
        kind: "unmanaged-user",
        detail: `ACL user ${user.name} is not owned by any manifest and not listed in knownUsers (${summary(user)}); Charter leaves it alone: remove it, or list it under provisioning.providers.redis knownUsers if it is meant to be there`,
        fix: `ACL DELUSER ${user.name}`,
      });
    }
  }
  return { operations, findings };
}

/**
 * A thousand agents share a handful of command sets (read, write, both) and users read back a
 * handful of command rules: each is computed once per diff, not once per agent.
 */
interface Memo {
  allowed(read: boolean, write: boolean): ReadonlySet<string>;
  held(rules: string): ReadonlySet<string> | undefined;
}

function memoized(observed: RedisObserved): Memo {
  const allowed = new Map<string, ReadonlySet<string>>();
  const held = new Map<string, ReadonlySet<string> | undefined>();
  return {
    allowed(read, write) {
      const key = `${String(read)}/${String(write)}`;
      let set = allowed.get(key);
      if (set === undefined) {
        set = allowedCommands(observed.commands, { read, write });
        allowed.set(key, set);
      }
      return set;
    },
    held(rules) {
      if (!held.has(rules)) held.set(rules, evaluateCommands(observed.commands, rules));
      return held.get(rules);
    },
  };
}

function syncAgent(ctx: DiffContext, agent: DesiredAgent, name: string, user: ObservedUser | undefined, observed: RedisObserved, memo: Memo, op: Op, find: Find): void {
  const marker: IdentityMarker = { agent: agent.id, commit: agent.commit, manifestSha256: agent.manifestSha256, maxLifetimeSeconds: agent.maxLifetimeSeconds };
  const usable = agent.permissions.filter((p) => {
    if (p.system !== "redis" || p.instance !== ctx.instance) return false;
    const problem = p.action !== "read" && p.action !== "write" ? `unknown redis action "${p.action}"` : isSafeKeyPattern(p.resource) ? undefined : `${JSON.stringify(p.resource)} is not a key pattern Charter writes into an ACL rule`;
    if (problem !== undefined) find(agent.id, "invalid-permission", `${p.raw}: ${problem}`);
    return problem === undefined;
  });
  const access = desiredAccess(usable);
  const commands = memo.allowed(access.read, access.write);
  // Built only for a step that writes them: sorting a few hundred commands per agent was most of
  // a no-op re-sync's time.
  const rules = (): string[] => ruleArguments(commands, access.keys);

  if (user === undefined) {
    op(agent.id, "create-identity", name, { type: "create-user", user: name, marker: encodeMarker(marker), rules: rules() });
    return;
  }
  const held = observed.markers.get(name);
  // The approval is the manifest's content, not the commit it was read at (see the PostgreSQL
  // provider): the marker is rewritten only when something but the commit differs.
  const sameApproval = held?.manifestSha256 === agent.manifestSha256;
  if (held === undefined || encodeMarker(held) !== encodeMarker({ ...marker, commit: held.commit })) {
    op(agent.id, "update-identity", name, { type: "set-marker", user: name, marker: encodeMarker(marker) });
  }

  const differences = ruleDifferences(user, memo, commands, access.keys);
  if (differences.length > 0) {
    if (sameApproval) find(agent.id, "acl-rules", `ACL user ${name} ${differences.join("; ")}; a sync resets its rules to the approved ones`);
    op(agent.id, "set-rules", name, { type: "set-rules", user: name, agent: agent.id, rules: rules() });
  }

  const limit = observed.now + agent.maxLifetimeSeconds * 1000;
  const onUser = new Set(user.passwords);
  for (const hash of user.passwords) {
    const lease = observed.leases.get(hash);
    if (lease === undefined || lease.agent !== agent.id) {
      find(agent.id, "unknown-credential", `ACL user ${name} has a password Charter did not issue; a sync removes it`);
      op(agent.id, "revoke-password", `a password of ${name} not issued by Charter`, { type: "drop-password", user: name, hash });
    } else if (lease.validUntil <= observed.now) {
      op(agent.id, "drop-expired-lease", `lease ${lease.lease} of ${name}`, { type: "drop-password", user: name, hash });
    } else if (lease.validUntil > limit) {
      find(agent.id, "lifetime", `lease ${lease.lease} of ${name} is valid until ${new Date(lease.validUntil).toISOString()}, beyond the manifest's ${agent.maxLifetimeSeconds} s from now`);
      op(agent.id, "revoke-lease", `lease ${lease.lease} of ${name}`, { type: "drop-password", user: name, hash });
    }
  }
  // Records of expired leases whose password is already gone: only the record is left to remove.
  for (const [hash, lease] of observed.leases) {
    if (lease.agent === agent.id && !onUser.has(hash) && lease.validUntil <= observed.now) {
      op(agent.id, "drop-expired-lease", `lease ${lease.lease} of ${name}`, { type: "drop-password", user: name, hash });
    }
  }

  // Redis keeps a connection authenticated after its password is removed. Every password lives
  // at most maxLifetime, so a connection older than that can only have logged in with one that
  // has expired since.
  const stale = observed.connections.filter((c) => c.user === name && c.ageSeconds > agent.maxLifetimeSeconds).map((c) => c.id);
  if (stale.length > 0) {
    find(agent.id, "lifetime", `${stale.length} connection(s) of ${name} are older than the manifest's maxLifetime of ${agent.maxLifetimeSeconds} s and so logged in with an expired password`);
    op(agent.id, "end-expired-sessions", `connections of ${name} older than ${agent.maxLifetimeSeconds} s`, { type: "kill-connections", user: name, ids: stale });
  }
}

/** What the user may do beyond or short of the approved rules, for people; empty when it matches. */
function ruleDifferences(user: ObservedUser, memo: Memo, commands: ReadonlySet<string>, keys: ReturnType<typeof desiredAccess>["keys"]): string[] {
  const out: string[] = [];
  const held = memo.held(user.commands);
  if (held === undefined) {
    out.push(`has command rules Charter does not write (${clip(user.commands)})`);
  } else {
    const extra = [...held].filter((c) => !commands.has(c)).sort();
    const missing = [...commands].filter((c) => !held.has(c)).sort();
    if (extra.length > 0) out.push(`may run ${extra.length} command(s) nobody approved (${list(extra)})`);
    if (missing.length > 0) out.push(`lacks ${missing.length} approved command(s) (${list(missing)})`);
  }
  const heldKeys = parseKeys(user.keys);
  if (heldKeys === undefined || !sameKeys(heldKeys, keys)) out.push(`holds keys ${clip(user.keys) || "none"} where ${describeKeys(keys)} is approved`);
  if (user.channels !== "") out.push(`may use channels ${clip(user.channels)}, none approved`);
  if (user.selectors > 0) out.push(`has ${user.selectors} selector(s) with further rules`);
  if (user.flags.includes("nopass")) out.push("accepts any password (nopass)");
  if (!user.flags.includes("on")) out.push("is disabled");
  return out;
}

function deprovision(agent: string, name: string, user: ObservedUser | undefined, op: Op): void {
  if (user !== undefined) {
    op(agent, "revoke-login", name, { type: "disable-user", user: name });
    op(agent, "terminate-sessions", name, { type: "kill-user", user: name });
  }
  op(agent, "drop-identity", name, { type: "delete-user", user: name, agent });
}

function summary(user: ObservedUser): string {
  return `${user.flags.includes("on") ? "enabled" : "disabled"}, commands ${clip(user.commands) || "none"}, keys ${clip(user.keys) || "none"}`;
}

function list(names: readonly string[]): string {
  const shown = names.slice(0, LISTED).join(", ");
  return names.length > LISTED ? `${shown} and ${names.length - LISTED} more` : shown;
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
