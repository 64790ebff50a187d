import { CharterError } from "../errors.js";
import type { TrailEvent } from "../trail/event.js";
import { type Alert, alertId, DATA_CLASS_SEVERITY, DAY_MS, maxSeverity, type Severity, utcDay } from "./alert.js";
import { FirstSeenRule } from "./baselines/first-seen.js";
import { VolumeRule } from "./baselines/volume.js";
import { ApprovalMissingRule, isApprovalEvent } from "./builtin/approval-missing.js";
import { CostLimitRule } from "./builtin/cost-limit.js";
import { DeniedBurstRule, RateLimitRule } from "./builtin/rate-rules.js";
import { scopeHits } from "./builtin/scope-rules.js";
import { EventView } from "./event-fields.js";
import { type EventContext, type Hit, type Notice, seenOf, type StatefulRule } from "./hit.js";
import { type ManifestsInForce, ownerHandles } from "./manifests-in-force.js";
import { CorrelationState } from "./sigma/correlation-state.js";
import { EMPTY_RULES, type RuleSet } from "./sigma/load-rules.js";
import type { DetectionRule } from "./sigma/rule-document.js";
import { DEFAULT_SETTINGS, type ResolvedSettings } from "./settings.js";

export interface DetectorInput {
  /** The approved manifests by agent and change record: runtime limits, lifecycle, owners. */
  readonly manifests: ManifestsInForce;
  readonly rules?: RuleSet;
  readonly settings?: ResolvedSettings;
}

/** What one call returns: new alerts (each id once in the detector's life) and notices. */
export interface DetectionOutput {
  readonly alerts: readonly Alert[];
  readonly notices: readonly Notice[];
}

/**
 * Everything a detector knows, as JSON: the last trail seq it processed, its clock, the alert ids
 * it raised (until their windows are long over), the notices it gave, and each rule's state.
 * A detector restored from it continues exactly where the snapshotted one stopped.
 */
export interface DetectorSnapshot {
  readonly format: "charter-detector/1";
  readonly position: number;
  readonly clock: number;
  readonly rulesDigest: string;
  readonly raised: readonly (readonly [string, number])[];
  readonly noticed: readonly string[];
  readonly rules: Readonly<Record<string, unknown>>;
}

const NOTHING: DetectionOutput = { alerts: [], notices: [] };
/** Notices remembered; their keys carry attacker-chosen text (a model name), so they are bounded. */
const MAX_NOTICES = 10_000;

/**
 * The detection engine. Feed it the trail's events in trail order (seq ascending); it returns
 * the alerts each event completes. It is pure and synchronous: no I/O, no wall clock. Its only
 * time is event time (observedAt) for windows and Charter's receive time (receivedAt, or
 * advance()) for waiting, so replaying the same events gives the same alerts with the same ids,
 * and an event at or below the position already processed is ignored, so a restart that replays
 * from an older point raises nothing twice.
 */
export class Detector {
  private readonly manifests: ManifestsInForce;
  private readonly rules: RuleSet;
  private readonly settings: ResolvedSettings;
  private readonly stateful: StatefulRule[];
  private readonly correlations: CorrelationState[];
  /** For each detection rule key, the correlations it feeds and its index in each. */
  private readonly feeds = new Map<string, { state: CorrelationState; index: number }[]>();
  private readonly view = new EventView();
  private positionValue = 0;
  private clock = 0;
  private raised = new Map<string, number>();
  private noticed = new Set<string>();
  private prunedAt = 0;
  private readonly matchCounts = new Map<string, number>();
  /** What the current call has found so far; emptied by output(). */
  private hits: Hit[] = [];
  private notices: Notice[] = [];

  constructor(input: DetectorInput, snapshot?: DetectorSnapshot) {
    this.manifests = input.manifests;
    this.rules = input.rules ?? EMPTY_RULES;
    this.settings = input.settings ?? DEFAULT_SETTINGS;
    this.stateful = [new RateLimitRule(), new DeniedBurstRule(), new CostLimitRule(), new ApprovalMissingRule(), new FirstSeenRule(), new VolumeRule()];
    this.correlations = this.rules.correlations.map((c) => new CorrelationState(c));
    for (const state of this.correlations) {
      state.rule.rules.forEach((r, index) => {
        const list = this.feeds.get(r.key) ?? [];
        list.push({ state, index });
        this.feeds.set(r.key, list);
      });
    }
    if (snapshot) this.restore(snapshot);
  }

  /** The seq of the last event processed: feed the trail from position + 1. */
  get position(): number {
    return this.positionValue;
  }

  process(event: TrailEvent): DetectionOutput {
    if (event.seq <= this.positionValue) return NOTHING;
    this.positionValue = event.seq;
    // The trail's log of alerts and their evaluations is Charter's own record, not an action to judge.
    if (event.source === "charter-alerts") return NOTHING;
    const received = Date.parse(event.receivedAt);
    const observed = Date.parse(event.observedAt);
    if (received > this.clock) this.clock = received;
    const ms = Number.isFinite(observed) ? observed : Number.isFinite(received) ? received : this.clock;
    const manifest = event.agent === null ? undefined : this.manifests.at(event.agent, event.manifestSeq);
    if (event.agent !== null && !manifest) {
      this.notify({ key: `manifest-missing:${event.agent}`, kind: "manifest-missing", agent: event.agent, text: `no manifest of ${event.agent} is known (change record ${event.manifestSeq ?? "none"}): its runtime limits and lifecycle cannot be checked`, at: event.observedAt });
    }
    const ctx: EventContext = { event, seen: seenOf(event, ms), ms, manifest, isApproval: isApprovalEvent(event) };
    const hits = this.hits;
    for (const h of scopeHits(ctx, this.settings)) hits.push(h);
    for (const rule of this.stateful) for (const h of rule.observe(ctx, this.settings, this.notify)) hits.push(h);
    if (this.rules.detections.length > 0) this.sigma(ctx, hits);
    for (const rule of this.stateful) if (rule.tick) for (const h of rule.tick(this.clock, this.settings, false)) hits.push(h);
    this.prune();
    return this.output();
  }

  /** Remembers a notice for the current call's output unless it was given before. */
  private readonly notify = (n: Notice): void => {
    if (this.noticed.has(n.key)) return;
    if (this.noticed.size >= MAX_NOTICES) {
      if (this.noticed.has("notice-limit")) return;
      n = { key: "notice-limit", kind: "state-limit", agent: null, text: `more than ${MAX_NOTICES} distinct notices: further ones are not given`, at: n.at };
    }
    this.noticed.add(n.key);
    this.notices.push(n);
  };

  /** How many events each Sigma detection rule (by key) matched since this detector was created: how broad it is in practice. */
  ruleMatches(): ReadonlyMap<string, number> {
    return this.matchCounts;
  }

  /** Moves Charter's clock forward without an event (a quiet trail still lets waiting rules fire). */
  advance(now: string): DetectionOutput {
    const t = Date.parse(now);
    if (!Number.isFinite(t) || t <= this.clock) return NOTHING;
    this.clock = t;
    for (const r of this.stateful) if (r.tick) this.hits.push(...r.tick(this.clock, this.settings, false));
    return this.output();
  }

  /** Ends a finite stream (a file, a backtest): everything still waiting is decided now. */
  finish(): DetectionOutput {
    for (const r of this.stateful) if (r.tick) this.hits.push(...r.tick(this.clock, this.settings, true));
    return this.output();
  }

  snapshot(): DetectorSnapshot {
    const rules: Record<string, unknown> = {};
    for (const r of this.stateful) rules[r.rule.id] = r.snapshot();
    for (const c of this.correlations) rules[`sigma:${c.rule.key}`] = c.snapshot();
    return { format: "charter-detector/1", position: this.positionValue, clock: this.clock, rulesDigest: this.rules.digest, raised: [...this.raised], noticed: [...this.noticed], rules };
  }

  private restore(snapshot: DetectorSnapshot): void {
    if ((snapshot as { format?: unknown }).format !== "charter-detector/1" || typeof snapshot.position !== "number" || typeof snapshot.clock !== "number") {
      throw new CharterError("INVALID_RECORD", "the detector snapshot is not in the charter-detector/1 format", { hint: "Start detection from an empty state, or from a snapshot this version wrote." });
    }
    this.positionValue = snapshot.position;
    this.clock = snapshot.clock;
    const raised: unknown[] = Array.isArray(snapshot.raised) ? snapshot.raised : [];
    this.raised = new Map(raised.filter((e): e is [string, number] => Array.isArray(e) && typeof e[0] === "string" && typeof e[1] === "number"));
    this.noticed = new Set((Array.isArray(snapshot.noticed) ? snapshot.noticed : []).filter((k) => typeof k === "string"));
    const states = snapshot.rules;
    for (const r of this.stateful) if (Object.hasOwn(states, r.rule.id)) r.restore(states[r.rule.id]);
    // A correlation whose file changed keeps its groups only if its key (file and id) still exists.
    for (const c of this.correlations) if (Object.hasOwn(states, `sigma:${c.rule.key}`)) c.restore(states[`sigma:${c.rule.key}`]);
  }

  private sigma(ctx: EventContext, hits: Hit[]): void {
    const view = this.view.reset(ctx.event, ctx.manifest);
    let fed: Map<CorrelationState, number[]> | undefined;
    for (const rule of this.rules.detections) {
      if (!rule.matches(view)) continue;
      this.matchCounts.set(rule.key, (this.matchCounts.get(rule.key) ?? 0) + 1);
      if (this.rules.alerting.has(rule.key)) hits.push(this.sigmaHit(rule, ctx));
      for (const f of this.feeds.get(rule.key) ?? []) {
        fed ??= new Map();
        const list = fed.get(f.state) ?? [];
        list.push(f.index);
        fed.set(f.state, list);
      }
    }
    if (!fed) return;
    for (const [state, indices] of fed) {
      const hit = state.observe(view, ctx.seen, indices);
      if (hit) hits.push(hit);
    }
  }

  private sigmaHit(rule: DetectionRule, ctx: EventContext): Hit {
    const day = utcDay(ctx.ms);
    const explained = rule.explain(this.view);
    return {
      rule: { id: rule.id, kind: "sigma", title: rule.title, file: rule.file },
      level: rule.level,
      subject: ctx.event.agent ?? ctx.event.principal,
      windowStart: day.start,
      windowEnd: day.end,
      events: [ctx.seen],
      eventCount: 1,
      why: { text: `${rule.title}: ${explained.text}`, children: explained.children },
    };
  }

  private output(): DetectionOutput {
    const { hits, notices } = this;
    if (hits.length === 0 && notices.length === 0) return NOTHING;
    this.hits = [];
    this.notices = [];
    const alerts: Alert[] = [];
    for (const hit of hits) {
      const id = alertId([hit.rule.file ?? "builtin", hit.rule.id, hit.subject, String(hit.windowStart)]);
      if (this.raised.has(id)) continue;
      this.raised.set(id, hit.windowEnd + DAY_MS);
      alerts.push(this.alert(id, hit));
    }
    return alerts.length === 0 && notices.length === 0 ? NOTHING : { alerts, notices };
  }

  private alert(id: string, hit: Hit): Alert {
    const first = hit.events[0];
    const agents = new Set(hit.events.map((e) => e.agent));
    const agent = agents.size === 1 ? (first?.agent ?? null) : null;
    const classes = [...new Set(hit.events.flatMap((e) => e.dataClasses))].sort();
    let severity: Severity = hit.level;
    for (const c of classes) severity = maxSeverity(severity, DATA_CLASS_SEVERITY[c] ?? "low");
    const last = hit.events[hit.events.length - 1];
    return {
      id,
      rule: hit.rule,
      agent,
      principal: first?.principal ?? "",
      owners: agent === null ? [] : ownerHandles(this.manifests.at(agent, first?.manifestSeq ?? null)),
      manifest: { seq: first?.manifestSeq ?? null, commit: first?.manifestCommit ?? null },
      severity,
      dataClasses: classes,
      events: hit.events.map((e) => ({ id: e.id, seq: e.seq, traceId: e.traceId, observedAt: e.observedAt })),
      eventCount: hit.eventCount,
      window: { start: new Date(hit.windowStart).toISOString(), end: new Date(hit.windowEnd).toISOString() },
      firedAt: last?.observedAt ?? "",
      why: hit.why,
    };
  }

  /** Forgets raised ids once their window is long over, hourly of Charter's clock. */
  private prune(): void {
    if (this.clock - this.prunedAt < 3_600_000) return;
    this.prunedAt = this.clock;
    for (const [id, expires] of this.raised) if (expires < this.clock - DAY_MS) this.raised.delete(id);
    for (const r of this.stateful) if (r instanceof RateLimitRule || r instanceof DeniedBurstRule) r.forget(this.clock - DAY_MS);
  }
}
