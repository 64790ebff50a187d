import { POLICY_PATH } from "../change/governed-paths.js";
import { parsePermission } from "../manifest/permission.js";
import { GITHUB_PROVIDER, LOCAL_PROVIDER, POSTGRES_PROVIDER, providerKey, REDIS_PROVIDER, SQUID_PROVIDER, type ProviderDescriptor } from "../provision/routing.js";
import type { ItemDefinition } from "./checklist-items.js";
import type { ReadinessFacts, SourceFact } from "./facts.js";
import { command, type Failure, type ItemResult, statusOf, unreadableLedger } from "./result.js";

/**
 * The trail source that records what a provider enforces, from the infrastructure's side:
 * PostgreSQL's pgaudit log of the same instance, the Redis server's ACL LOG, the egress proxy's
 * access log, GitHub's token issue records, and for local tokens the tool gateway reporting
 * through its attested ingest token. Agent telemetry never counts: it is self-reported.
 */
function recordingSource(provider: ProviderDescriptor): { source: string; instance: string | null } {
  if (provider.name === POSTGRES_PROVIDER) return { source: "pgaudit", instance: provider.instance ?? null };
  if (provider.name === REDIS_PROVIDER) return { source: "redis-acl", instance: provider.instance ?? null };
  if (provider.name === SQUID_PROVIDER) return { source: "squid", instance: provider.instance ?? null };
  if (provider.name === GITHUB_PROVIDER) return { source: "github-token", instance: null };
  return { source: "events", instance: null };
}

function attestedSource(sources: readonly SourceFact[], wanted: { source: string; instance: string | null }): SourceFact | undefined {
  return sources.find((s) => s.attested && s.source === wanted.source && (wanted.instance === null || s.instance === wanted.instance));
}

interface Checked {
  readonly agent: string;
  readonly system: string;
  readonly failure: Failure | null;
}

/**
 * Enforcement coverage: every permission an active agent holds in its approved manifest (as the
 * evidence branch records it) is enforced by a configured provider, and that provider's
 * enforcement is recorded by an attested trail source that exists in the trail. Answered per
 * agent and per permission system, with each gap named.
 */
export function enforcementItem(def: ItemDefinition, facts: ReadinessFacts): ItemResult {
  if (facts.ledger.indexRefused !== null) {
    const failures = [unreadableLedger(facts.ledger.branch, facts.ledger.indexRefused)];
    return { ...def, status: "fail", checked: 0, summary: "The approved permissions cannot be read from the evidence branch.", failures, links: [], children: [] };
  }
  const active = facts.ledger.agents.filter((a) => a.status === "active");
  const sources = facts.trail?.sources ?? [];
  const checks: Checked[] = [];
  for (const agent of active) {
    for (const raw of agent.permissions) {
      const parsed = parsePermission(raw);
      const links = [command(`charter audit agent ${agent.agent} --at ${new Date(facts.period.untilMs).toISOString()}`, "the approved manifest facts and the record that set them")];
      if (!parsed.ok) {
        checks.push({ agent: agent.agent, system: raw.split(":")[0] ?? "unknown", failure: { subject: `${agent.agent}: ${raw}`, reason: `the recorded permission is not one Charter can read: ${parsed.reason}`, fix: "Correct the permission in the manifest through a pull request.", links } });
        continue;
      }
      const permission = parsed.permission;
      const enforcing = facts.ledger.providers.filter((p) => p.handles(permission));
      if (enforcing.length === 0) {
        checks.push({
          agent: agent.agent,
          system: permission.system,
          failure: { subject: `${agent.agent}: ${raw}`, reason: "no configured provider enforces it", fix: `Configure a provider for ${permission.system}${permission.instance === undefined ? "" : ` instance ${permission.instance}`} under provisioning.providers in ${POLICY_PATH} (charter plan shows what it would grant), or remove the permission.`, links: [...links, command("charter plan")] },
        });
        continue;
      }
      const recorded = enforcing.map((p) => ({ provider: p, wanted: recordingSource(p) })).find((e) => attestedSource(sources, e.wanted) !== undefined);
      if (recorded === undefined) {
        const wanted = enforcing.map((p) => {
          const w = recordingSource(p);
          return `${w.source}${w.instance === null ? "" : `/${w.instance}`} (for ${providerKey(p)})`;
        });
        checks.push({
          agent: agent.agent,
          system: permission.system,
          failure: {
            subject: `${agent.agent}: ${raw}`,
            reason: facts.trail === null ? `enforced by ${enforcing.map(providerKey).join(", ")}, but no action trail is configured to record it` : `enforced by ${enforcing.map(providerKey).join(", ")}, but the trail has no attested source recording it: wanted ${wanted.join(" or ")}`,
            fix: enforcing.some((p) => p.name === LOCAL_PROVIDER)
              ? "Send the tool gateway's log to the trail with a source ingest token (charter trail token create --source NAME), or follow the system's own log (docs/operations.md)."
              : "Follow the system's log into the trail (pgaudit, the Redis ACL LOG, the proxy's access log; docs/operations.md) and check charter trail status lists it as attested.",
            links: [...links, command("charter trail status")],
          },
        });
        continue;
      }
      checks.push({ agent: agent.agent, system: permission.system, failure: null });
    }
  }
  const group = (key: (c: Checked) => string, prefix: string, noun: string): ItemResult[] =>
    [...new Set(checks.map(key))].sort().map((k) => {
      const mine = checks.filter((c) => key(c) === k);
      const failures = mine.flatMap((c) => (c.failure === null ? [] : [c.failure]));
      return {
        id: `${def.id}/${prefix}/${k}`,
        title: `${noun} ${k}`,
        criteria: def.criteria,
        status: statusOf(mine.length, failures),
        checked: mine.length,
        summary: `${mine.length - failures.length} of ${mine.length} permission${mine.length === 1 ? "" : "s"} enforced and recorded`,
        failures,
        links: [],
        children: [],
      };
    });
  const failures = checks.flatMap((c) => (c.failure === null ? [] : [c.failure]));
  const summary =
    checks.length === 0
      ? active.length === 0
        ? "No active agent on the evidence branch: no permission to check."
        : "The active agents hold no permissions."
      : `${checks.length - failures.length} of ${checks.length} permissions of ${active.length} active agent${active.length === 1 ? "" : "s"} are enforced by a provider and recorded by an attested source.`;
  return {
    ...def,
    status: statusOf(checks.length, failures),
    checked: checks.length,
    summary,
    failures,
    links: [command("charter audit access-review"), command("charter trail status")],
    children: [...group((c) => c.agent, "agent", "agent"), ...group((c) => c.system, "system", "permission system")],
  };
}
