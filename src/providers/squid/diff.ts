import { createHash } from "node:crypto";
import type { DriftFinding } from "../../schema-types/evidence-record.generated.js";
import type { DesiredAgent, DiffOptions, PlannedOperation, ProviderDiff } from "../../provision/provider.js";
import { MD5_CRYPT } from "./md5-crypt.js";
import { isSafeAgentId, parseLeaseUser } from "./names.js";
import type { SquidObserved } from "./observed.js";
import { type AgentRules, CREDENTIALS_TTL_SECONDS, type HttpRule, httpRule, renderConfig, type SquidSettings } from "./render.js";
import { encodeMarker, type IdentityMarker } from "./state.js";
import type { Step } from "./steps.js";

/**
 * The actions a squid plan is made of. Retiring an agent removes its rules from the
 * configuration (write-config, then reload) and its passwords and records (drop-identity).
 */
export type SquidAction = "create-identity" | "update-identity" | "drop-expired-lease" | "revoke-lease" | "revoke-password" | "drop-identity" | "forget-revoked" | "write-config" | "reload";

const PROVIDER = "squid";
const LISTED = 6;

/**
 * Pure: what turns `observed` into `desired`. The configuration is rendered whole from the
 * approved agents; a file that differs from the one Charter last wrote was edited by hand,
 * which is drift, reported with the lines that differ.
 */
export function diffSquid(instance: string, settings: SquidSettings, desired: readonly DesiredAgent[], observed: SquidObserved, options: DiffOptions): ProviderDiff {
  const operations: PlannedOperation[] = [];
  const findings: DriftFinding[] = [];
  const op = (agent: string, action: SquidAction, target: string, payload: Step): void => {
    operations.push({ provider: PROVIDER, instance, agent, action, target, payload });
  };
  const find = (agent: string, kind: string, detail: string): void => {
    findings.push({ provider: PROVIDER, instance, agent, kind, detail });
  };
  const { state } = observed;
  const active = new Map<string, DesiredAgent>();
  const rendered: AgentRules[] = [];
  const named = new Set<string>();

  for (const agent of [...desired].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    named.add(agent.id);
    if (!isSafeAgentId(agent.id)) {
      find(agent.id, "invalid-agent", `agent id ${JSON.stringify(agent.id)} is not a DNS label; no proxy user is derived from it`);
      continue;
    }
    const held = state.identities.get(agent.id);
    if (agent.status === "retired") {
      if (held !== undefined || [...state.leases.values()].some((l) => l.agent === agent.id) || observed.passwords.some((p) => parseLeaseUser(p.user)?.agent === agent.id)) {
        op(agent.id, "drop-identity", `proxy users of ${agent.id}`, { type: "drop-identity", agent: agent.id });
      }
      continue;
    }
    active.set(agent.id, agent);
    const rules: HttpRule[] = [];
    for (const p of agent.permissions) {
      const parsed = httpRule(p);
      if (parsed.ok) rules.push(parsed.rule);
      else find(agent.id, "invalid-permission", `${p.raw}: ${parsed.reason}; it is not written into the proxy's rules`);
    }
    rendered.push({ agent: agent.id, rules });
    const marker: IdentityMarker = { agent: agent.id, commit: agent.commit, manifestSha256: agent.manifestSha256, maxLifetimeSeconds: agent.maxLifetimeSeconds };
    // The approval is the manifest's content: a commit that left it alone is no new approval.
    if (held === undefined || encodeMarker(held) !== encodeMarker({ ...marker, commit: held.commit })) {
      op(agent.id, held === undefined ? "create-identity" : "update-identity", `identity of ${agent.id}`, { type: "set-marker", marker });
    }
  }

  for (const [agent] of state.identities) {
    if (named.has(agent)) continue;
    if (options.prune) op(agent, "drop-identity", `proxy users of ${agent}`, { type: "drop-identity", agent });
    else find(agent, "orphaned-identity", `proxy users of ${agent} are managed by Charter but no manifest names the agent; prune to remove them`);
  }

  // squid keeps trusting a checked password for credentialsttl even after its user is gone from
  // the password file (a reload does not empty that cache): a removed user of an agent whose
  // rules remain is denied by name for twice that long.
  const revokeUntil = observed.now + 2 * CREDENTIALS_TTL_SECONDS * 1000;
  const revoked = [...state.revoked].filter(([, until]) => until > observed.now).map(([user]) => user);
  const forgotten = [...state.revoked].filter(([, until]) => until <= observed.now).map(([user]) => user);
  if (forgotten.length > 0) op(instance, "forget-revoked", `${forgotten.length} revoked proxy user(s) past squid's credentials cache`, { type: "forget-revoked", users: forgotten });
  const revoke = (user: string): number | undefined => {
    if (parseLeaseUser(user) === undefined) return undefined;
    revoked.push(user);
    return revokeUntil;
  };
  const onFile = new Set<string>();
  for (const line of observed.passwords) {
    const parsed = parseLeaseUser(line.user);
    const lease = parsed === undefined ? undefined : state.leases.get(parsed.lease);
    if (parsed === undefined || lease === undefined || lease.agent !== parsed.agent || !MD5_CRYPT.test(line.hash) || onFile.has(line.user)) {
      const who = parsed?.agent ?? line.user;
      if (parsed === undefined || active.has(parsed.agent) || !named.has(parsed.agent)) {
        find(who, "unknown-credential", `the password file has a user ${JSON.stringify(clip(line.user))} Charter did not issue; a sync removes it`);
        op(who, "revoke-password", `proxy user ${clip(line.user)}`, { type: "drop-password", user: line.user, lease: undefined, revokeUntil: revoke(line.user) });
      }
      continue;
    }
    onFile.add(line.user);
    const agent = active.get(parsed.agent);
    if (agent === undefined) continue; // retired or orphaned: handled with its identity
    if (lease.validUntil <= observed.now) {
      op(agent.id, "drop-expired-lease", `lease ${lease.lease} of ${agent.id}`, { type: "drop-password", user: line.user, lease: lease.lease, revokeUntil: revoke(line.user) });
    } else if (lease.validUntil > observed.now + agent.maxLifetimeSeconds * 1000) {
      find(agent.id, "lifetime", `lease ${lease.lease} of ${agent.id} is valid until ${new Date(lease.validUntil).toISOString()}, beyond the manifest's ${agent.maxLifetimeSeconds} s from now`);
      op(agent.id, "revoke-lease", `lease ${lease.lease} of ${agent.id}`, { type: "drop-password", user: line.user, lease: lease.lease, revokeUntil: revoke(line.user) });
    }
  }
  if (observed.malformedPasswordLines > 0) {
    find(instance, "unknown-credential", `the password file has ${observed.malformedPasswordLines} line(s) that are not user:hash; a sync rewrites the file without them`);
    op(instance, "revoke-password", "malformed password lines", { type: "drop-password", user: "", lease: undefined, revokeUntil: undefined });
  }

  const config = renderConfig(settings, rendered, [...new Set(revoked)]);
  const desiredHash = sha256(config);
  const onDisk = observed.config === undefined ? undefined : sha256(observed.config);
  if (observed.config !== undefined && onDisk !== state.written) {
    find(instance, "config-edited", `${settings.directory}/squid.conf is not the file Charter wrote (${lineDifferences(observed.config, config)}); a sync writes the approved configuration back and reloads squid`);
  }
  if (onDisk !== desiredHash) op(instance, "write-config", `${settings.directory}/squid.conf`, { type: "write-config", config });
  else if (state.loaded !== desiredHash) {
    find(instance, "config-not-loaded", "squid has not loaded the approved configuration since Charter wrote it; a sync reloads squid (squid -k reconfigure)");
    op(instance, "reload", "squid -k reconfigure", { type: "reload" });
  }
  return { operations, findings };
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Lines present on one side only, for people: "+ http_access allow all; - http_access deny all". */
function lineDifferences(actual: string, approved: string): string {
  const have = new Set(approved.split("\n"));
  const got = new Set(actual.split("\n"));
  const extra = [...got].filter((l) => !have.has(l)).map((l) => `+ ${clip(l)}`);
  const missing = [...have].filter((l) => !got.has(l)).map((l) => `- ${clip(l)}`);
  const all = [...extra, ...missing];
  if (all.length === 0) return "same lines, in another order";
  const shown = all.slice(0, LISTED).join("; ");
  return all.length > LISTED ? `${shown}; and ${all.length - LISTED} more` : shown;
}

function clip(text: string): string {
  // JSON.stringify keeps control characters an attacker wrote from reaching a terminal as such.
  const safe = JSON.stringify(text).slice(1, -1);
  return safe.length > 120 ? `${safe.slice(0, 117)}...` : safe;
}
