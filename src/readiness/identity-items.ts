import type { ReadinessFacts } from "./facts.js";
import { command, type Failure, type ItemResult, type Link, statusOf, unreadableLedger } from "./result.js";
import type { ItemDefinition } from "./checklist-items.js";

const event = (seq: number, note?: string): Link => (note === undefined ? { kind: "event", ref: String(seq) } : { kind: "event", ref: String(seq), note });

/**
 * Inventory: every identity that acted in the period belongs to an agent with a manifest. The
 * trail's attribution is Charter's own provisioning state (identity roles, leases, tokens), so a
 * principal it could not attribute acted on a protected resource outside change control.
 */
export function inventoryItem(def: ItemDefinition, facts: ReadinessFacts): ItemResult {
  const base = { ...def, children: [] };
  if (facts.trail === null) return { ...base, status: "not-applicable", checked: 0, summary: "No action trail is configured: no identity was seen acting to check against the inventory.", failures: [], links: [] };
  if (facts.ledger.indexRefused !== null) {
    return { ...base, status: "fail", checked: 0, summary: "The inventory of agents cannot be read from the evidence branch.", failures: [unreadableLedger(facts.ledger.branch, facts.ledger.indexRefused)], links: [] };
  }
  const known = new Set(facts.ledger.agents.map((a) => a.agent));
  const failures: Failure[] = [];
  for (const p of facts.trail.principals) {
    if (p.agent === null) {
      failures.push({
        subject: `principal ${p.principal}`,
        reason: `${p.events} event${p.events === 1 ? "" : "s"} in the period attributed to no agent: no manifest's identity, lease or token stood for it`,
        fix: "If an agent uses it, give the agent a manifest (agents/<id>/agent.yaml) and let charter sync issue its own identity; otherwise revoke the principal's access to the resource.",
        links: [event(p.firstSeq, "the first such event; charter trail prove shows it with its proof"), command(`charter audit actions --unattributed ${facts.periodArgs}`.trim())],
      });
    } else if (!known.has(p.agent)) {
      failures.push({
        subject: `principal ${p.principal}`,
        reason: `${p.events} event${p.events === 1 ? "" : "s"} attributed to agent ${p.agent}, which no manifest on ${facts.ledger.branch} defines (deleted or never approved)`,
        fix: `Revoke the credentials still issued to ${p.agent} (charter drift shows them), or approve a manifest for it.`,
        links: [event(p.firstSeq), command(`charter audit actions --agent ${p.agent} ${facts.periodArgs}`.trim())],
      });
    }
  }
  const checked = new Set(facts.trail.principals.map((p) => p.principal)).size;
  const summary =
    checked === 0
      ? "No event was recorded in the period: no identity acted."
      : `${checked} identit${checked === 1 ? "y" : "ies"} acted in the period; ${failures.length === 0 ? "each belongs to an agent with a manifest" : `${failures.length} do${failures.length === 1 ? "es" : ""} not`}.`;
  return { ...base, status: statusOf(checked, failures), checked, summary, failures, links: [command(`charter audit actions --by-agent ${facts.periodArgs}`.trim()), command("charter audit access-review")] };
}

/**
 * Identities: one identity per agent, used by that agent alone. A principal attributed to two
 * agents is shared; one seen both as an agent and outside any binding of it was also used by
 * someone Charter did not issue it to (a person logging in with the agent's role, a lease name
 * used after it lapsed); two live bindings of one principal to different agents are a shared
 * identity even before it acts.
 */
export function identitiesItem(def: ItemDefinition, facts: ReadinessFacts): ItemResult {
  const base = { ...def, children: [] };
  if (facts.trail === null) return { ...base, status: "not-applicable", checked: 0, summary: "No action trail is configured: no identity was seen to check for sharing.", failures: [], links: [] };
  const seen = new Map<string, { agents: string[]; unbound: number; events: number; firstSeq: number }>();
  for (const p of facts.trail.principals) {
    const entry = seen.get(p.principal) ?? { agents: [], unbound: 0, events: 0, firstSeq: p.firstSeq };
    if (p.agent === null) entry.unbound += p.events;
    else entry.agents.push(p.agent);
    entry.events += p.events;
    entry.firstSeq = Math.min(entry.firstSeq, p.firstSeq);
    seen.set(p.principal, entry);
  }
  const failures: Failure[] = [];
  for (const [principal, s] of [...seen].sort(([a], [b]) => a.localeCompare(b))) {
    const agents = [...new Set(s.agents)].sort();
    const links = [event(s.firstSeq), command(`charter audit actions --by-agent ${facts.periodArgs}`.trim(), `the events of ${principal}, by agent`)];
    if (agents.length > 1) {
      failures.push({ subject: `principal ${principal}`, reason: `acted as ${agents.length} agents in the period: ${agents.join(", ")}`, fix: "Give each agent its own identity (one manifest each, charter sync issues the identities) and revoke the shared one.", links });
    } else if (agents.length === 1 && s.unbound > 0) {
      failures.push({
        subject: `principal ${principal}`,
        reason: `acted as agent ${agents[0] ?? ""} and, ${s.unbound} time${s.unbound === 1 ? "" : "s"}, outside any binding to it: someone other than the agent used the identity`,
        fix: `Find who used it (charter audit actions --unattributed), rotate ${agents[0] ?? "the agent"}'s credentials (charter sync), and give people their own accounts.`,
        links,
      });
    }
  }
  for (const b of facts.trail.sharedBindings) {
    failures.push({
      subject: `principal ${b.principal}`,
      reason: `bound to ${b.agents.length} agents at once: ${b.agents.join(", ")}`,
      fix: "Revoke the principal and issue each agent its own (leases and tokens are never reused; charter sync re-issues identities).",
      links: [command("charter trail token list"), command("charter drift")],
    });
  }
  const checked = seen.size + facts.trail.sharedBindings.length;
  const summary = checked === 0 ? "No event was recorded in the period and no identity is bound twice." : `${seen.size} identit${seen.size === 1 ? "y" : "ies"} checked; ${failures.length === 0 ? "none is shared by two agents or used outside its agent" : `${failures.length} shared or used by someone else`}.`;
  return { ...base, status: statusOf(checked, failures), checked, summary, failures, links: [command(`charter audit actions --by-agent ${facts.periodArgs}`.trim())] };
}
