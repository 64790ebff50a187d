import { MAX_ALERT_EVENTS, reason, utcDay } from "../alert.js";
import type { AlertRule } from "../alert.js";
import { BUILTIN_RULES, type EventContext, type Hit, NO_HITS, type Seen, type StatefulRule } from "../hit.js";
import type { ResolvedSettings } from "../settings.js";
import { firstAtOrAfter, insertByTime, mapEntries, prune, seenList } from "./time-window.js";

/** Events kept per identity in a rate window, whatever the rate: a flood cannot exhaust memory. */
const MAX_WINDOW_EVENTS = 20_000;
const MINUTE = 60_000;
/** Identities with a window at once; unattributed principals are attacker-chosen, so they are bounded too. */
const MAX_IDENTITIES = 50_000;

/**
 * A request is an action on a resource system (PostgreSQL, Redis, HTTP, GitHub). Tool spans and
 * model calls describe the agent's intent and would count the same work twice.
 */
function isRequest(ctx: EventContext): boolean {
  const system = ctx.event.system;
  return system !== null && system !== "tool";
}

/** Counts events per key in a sliding window of event time and fires when the count passes a limit. */
abstract class SlidingCount implements StatefulRule {
  abstract readonly rule: AlertRule;
  private windows = new Map<string, Seen[]>();

  /** The key, window and limit for this event, or undefined when the rule does not apply. */
  protected abstract applies(ctx: EventContext, settings: ResolvedSettings): { key: string; windowMs: number; limit: number; inclusive: boolean } | undefined;
  protected abstract describe(key: string, count: number, limit: number, windowMs: number): string;

  observe(ctx: EventContext, settings: ResolvedSettings): readonly Hit[] {
    if (settings.disabled.has(this.rule.id)) return NO_HITS;
    const spec = this.applies(ctx, settings);
    if (!spec) return NO_HITS;
    let list = this.windows.get(spec.key);
    if (!list) {
      list = [];
      this.windows.set(spec.key, list);
      if (this.windows.size > MAX_IDENTITIES) {
        // Map order is creation order: the oldest identity's window goes first.
        const oldest = this.windows.keys().next();
        if (!oldest.done) this.windows.delete(oldest.value);
      }
    }
    insertByTime(list, ctx.seen);
    prune(list, spec.windowMs, MAX_WINDOW_EVENTS);
    const from = firstAtOrAfter(list, ctx.ms - spec.windowMs + 1);
    const to = list[list.length - 1]?.ms === ctx.ms ? list.length : firstAtOrAfter(list, ctx.ms + 1);
    const count = to - from;
    if (spec.inclusive ? count < spec.limit : count <= spec.limit) return NO_HITS;
    const inWindow = list.slice(from, to);
    const day = utcDay(ctx.ms);
    return [
      {
        rule: this.rule,
        level: "medium",
        subject: spec.key,
        windowStart: day.start,
        windowEnd: day.end,
        events: inWindow.slice(-MAX_ALERT_EVENTS),
        eventCount: inWindow.length,
        why: reason(this.describe(spec.key, inWindow.length, spec.limit, spec.windowMs), [reason(`from ${inWindow[0]?.observedAt ?? ""} to ${ctx.event.observedAt}`)]),
      },
    ];
  }

  snapshot(): unknown {
    return [...this.windows].filter(([, list]) => list.length > 0);
  }

  restore(state: unknown): void {
    this.windows = new Map(mapEntries(state).map(([k, v]) => [k, seenList(v)]));
  }

  /** Forgets identities whose newest event is older than the cutoff. */
  forget(cutoff: number): void {
    for (const [key, list] of this.windows) if ((list[list.length - 1]?.ms ?? 0) < cutoff) this.windows.delete(key);
  }
}

/** charter/rate-limit: more requests in any 60 seconds than the manifest's runtime.maxRequestsPerMinute. */
export class RateLimitRule extends SlidingCount {
  readonly rule = BUILTIN_RULES.rateLimit;

  protected applies(ctx: EventContext): { key: string; windowMs: number; limit: number; inclusive: boolean } | undefined {
    const limit = ctx.manifest?.runtime?.maxRequestsPerMinute;
    if (limit === undefined || ctx.event.agent === null || ctx.manifest?.status === "retired" || !isRequest(ctx)) return undefined;
    return { key: ctx.event.agent, windowMs: MINUTE, limit, inclusive: false };
  }

  protected describe(key: string, count: number, limit: number): string {
    return `${key} made ${count} requests within 60 seconds; its manifest allows ${limit} per minute`;
  }
}

/** charter/denied-burst: many permission-denied events from one identity in a short window. */
export class DeniedBurstRule extends SlidingCount {
  readonly rule = BUILTIN_RULES.deniedBurst;

  protected applies(ctx: EventContext, settings: ResolvedSettings): { key: string; windowMs: number; limit: number; inclusive: boolean } | undefined {
    if (ctx.event.outcome !== "denied" || ctx.isApproval) return undefined;
    const key = ctx.event.agent ?? `${ctx.event.principal}@${ctx.event.sourceInstance}`;
    return { key, windowMs: settings.deniedBurst.windowMs, limit: settings.deniedBurst.count, inclusive: true };
  }

  protected describe(key: string, count: number, _limit: number, windowMs: number): string {
    return `${key} was refused ${count} times within ${Math.round(windowMs / 1000)} seconds: something is probing, or its access is broken`;
  }
}
