import type { Alert } from "../detect/alert.js";
import type { DetectorSnapshot } from "../detect/detector.js";

/**
 * Where live detection keeps what it raised, beside the trail (the same SQLite file or
 * PostgreSQL schema): the alerts, each one's lifecycle (open, acknowledged, resolved: who, when
 * and why, which is the CC7.3 evaluation of the event), the detector's state, and how far each
 * escalation channel got. Alerts are keyed on their deterministic id, so a replica or a restart
 * that computes an alert again records it once and escalates it once.
 */
export type AlertStatus = "open" | "acknowledged" | "resolved" | "suppressed";
export const ALERT_STATUSES: readonly AlertStatus[] = ["open", "acknowledged", "resolved", "suppressed"];

/** The longest a suppression may last: a silenced rule must come back to someone's desk. */
export const MAX_SUPPRESSION_MS = 90 * 86_400_000;

/**
 * An evaluation that says "expected, stop telling us" for one agent (or principal) and rule
 * until a time. Alerts of that key recorded while it holds are still stored, each with its own
 * suppressed status naming this suppression, but nobody is paged for them.
 */
export interface AlertSuppression {
  readonly key: string;
  /** The alert whose evaluation made it. */
  readonly alertId: string;
  readonly by: string;
  readonly reason: string;
  readonly at: string;
  readonly until: string;
}

export type EscalationChannel = "issue" | "webhook";

export interface StoredAlert {
  readonly alert: Alert;
  /** Store order: later alerts have higher numbers. */
  readonly n: number;
  readonly recordedAt: string;
  readonly status: AlertStatus;
  /** The last change of status; for an open alert, none. */
  readonly changedBy: string | null;
  readonly changedAt: string | null;
  readonly reason: string | null;
  /** One GitHub issue per agent (or unattributed principal) and rule: alerts sharing a key share it. */
  readonly escalationKey: string;
  readonly issueAt: string | null;
  readonly webhookAt: string | null;
}

export interface AlertChange {
  readonly alertId: string;
  readonly from: AlertStatus;
  readonly to: AlertStatus;
  readonly by: string;
  readonly at: string;
  readonly reason: string | null;
}

export interface AlertFilter {
  readonly agent?: string;
  readonly rule?: string;
  readonly status?: AlertStatus;
  /** Alerts fired at or after this epoch millisecond. */
  readonly sinceMs?: number;
  /** Alerts stored before this store number (StoredAlert.n): the next page of a newest-first listing. */
  readonly beforeN?: number;
  readonly limit: number;
}

/** Keys with alerts a channel has not delivered, and the id of the newest of them (the job's identity). */
export interface PendingEscalation {
  readonly key: string;
  readonly newest: string;
}

export interface AlertStore {
  /**
   * Stores the alerts not stored yet (by id) and, in the same transaction, the detector's state
   * when given and further along than the stored one (replicas share one state; the furthest
   * wins). Returns the alerts that were new.
   */
  record(alerts: readonly Alert[], snapshot: DetectorSnapshot | null, nowMs: number): Promise<Alert[]>;
  snapshot(): Promise<DetectorSnapshot | null>;
  list(filter: AlertFilter): Promise<StoredAlert[]>;
  /** The alert with this id, or with the one id starting with this prefix (at least 8 characters). */
  get(idOrPrefix: string): Promise<StoredAlert | null>;
  history(id: string): Promise<AlertChange[]>;
  /**
   * Evaluations of every alert, newest first, each with its store order `n`: at most `limit`,
   * those stored before `beforeN` when given (the next page). What the reconciliation of the
   * alert log walks after a crash.
   */
  recentChanges(beforeN: number | null, limit: number): Promise<(AlertChange & { readonly n: number })[]>;
  /**
   * Moves an alert to `to` and appends the change to its history, in one transaction. Refused
   * (CONFLICT) when it is there already or the move goes backwards (resolved stays resolved).
   */
  changeStatus(id: string, to: Exclude<AlertStatus, "open" | "suppressed">, by: string, reason: string | null, nowMs: number): Promise<StoredAlert>;
  /**
   * Moves an alert to suppressed and, in the same transaction, suppresses its escalation key
   * until `untilMs` (a later suppression of the key replaces an earlier one). Refused like
   * changeStatus when the alert is resolved or suppressed already.
   */
  suppress(id: string, by: string, reason: string, untilMs: number, nowMs: number): Promise<StoredAlert>;
  /** The suppressions still in force at `nowMs`, soonest to end first. */
  suppressions(nowMs: number): Promise<AlertSuppression[]>;
  pending(channel: EscalationChannel): Promise<PendingEscalation[]>;
  /** The key's alerts the channel has not delivered, oldest first, at most `limit`. */
  undelivered(channel: EscalationChannel, key: string, limit: number): Promise<StoredAlert[]>;
  markDelivered(channel: EscalationChannel, ids: readonly string[], nowMs: number): Promise<void>;
  /** The GitHub issue escalating this key, once opened. */
  issueOf(key: string): Promise<number | null>;
  setIssue(key: string, issue: number, nowMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The escalation key of an alert: its agent (or, unattributed, its principal) and its rule. */
export function escalationKey(alert: Pick<Alert, "agent" | "principal" | "rule">): string {
  const who = alert.agent === null ? `principal:${alert.principal}` : `agent:${alert.agent}`;
  return `${who}\n${alert.rule.file ?? "builtin"}\n${alert.rule.id}`;
}

/** Resolved and suppressed are both final: an evaluation is never taken back, only added to. */
const RANK: Readonly<Record<AlertStatus, number>> = { open: 0, acknowledged: 1, resolved: 2, suppressed: 2 };

/** Whether a status change goes forwards: open → acknowledged → resolved or suppressed, or straight from open. */
export function allowedChange(from: AlertStatus, to: AlertStatus): boolean {
  return RANK[to] > RANK[from];
}

/** The reason stored on an alert recorded while a suppression of its key held. */
export function suppressedReason(s: Pick<AlertSuppression, "alertId" | "until" | "reason">): string {
  return `suppressed until ${s.until} by the evaluation of alert ${s.alertId.slice(0, 12)}: ${s.reason}`;
}
