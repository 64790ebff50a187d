import { createHash } from "node:crypto";

export type Severity = "low" | "medium" | "high" | "critical";

const SEVERITY_ORDER: readonly Severity[] = ["low", "medium", "high", "critical"];

/**
 * How serious touching a class of data is. An alert's severity is the higher of its rule's own
 * level and the highest class among the events it names, so the same rule breaking on a
 * payment-card table outranks it breaking on a public one.
 */
export const DATA_CLASS_SEVERITY: Readonly<Record<string, Severity>> = {
  public: "low",
  internal: "low",
  confidential: "medium",
  "source-code": "medium",
  "customer-pii": "high",
  "employee-pii": "high",
  financial: "high",
  "payment-card": "critical",
  health: "critical",
  credentials: "critical",
};

export function maxSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_ORDER.indexOf(a) >= SEVERITY_ORDER.indexOf(b) ? a : b;
}

/** Why an alert fired, as a tree that renders itself: the check that held and the facts under it. */
export interface Reason {
  readonly text: string;
  readonly children: readonly Reason[];
}

export function reason(text: string, children: readonly Reason[] = []): Reason {
  return { text, children };
}

/** An event as an alert names it: enough to find it in the trail and its task. */
export interface EventRef {
  readonly id: string;
  readonly seq: number;
  readonly traceId: string | null;
  readonly observedAt: string;
}

export type RuleKind = "manifest" | "sigma" | "correlation" | "baseline";

export interface AlertRule {
  /** `charter/out-of-scope` for a built-in rule; the rule's own id for a Sigma rule. */
  readonly id: string;
  readonly kind: RuleKind;
  readonly title: string;
  /** The rule file, for rules as code. */
  readonly file: string | null;
}

/**
 * An alert as a value. Its id is derived from what it is about (the rule, its file, the
 * subject and the window), never from when or where it was computed, so two replicas that
 * see the same events raise the same id and a store keyed on it records the alert once.
 */
export interface Alert {
  readonly id: string;
  readonly rule: AlertRule;
  /** The agent the events are attributed to; null for an identity no manifest owns. */
  readonly agent: string | null;
  /** The raw principal of the first event, which for an unattributed identity is all there is. */
  readonly principal: string;
  /** The agent's owners in the manifest in force: "@login" or "@org/team". */
  readonly owners: readonly string[];
  /** The manifest version in force at the first event: change record sequence and commit. */
  readonly manifest: { readonly seq: number | null; readonly commit: string | null };
  readonly severity: Severity;
  /** Data classes the events touched. */
  readonly dataClasses: readonly string[];
  /** The events that made the rule fire, oldest first (at most MAX_ALERT_EVENTS; eventCount has the total). */
  readonly events: readonly EventRef[];
  readonly eventCount: number;
  /** The window the alert covers, in event time (observedAt), ISO 8601. */
  readonly window: { readonly start: string; readonly end: string };
  /** observedAt of the event that completed the condition. */
  readonly firedAt: string;
  readonly why: Reason;
}

export const MAX_ALERT_EVENTS = 50;

/** sha256 over the alert's identity parts, each length-prefixed so that no two part lists collide. */
export function alertId(parts: readonly string[]): string {
  const hash = createHash("sha256");
  for (const p of parts) hash.update(`${p.length}:${p}\n`);
  return hash.digest("hex");
}

const DAY_MS = 86_400_000;

/** The bounds of the UTC day of an epoch millisecond. */
export function utcDay(ms: number): { readonly start: number; readonly end: number } {
  const start = Math.floor(ms / DAY_MS) * DAY_MS;
  return { start, end: start + DAY_MS };
}

/** YYYY-MM-DD of the UTC day of an epoch millisecond. */
export function dayKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export { DAY_MS };
