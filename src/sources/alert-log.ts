import { createHash } from "node:crypto";
import type { Alert } from "../detect/alert.js";
import { canonicalText } from "../evidence/canonical-json.js";
import type { DecidedEvent } from "../trail/decide.js";
import { eventFromBytes, eventId } from "../trail/event-bytes.js";
import type { TrailEvent } from "../trail/event.js";
import type { TrailProblem } from "../trail/verify-trail.js";
import type { AlertChange, AlertStatus, AlertStore, StoredAlert } from "./alert-store.js";
import type { TrailStore } from "./trail-store.js";

/**
 * Alerts and their evaluations in the trail's tamper-evident log. Each alert recorded and each
 * acknowledgement, resolution or suppression of one is appended to the trail as an event of
 * Charter's own source, carrying the SHA-256 of the record. The trail's hash chain, its sealed
 * segments and their anchors on the evidence branch then cover those events as they cover every
 * other, and `charter trail verify` compares the alert store with them: a deleted alert, an edited
 * reason or a history rewritten by someone with access to the database no longer matches.
 */
/** The source of the alert log's records: Charter's own, never an infrastructure source that can fall silent. */
export const ALERT_LOG_SOURCE = "charter-alerts";
const INSTANCE = "charter";
/** The log's source as the trail stores and reports it (source/instance). */
export const ALERT_LOG_SOURCE_NAME = `${ALERT_LOG_SOURCE}/${INSTANCE}`;
/** The principal of an alert's own record: Charter's detection raised it. */
const DETECTION_PRINCIPAL = "charter-detection";

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

function alertDigest(alert: Alert): string {
  return sha256(canonicalText(alert));
}

function changeDigest(c: AlertChange): string {
  return sha256(canonicalText({ alertId: c.alertId, from: c.from, to: c.to, by: c.by, at: c.at, reason: c.reason }));
}

function logEvent(sourceKey: string, at: string, principal: string, action: string, alertId: string, detail: Record<string, string>): DecidedEvent {
  return {
    id: eventId(ALERT_LOG_SOURCE, INSTANCE, sourceKey),
    source: ALERT_LOG_SOURCE,
    sourceInstance: INSTANCE,
    // Charter writes these records itself: they are the infrastructure's, not an agent's report.
    attested: true,
    sourceKey,
    observedAt: at,
    receivedAt: at,
    principal,
    claimedAgent: null,
    tokenAgent: null,
    action,
    system: null,
    resource: alertId,
    instance: null,
    outcome: "allowed",
    errorCode: null,
    traceId: null,
    spanId: null,
    tool: null,
    model: null,
    inputTokens: null,
    outputTokens: null,
    detail,
    agent: null,
    permission: null,
    manifestSeq: null,
    manifestCommit: null,
    inScope: null,
    localDay: null,
    localHour: null,
    withinHours: null,
    dataClasses: [],
    flags: [],
  };
}

/**
 * Appends the records of alerts about to be stored (written ahead: an alert is in the log before
 * it is in the store, so none is ever stored unlogged). An alert computed again (a replay, a
 * second replica) is its same record, which the trail keeps once. Evaluations are logged at
 * their own time, from the history, so logging one again is harmless too.
 */
export async function logAlerts(trail: TrailStore, alerts: readonly Alert[]): Promise<void> {
  if (alerts.length === 0) return;
  // The record's time is the alert's own (when its condition completed), never the clock: the
  // trail keeps an event once per time and id, so a replay after a crash logs nothing twice.
  await trail.append(alerts.map((a) => logEvent(`raised:${a.id}`, a.firedAt || a.window.end, DETECTION_PRINCIPAL, "alert-raised", a.id, { rule: a.rule.id.slice(0, 200), severity: a.severity, ...(a.agent === null ? {} : { agent: a.agent.slice(0, 200) }), digest: alertDigest(a) })));
}

/**
 * Moves an alert to a new status (acknowledged, resolved or suppressed until `untilMs`) and
 * appends that evaluation, as the store recorded it, to the trail's log: what `charter alerts
 * ack|resolve|suppress` do. The store refuses a move it does not allow before anything is logged.
 * Store first, log second: the store's transaction decides whether the move is allowed and when
 * it happened; a crash between the two is repaired by reconcileAlertLog.
 */
export async function evaluateAlert(alerts: AlertStore, trail: TrailStore, change: { readonly id: string; readonly to: "acknowledged" | "resolved" | "suppressed"; readonly by: string; readonly reason: string | null; readonly untilMs: number | null }, nowMs: number): Promise<StoredAlert> {
  // An earlier evaluation whose process died before logging it is logged first, in its order.
  await reconcileAlertLog(alerts, trail);
  const changed = change.to === "suppressed" ? await alerts.suppress(change.id, change.by, change.reason ?? "", change.untilMs ?? nowMs, nowMs) : await alerts.changeStatus(change.id, change.to, change.by, change.reason, nowMs);
  await logHistory(alerts, trail, change.id);
  return changed;
}

/**
 * Appends an alert's evaluations, as its history holds them, to the trail's log; those logged
 * already are kept once. Also for an alert stored under a suppression, whose store recorded
 * that evaluation itself.
 */
export async function logHistory(alerts: AlertStore, trail: TrailStore, id: string): Promise<void> {
  const history = await alerts.history(id);
  if (history.length === 0) return;
  await trail.append(history.map(evaluationEvent));
}

function evaluationEvent(c: AlertChange): DecidedEvent {
  return logEvent(`${c.to}:${c.alertId}`, c.at, c.by.slice(0, 200), `alert-${c.to}`, c.alertId, { from: c.from, to: c.to, digest: changeDigest(c) });
}

/** Evaluations appended per page while reconciling. */
const RECONCILE_PAGE = 500;

/**
 * Closes the crash window of an evaluation: the store records it (in one transaction with the
 * alert's new status) before the log does, so a process that dies in between leaves an
 * evaluation the log lacks. This appends the store's evaluations to the log, newest first, a
 * page at a time, until a page that was logged in full: the log keeps each record once (its id
 * is the alert's and the status's, its time the evaluation's), so appending one again is
 * harmless, and a crash leaves at most its own evaluation behind the ones logged after it.
 * Run when live detection starts and before every evaluation from the command line. Returns
 * how many were missing and are logged now.
 */
export async function reconcileAlertLog(alerts: AlertStore, trail: TrailStore): Promise<number> {
  let repaired = 0;
  let before: number | null = null;
  for (;;) {
    const page = await alerts.recentChanges(before, RECONCILE_PAGE);
    if (page.length === 0) return repaired;
    // Oldest first within the page, so the log's order follows the store's.
    const { stored } = await trail.append([...page].reverse().map(evaluationEvent));
    repaired += stored.length;
    if (stored.length === 0 || page.length < RECONCILE_PAGE) return repaired;
    before = page.at(-1)?.n ?? null;
  }
}

/** Gathers the log's records from the verified bytes of the chain, as verification reads them. */
export function alertLogCollector(): { readonly onEvent: (seq: number, bytes: Buffer) => void; readonly events: readonly TrailEvent[] } {
  const events: TrailEvent[] = [];
  const marker = Buffer.from(`"${ALERT_LOG_SOURCE}"`);
  return {
    events,
    onEvent: (_seq, bytes) => {
      // Decoding every event would double the cost of verifying a large trail; only a record that can be ours is decoded.
      if (!bytes.includes(marker)) return;
      const e = eventFromBytes(bytes, "");
      if (e.source === ALERT_LOG_SOURCE) events.push(e);
    },
  };
}

/** Alerts read per page while comparing. */
const PAGE = 1000;
const MAX_PROBLEMS = 100;

/**
 * Compares the alert store with the log's records: every logged alert is stored unchanged,
 * every logged evaluation is in its alert's history unchanged, every stored alert and evaluation
 * was logged, and each alert's status is the one its last evaluation set.
 */
export async function verifyAlertLog(records: readonly TrailEvent[], alerts: AlertStore): Promise<TrailProblem[]> {
  const problems: TrailProblem[] = [];
  const add = (p: TrailProblem): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  const logged = new Map<string, TrailEvent>();
  for (const e of records) logged.set(e.sourceKey, e);
  const seen = new Set<string>();
  let before: number | undefined;
  for (;;) {
    const page = await alerts.list({ limit: PAGE, ...(before === undefined ? {} : { beforeN: before }) });
    for (const s of page) {
      const id = s.alert.id;
      const raised = logged.get(`raised:${id}`);
      seen.add(`raised:${id}`);
      if (raised === undefined) add({ code: "alert-unlogged", message: `alert ${id} is in the alert store but not in the trail's log: it was added outside Charter's detection` });
      else if (raised.detail["digest"] !== alertDigest(s.alert)) add({ code: "alert-altered", seq: raised.seq, message: `alert ${id} differs from its record at event ${raised.seq}: the stored alert was edited` });
      const history = await alerts.history(id);
      for (const c of history) {
        const key = `${c.to}:${id}`;
        seen.add(key);
        const record = logged.get(key);
        if (record === undefined) add({ code: "evaluation-unlogged", message: `the ${c.to} evaluation of alert ${id} by ${c.by} at ${c.at} is not in the trail's log` });
        else if (record.detail["digest"] !== changeDigest(c)) add({ code: "evaluation-altered", seq: record.seq, message: `the ${c.to} evaluation of alert ${id} differs from its record at event ${record.seq}: who, when or why was edited` });
      }
      for (const [key, record] of logged) {
        if (key.endsWith(`:${id}`) && !key.startsWith("raised:") && !seen.has(key)) {
          add({ code: "evaluation-missing", seq: record.seq, message: `the ${record.detail["to"] ?? "?"} evaluation of alert ${id} by ${record.principal} at ${record.observedAt} (event ${record.seq}) is missing from the alert's history` });
          seen.add(key);
        }
      }
      const last = history.at(-1);
      // A suppression's history entry names its end; the alert's own reason is the words alone.
      const expected: { status: AlertStatus; by: string | null; reason: string | null } =
        last === undefined ? { status: "open", by: null, reason: null } : { status: last.to, by: last.by, reason: last.to === "suppressed" ? (last.reason?.replace(/ \(until [^)]*\)$/, "") ?? null) : last.reason };
      const reasonMatches = s.reason === expected.reason || (last?.to === "suppressed" && s.reason === last.reason);
      if (s.status !== expected.status || s.changedBy !== expected.by || !reasonMatches) {
        add({ code: "evaluation-altered", message: `alert ${id} shows ${s.status} by ${s.changedBy ?? "nobody"} ("${(s.reason ?? "").slice(0, 80)}") but its last evaluation is ${expected.status} by ${expected.by ?? "nobody"}: the alert's status was edited` });
      }
    }
    if (page.length < PAGE) break;
    before = page.at(-1)?.n;
  }
  for (const [key, record] of logged) {
    if (seen.has(key)) continue;
    if (key.startsWith("raised:")) add({ code: "alert-missing", seq: record.seq, message: `alert ${record.resource ?? "?"} (rule ${record.detail["rule"] ?? "?"}, recorded at ${record.observedAt}, event ${record.seq}) is missing from the alert store: it was deleted` });
    else add({ code: "evaluation-missing", seq: record.seq, message: `the ${record.detail["to"] ?? "?"} evaluation of alert ${record.resource ?? "?"} by ${record.principal} at ${record.observedAt} (event ${record.seq}) is missing: its alert was deleted` });
  }
  return problems;
}
