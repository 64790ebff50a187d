import { dayKey, MAX_ALERT_EVENTS, reason, utcDay } from "../alert.js";
import { BUILTIN_RULES, type EventContext, type Hit, NO_HITS, type Notify, type Seen, type StatefulRule } from "../hit.js";
import { priceFor, type ResolvedSettings } from "../settings.js";
import { mapEntries, seenList } from "./time-window.js";

interface DaySpend {
  day: number;
  usd: number;
  count: number;
  /** The most expensive events of the day, for the alert. */
  events: Seen[];
}

/**
 * charter/cost-limit: the agent's model spend in a UTC day above runtime.maxCostPerDayUsd. Spend
 * is token usage reported by telemetry (inputTokens, outputTokens of the event's model) priced
 * from the settings' price table. A model without a price is announced once and not counted:
 * guessing a price would make the alert's figure a guess too.
 */
export class CostLimitRule implements StatefulRule {
  readonly rule = BUILTIN_RULES.costLimit;
  private spend = new Map<string, DaySpend>();

  observe(ctx: EventContext, settings: ResolvedSettings, notify: Notify): readonly Hit[] {
    const { event, manifest } = ctx;
    if (settings.disabled.has(this.rule.id) || event.agent === null || event.model === null) return NO_HITS;
    const input = event.inputTokens ?? 0;
    const output = event.outputTokens ?? 0;
    if (!(input > 0 || output > 0)) return NO_HITS;
    const price = priceFor(settings.prices, event.model);
    if (!price) {
      notify({ key: `unpriced:${event.model}`, kind: "unpriced-model", agent: null, text: `model ${event.model} has no price in detection/settings.yml: its tokens are not counted towards maxCostPerDayUsd`, at: event.observedAt });
      return NO_HITS;
    }
    const usd = (input * price.inputUsdPerMillionTokens + output * price.outputUsdPerMillionTokens) / 1_000_000;
    const day = utcDay(ctx.ms);
    let spend = this.spend.get(event.agent);
    if (!spend || spend.day !== day.start) {
      // A late event from an earlier day is counted in neither day: its day was already judged.
      if (spend && day.start < spend.day) return NO_HITS;
      spend = { day: day.start, usd: 0, count: 0, events: [] };
      this.spend.set(event.agent, spend);
    }
    spend.usd += usd;
    spend.count++;
    spend.events.push(ctx.seen);
    if (spend.events.length > MAX_ALERT_EVENTS * 2) spend.events.splice(0, spend.events.length - MAX_ALERT_EVENTS);
    const limit = manifest?.runtime?.maxCostPerDayUsd;
    if (limit === undefined || spend.usd <= limit) return NO_HITS;
    return [
      {
        rule: this.rule,
        level: "medium",
        subject: event.agent,
        windowStart: day.start,
        windowEnd: day.end,
        events: spend.events.slice(-MAX_ALERT_EVENTS),
        eventCount: spend.count,
        why: reason(`${event.agent} spent $${spend.usd.toFixed(2)} on models on ${dayKey(day.start)} (UTC); its manifest allows $${limit} a day`, [reason(`${spend.count} model calls priced from detection/settings.yml; the last: ${event.model}, ${input} input and ${output} output tokens`)]),
      },
    ];
  }

  snapshot(): unknown {
    return [...this.spend];
  }

  restore(state: unknown): void {
    this.spend = new Map();
    for (const [agent, v] of mapEntries(state)) {
      const s = v as Partial<DaySpend> | null;
      if (s && typeof s.day === "number" && typeof s.usd === "number" && typeof s.count === "number") this.spend.set(agent, { day: s.day, usd: s.usd, count: s.count, events: seenList(s.events) });
    }
  }
}
