import { MAX_ALERT_EVENTS, reason } from "../alert.js";
import type { EventView, FieldValue } from "../event-fields.js";
import type { Hit, Seen } from "../hit.js";
import { firstAtOrAfter, insertByTime, mapEntries, seenList } from "../builtin/time-window.js";
import type { CorrelationRule } from "./load-rules.js";

/** Groups kept per correlation; past this, the least recently active are forgotten first. */
const MAX_GROUPS = 10_000;

type GroupState =
  /** event_count: matching events in the window. */
  | { readonly t: "events"; events: Seen[] }
  /** value_count: the latest event per distinct value. */
  | { readonly t: "values"; values: Map<string, Seen> }
  /** temporal: the latest match of each referenced rule, by index. */
  | { readonly t: "latest"; latest: (Seen | null)[] }
  /** temporal_ordered: for each prefix of the rule list, the chain with the latest start. */
  | { readonly t: "chains"; chains: (Seen[] | null)[] };

/**
 * The running state of one correlation rule: per group-by key, what its type needs to decide,
 * as events arrive in order. When a group's condition is met it fires and starts over, so the
 * next alert needs a fresh window's worth of events.
 */
export class CorrelationState {
  private groups = new Map<string, GroupState>();

  constructor(readonly rule: CorrelationRule) {}

  /** Feeds one event that matched some of the rule's referenced rules (indices into rule.rules). */
  observe(view: EventView, seen: Seen, matched: readonly number[]): Hit | undefined {
    const key = this.rule.groupBy.map((f) => groupValue(view.value(f))).join("\u0000");
    let group = this.groups.get(key);
    if (group) {
      // Re-inserted so that Map order is least recently active first.
      this.groups.delete(key);
    } else {
      group = this.fresh();
    }
    this.groups.set(key, group);
    if (this.groups.size > MAX_GROUPS) {
      const oldest = this.groups.keys().next();
      if (!oldest.done) this.groups.delete(oldest.value);
    }
    const span = this.rule.timespanMs;
    const from = seen.ms - span;
    let fired: Seen[] | undefined;
    let counted = 0;
    switch (group.t) {
      case "events": {
        insertByTime(group.events, seen);
        group.events.splice(0, firstAtOrAfter(group.events, from + 1));
        const need = this.needed();
        if (group.events.length > need) group.events.splice(0, group.events.length - need);
        if (group.events.length >= need) [fired, counted] = [group.events, group.events.length];
        break;
      }
      case "values": {
        const field = this.rule.field;
        const raw = field ? view.value(field) : null;
        const values: readonly string[] = raw === null ? [] : Array.isArray(raw) ? (raw as readonly string[]) : [String(raw)];
        for (const v of values) group.values.set(v, seen);
        for (const [v, s] of group.values) if (s.ms <= from) group.values.delete(v);
        if (group.values.size >= this.needed()) {
          fired = [...group.values.values()].sort((a, b) => a.ms - b.ms);
          counted = group.values.size;
        }
        break;
      }
      case "latest": {
        for (const i of matched) group.latest[i] = seen;
        group.latest = group.latest.map((s) => (s && s.ms > from ? s : null));
        const present = group.latest.filter((s): s is Seen => s !== null);
        if (present.length === group.latest.length) {
          fired = present.sort((a, b) => a.ms - b.ms);
          counted = fired.length;
        }
        break;
      }
      case "chains": {
        // Highest index first, so one event cannot stand for two consecutive steps.
        for (const i of [...matched].sort((a, b) => b - a)) {
          if (i === 0) {
            group.chains[0] = [seen];
            continue;
          }
          const prev = group.chains[i - 1];
          const start = prev?.[0];
          const last = prev?.[prev.length - 1];
          if (!prev || !start || !last || start.ms <= from || last.ms > seen.ms) continue;
          const current = group.chains[i];
          if (!current || (current[0]?.ms ?? 0) <= start.ms) group.chains[i] = [...prev, seen];
        }
        const done = group.chains[group.chains.length - 1];
        if (done && (done[0]?.ms ?? 0) > from) [fired, counted] = [done, done.length];
        break;
      }
    }
    if (!fired) return undefined;
    const events = fired.slice(-MAX_ALERT_EVENTS);
    const start = fired[0]?.ms ?? seen.ms;
    this.groups.set(key, this.fresh());
    return {
      rule: { id: this.rule.id, kind: "correlation", title: this.rule.title, file: this.rule.file },
      level: this.rule.level,
      subject: key,
      windowStart: start,
      windowEnd: seen.ms,
      events,
      eventCount: counted,
      why: reason(this.describe(counted, key), [reason(`rules: ${this.rule.rules.map((r) => r.name ?? r.id).join(", ")}`), reason(`within ${Math.round(this.rule.timespanMs / 1000)} seconds, from ${fired[0]?.observedAt ?? ""} to ${seen.observedAt}`)]),
    };
  }

  private needed(): number {
    const t = this.rule.threshold;
    return t === null ? 1 : t.op === "gt" ? t.value + 1 : Math.max(1, t.value);
  }

  private fresh(): GroupState {
    switch (this.rule.type) {
      case "event_count":
        return { t: "events", events: [] };
      case "value_count":
        return { t: "values", values: new Map() };
      case "temporal":
        return { t: "latest", latest: this.rule.rules.map(() => null) };
      case "temporal_ordered":
        return { t: "chains", chains: this.rule.rules.map(() => null) };
    }
  }

  private describe(count: number, key: string): string {
    const group = this.rule.groupBy.length > 0 ? ` for ${this.rule.groupBy.map((f, i) => `${f.name}=${key.split("\u0000")[i] ?? ""}`).join(", ")}` : "";
    switch (this.rule.type) {
      case "event_count":
        return `${count} matching events${group} (${this.rule.threshold?.op ?? "gte"} ${this.rule.threshold?.value ?? 1})`;
      case "value_count":
        return `${count} distinct values of ${this.rule.field?.name ?? "?"}${group} (${this.rule.threshold?.op ?? "gte"} ${this.rule.threshold?.value ?? 1})`;
      case "temporal":
        return `every referenced rule matched${group}`;
      case "temporal_ordered":
        return `the referenced rules matched in order${group}`;
    }
  }

  snapshot(): unknown {
    return [...this.groups].map(([key, g]) => [key, g.t === "values" ? { t: g.t, values: [...g.values] } : g]);
  }

  restore(state: unknown): void {
    this.groups = new Map();
    for (const [key, v] of mapEntries(state)) {
      const g = v as { t?: unknown; events?: unknown; values?: unknown; latest?: unknown; chains?: unknown };
      const fresh = this.fresh();
      if (g.t !== fresh.t) continue;
      if (fresh.t === "events") fresh.events = seenList(g.events);
      else if (fresh.t === "values") fresh.values = new Map(mapEntries(g.values).flatMap(([value, s]) => seenList([s]).map((x) => [value, x] as [string, Seen])));
      else if (fresh.t === "latest" && Array.isArray(g.latest)) fresh.latest = fresh.latest.map((_, i) => seenList([(g.latest as unknown[])[i]])[0] ?? null);
      else if (fresh.t === "chains" && Array.isArray(g.chains)) fresh.chains = fresh.chains.map((_, i) => (Array.isArray((g.chains as unknown[])[i]) ? seenList((g.chains as unknown[])[i]) : null));
      this.groups.set(key, fresh);
    }
  }
}

function groupValue(v: FieldValue): string {
  if (v === null) return "";
  if (typeof v === "object") return v.join(",");
  return String(v);
}
