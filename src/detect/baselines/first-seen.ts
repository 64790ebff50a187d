import { DAY_MS, reason, utcDay } from "../alert.js";
import { BUILTIN_RULES, type EventContext, type Hit, NO_HITS, type Notify, type StatefulRule } from "../hit.js";
import type { ResolvedSettings } from "../settings.js";
import { mapEntries } from "../builtin/time-window.js";
import { termOf } from "./terms.js";

/** Terms remembered per agent; past this, the tenth unused for longest is forgotten. */
const MAX_TERMS = 20_000;

interface AgentTerms {
  /** Event time of the agent's first event: the learning period starts here. */
  since: number;
  learned: boolean;
  /** Term → last time used (event ms). */
  terms: Map<string, number>;
}

/**
 * charter/first-seen (Elastic calls it new_terms): an agent uses a resource or action (see
 * termOf) it has not used in the last lookbackDays. Each agent first learns for learningDays
 * from its first event, announced when it starts and when it ends; nothing fires meanwhile.
 * Events other rules already report (out of scope, retired, unattributed) and approvals are left
 * out: the baseline is about the agent's own approved behaviour drifting.
 */
export class FirstSeenRule implements StatefulRule {
  readonly rule = BUILTIN_RULES.firstSeen;
  private agents = new Map<string, AgentTerms>();

  observe(ctx: EventContext, settings: ResolvedSettings, notify: Notify): readonly Hit[] {
    const { event, ms } = ctx;
    if (settings.disabled.has(this.rule.id) || event.agent === null || ctx.isApproval || event.inScope === false || ctx.manifest?.status === "retired" || event.flags.includes("resource-unmapped")) return NO_HITS;
    const term = termOf(event);
    if (term === undefined) return NO_HITS;
    const { lookbackDays, learningDays } = settings.firstSeen;
    let state = this.agents.get(event.agent);
    if (!state) {
      state = { since: ms, learned: learningDays === 0, terms: new Map() };
      this.agents.set(event.agent, state);
      if (!state.learned) notify({ key: `first-seen:learning:${event.agent}`, kind: "learning", agent: event.agent, text: `first-seen baseline for ${event.agent} is learning until ${new Date(ms + learningDays * DAY_MS).toISOString()}; it raises no alert before then`, at: event.observedAt });
    }
    const last = state.terms.get(term);
    if (last === undefined || ms > last) state.terms.set(term, ms);
    if (state.terms.size > MAX_TERMS) {
      forgetOldest(state.terms);
      notify({ key: `first-seen:limit:${event.agent}`, kind: "state-limit", agent: event.agent, text: `first-seen baseline for ${event.agent} keeps at most ${MAX_TERMS} resources; the least recently used are forgotten`, at: event.observedAt });
    }
    if (ms < state.since + learningDays * DAY_MS) return NO_HITS;
    if (!state.learned) {
      state.learned = true;
      notify({ key: `first-seen:learned:${event.agent}`, kind: "learned", agent: event.agent, text: `first-seen baseline for ${event.agent} finished learning (${learningDays} days from ${new Date(state.since).toISOString()})`, at: event.observedAt });
    }
    if (last !== undefined && ms - last <= lookbackDays * DAY_MS) return NO_HITS;
    const day = utcDay(ms);
    return [
      {
        rule: this.rule,
        level: "low",
        subject: `${event.agent}|${term}`,
        windowStart: day.start,
        windowEnd: day.end,
        events: [ctx.seen],
        eventCount: 1,
        why: reason(
          last === undefined ? `${event.agent} used ${term} for the first time since its baseline started (${new Date(state.since).toISOString().slice(0, 10)})` : `${event.agent} used ${term}, last used ${new Date(last).toISOString().slice(0, 10)}, more than ${lookbackDays} days ago`,
          [reason(`${event.action} on ${event.resource ?? "?"}, outcome ${event.outcome}`)],
        ),
      },
    ];
  }

  snapshot(): unknown {
    return [...this.agents].map(([agent, s]) => [agent, { since: s.since, learned: s.learned, terms: [...s.terms] }]);
  }

  restore(state: unknown): void {
    this.agents = new Map();
    for (const [agent, v] of mapEntries(state)) {
      const s = v as { since?: unknown; learned?: unknown; terms?: unknown } | null;
      if (!s || typeof s.since !== "number") continue;
      const terms = new Map(mapEntries(s.terms).filter((e): e is [string, number] => typeof e[1] === "number"));
      this.agents.set(agent, { since: s.since, learned: s.learned === true, terms });
    }
  }
}

/** Drops the tenth of the terms unused for longest (a rare scan: only when the limit is reached). */
function forgetOldest(terms: Map<string, number>): void {
  const sorted = [...terms].sort((a, b) => a[1] - b[1]);
  for (const [term] of sorted.slice(0, Math.ceil(sorted.length / 10))) terms.delete(term);
}
