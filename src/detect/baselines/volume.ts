import { DAY_MS, dayKey, MAX_ALERT_EVENTS, reason, utcDay } from "../alert.js";
import { BUILTIN_RULES, type EventContext, type Hit, NO_HITS, type Notify, type Seen, type StatefulRule } from "../hit.js";
import type { ResolvedSettings } from "../settings.js";
import { mapEntries, seenList } from "../builtin/time-window.js";

interface AgentVolume {
  /** UTC day number (ms / DAY_MS) of the agent's first event. */
  firstDay: number;
  learned: boolean;
  /** Events per UTC day number, for the last historyDays + 1 days. */
  counts: Map<number, number>;
  /** Threshold of the day it was computed for: the history does not change within a day. */
  thresholdDay: number;
  threshold: number;
  median: number;
  /** The latest events of recentDay, for the alert. */
  recent: Seen[];
  recentDay: number;
}

/**
 * charter/volume (Elastic's threshold against history): an agent's events in a UTC day against
 * the median of its own previous historyDays (days without events count as zero). It fires when
 * the day's count exceeds both median × factor and median + minimumIncrease, and so never on
 * small agents' noise. An agent learns for learningDays from its first event, announced.
 */
export class VolumeRule implements StatefulRule {
  readonly rule = BUILTIN_RULES.volume;
  private agents = new Map<string, AgentVolume>();

  observe(ctx: EventContext, settings: ResolvedSettings, notify: Notify): readonly Hit[] {
    const { event, ms } = ctx;
    if (settings.disabled.has(this.rule.id) || event.agent === null || ctx.isApproval) return NO_HITS;
    const { historyDays, learningDays, factor, minimumIncrease } = settings.volume;
    const dayNumber = Math.floor(ms / DAY_MS);
    let state = this.agents.get(event.agent);
    if (!state) {
      state = { firstDay: dayNumber, learned: false, counts: new Map(), thresholdDay: -1, threshold: Infinity, median: 0, recent: [], recentDay: dayNumber };
      this.agents.set(event.agent, state);
      notify({ key: `volume:learning:${event.agent}`, kind: "learning", agent: event.agent, text: `volume baseline for ${event.agent} is learning until ${new Date((dayNumber + learningDays) * DAY_MS).toISOString().slice(0, 10)}; it raises no alert before then`, at: event.observedAt });
    }
    const count = (state.counts.get(dayNumber) ?? 0) + 1;
    state.counts.set(dayNumber, count);
    if (dayNumber >= state.recentDay) {
      if (dayNumber > state.recentDay) [state.recent, state.recentDay] = [[], dayNumber];
      state.recent.push(ctx.seen);
      if (state.recent.length > MAX_ALERT_EVENTS * 2) state.recent.splice(0, state.recent.length - MAX_ALERT_EVENTS);
    }
    if (dayNumber - state.firstDay < learningDays) return NO_HITS;
    if (!state.learned) {
      state.learned = true;
      notify({ key: `volume:learned:${event.agent}`, kind: "learned", agent: event.agent, text: `volume baseline for ${event.agent} finished learning (${learningDays} days of history)`, at: event.observedAt });
    }
    if (dayNumber > state.thresholdDay) {
      for (const d of state.counts.keys()) if (d < dayNumber - historyDays) state.counts.delete(d);
      const history: number[] = [];
      for (let d = Math.max(state.firstDay, dayNumber - historyDays); d < dayNumber; d++) history.push(state.counts.get(d) ?? 0);
      history.sort((a, b) => a - b);
      const mid = history.length >> 1;
      const median = history.length === 0 ? 0 : history.length % 2 ? (history[mid] ?? 0) : ((history[mid - 1] ?? 0) + (history[mid] ?? 0)) / 2;
      state.thresholdDay = dayNumber;
      state.median = median;
      state.threshold = Math.max(median * factor, median + minimumIncrease);
    }
    if (dayNumber !== state.thresholdDay || count <= state.threshold) return NO_HITS;
    const day = utcDay(ms);
    return [
      {
        rule: this.rule,
        level: "low",
        subject: event.agent,
        windowStart: day.start,
        windowEnd: day.end,
        events: state.recent.slice(-MAX_ALERT_EVENTS),
        eventCount: count,
        why: reason(`${event.agent} has ${count} events on ${dayKey(day.start)} (UTC); its median over the previous ${Math.min(historyDays, dayNumber - state.firstDay)} days is ${state.median}`, [reason(`fires above ${Math.ceil(state.threshold)}: the larger of median × ${factor} and median + ${minimumIncrease}`)]),
      },
    ];
  }

  snapshot(): unknown {
    return [...this.agents].map(([agent, s]) => [agent, { ...s, counts: [...s.counts], threshold: Number.isFinite(s.threshold) ? s.threshold : null }]);
  }

  restore(state: unknown): void {
    this.agents = new Map();
    for (const [agent, v] of mapEntries(state)) {
      const s = v as Partial<Omit<AgentVolume, "counts">> & { counts?: unknown; threshold?: number | null };
      if (typeof s.firstDay !== "number") continue;
      const counts = new Map(
        (Array.isArray(s.counts) ? s.counts : []).filter((e: unknown): e is [number, number] => Array.isArray(e) && typeof e[0] === "number" && typeof e[1] === "number"),
      );
      this.agents.set(agent, {
        firstDay: s.firstDay,
        learned: s.learned === true,
        counts,
        thresholdDay: typeof s.thresholdDay === "number" ? s.thresholdDay : -1,
        threshold: typeof s.threshold === "number" ? s.threshold : Infinity,
        median: typeof s.median === "number" ? s.median : 0,
        recent: seenList(s.recent),
        recentDay: typeof s.recentDay === "number" ? s.recentDay : s.firstDay,
      });
    }
  }
}
