import type { AgentManifest } from "../schema-types/agent-manifest.generated.js";
import type { TrailEvent } from "../trail/event.js";
import type { AlertRule, Reason, Severity } from "./alert.js";
import type { ResolvedSettings } from "./settings.js";

/**
 * What a rule keeps of an event it may later name in an alert: the event's identity and the
 * facts the alert needs (attribution, the manifest in force, the data touched), never more.
 * Everything here is plain data, so windows of them go into a snapshot as they are.
 */
export interface Seen {
  readonly id: string;
  readonly seq: number;
  readonly traceId: string | null;
  readonly observedAt: string;
  /** observedAt in epoch milliseconds. */
  readonly ms: number;
  readonly agent: string | null;
  readonly principal: string;
  readonly manifestSeq: number | null;
  readonly manifestCommit: string | null;
  readonly dataClasses: readonly string[];
}

export function seenOf(event: TrailEvent, ms: number): Seen {
  return {
    id: event.id,
    seq: event.seq,
    traceId: event.traceId,
    observedAt: event.observedAt,
    ms,
    agent: event.agent,
    principal: event.principal,
    manifestSeq: event.manifestSeq,
    manifestCommit: event.manifestCommit,
    dataClasses: event.dataClasses,
  };
}

/** What a rule hands the detector when it fires; the detector turns it into an Alert. */
export interface Hit {
  readonly rule: AlertRule;
  readonly level: Severity;
  /** What the alert is about within its rule (an agent, an agent and a permission, a group-by key). */
  readonly subject: string;
  /** The window the alert covers, in epoch milliseconds of event time. */
  readonly windowStart: number;
  readonly windowEnd: number;
  /** The events that made the rule fire, oldest first. */
  readonly events: readonly Seen[];
  /** How many events the condition counted (may exceed events.length). */
  readonly eventCount: number;
  readonly why: Reason;
}

/** One event as every rule sees it, with what the detector worked out once for all of them. */
export interface EventContext {
  readonly event: TrailEvent;
  readonly seen: Seen;
  readonly ms: number;
  /** The manifest in force for the event's agent, when the agent and its manifest are known. */
  readonly manifest: AgentManifest | undefined;
  /** An approval event: a person's decision recorded in the trail, not an action of the agent. */
  readonly isApproval: boolean;
}

/**
 * Something a detector says that is not an alert: a baseline starting or ending its learning
 * period, a model without a price, a limit on kept state reached. Each is said once (its key is
 * remembered in the detector's state).
 */
export interface Notice {
  readonly key: string;
  readonly kind: "learning" | "learned" | "unpriced-model" | "manifest-missing" | "state-limit";
  readonly agent: string | null;
  readonly text: string;
  /** Event time of the event that prompted it. */
  readonly at: string;
}

export type Notify = (notice: Notice) => void;

/** A rule that keeps state between events. Its state must round-trip through JSON. */
export interface StatefulRule {
  readonly rule: AlertRule;
  observe(ctx: EventContext, settings: ResolvedSettings, notify: Notify): readonly Hit[];
  /** Called as the detector's clock moves (epoch ms of Charter's receive time): rules that wait fire here. */
  tick?(now: number, settings: ResolvedSettings, final: boolean): readonly Hit[];
  snapshot(): unknown;
  restore(state: unknown): void;
}

export const NO_HITS: readonly Hit[] = [];

/** Built-in rules, by id. */
export const BUILTIN_RULES = {
  outOfScope: { id: "charter/out-of-scope", kind: "manifest", title: "Action outside the approved permissions", file: null },
  outsideHours: { id: "charter/outside-hours", kind: "manifest", title: "Action outside runtime.allowedHours", file: null },
  retired: { id: "charter/retired-agent", kind: "manifest", title: "Action by a retired agent", file: null },
  unattributed: { id: "charter/unattributed", kind: "manifest", title: "Action by an identity no manifest owns", file: null },
  rateLimit: { id: "charter/rate-limit", kind: "manifest", title: "Requests above runtime.maxRequestsPerMinute", file: null },
  costLimit: { id: "charter/cost-limit", kind: "manifest", title: "Model spend above runtime.maxCostPerDayUsd", file: null },
  approvalMissing: { id: "charter/approval-missing", kind: "manifest", title: "Tool needing human approval used without one", file: null },
  deniedBurst: { id: "charter/denied-burst", kind: "manifest", title: "Burst of permission-denied errors", file: null },
  firstSeen: { id: "charter/first-seen", kind: "baseline", title: "Resource or action first seen for this agent", file: null },
  volume: { id: "charter/volume", kind: "baseline", title: "Daily volume far above the agent's own history", file: null },
} as const satisfies Record<string, AlertRule>;
