import { canonicalText } from "../evidence/canonical-json.js";
import type { TrailAlertCount, TrailAlertSummary, TrailEvaluation, TrailEvaluationCount, TrailOpenAlert } from "../schema-types/evidence-record.generated.js";
import type { TrailEvent } from "./event.js";
import type { TrailProblem } from "./verify-trail.js";

/**
 * The alert summary a trail-anchor record carries: the alerts raised and the evaluations made in
 * the segments it anchors, and the alerts still open at its last event. It is computed from the
 * alert log's records in the chain alone, never from the alert store, so anyone holding the
 * trail recomputes it from the anchored events and a summary that disagrees with the log is
 * evidence that the record, or the log, was written by something other than Charter.
 */

/** The log's record of an alert raised, and of its evaluations (src/sources/alert-log.ts writes them). */
const RAISED = "alert-raised";
const EVALUATIONS = new Set(["alert-acknowledged", "alert-resolved", "alert-suppressed"]);
/** Enough to sample from and to measure time to evaluation; the counts stay exact beyond them. */
const MAX_EVALUATED = 100;
const MAX_OPEN = 50;

type Status = TrailAlertCount["status"];
type Evaluation = TrailEvaluation["to"];
/** What the summary reads from one record of the log. */
export type AlertLogRecord = Pick<TrailEvent, "seq" | "action" | "resource" | "observedAt" | "detail">;

interface Known {
  readonly id: string;
  readonly rule: string;
  readonly severity: string;
  readonly agent: string | null;
  readonly raisedAt: string;
  readonly raisedSeq: number;
  status: Status;
  evaluated: boolean;
}

const UNKNOWN = "(not in the log)";

/**
 * The summary for the anchored range fromSeq..toSeq, from the log's records through toSeq (the
 * records before fromSeq give the alerts raised earlier and their status). Records after toSeq
 * are ignored, so the caller may pass the whole log.
 */
export function summariseAlerts(log: readonly AlertLogRecord[], fromSeq: number, toSeq: number): TrailAlertSummary {
  const alerts = new Map<string, Known>();
  const raised = new Map<string, TrailAlertCount>();
  const evaluations = new Map<string, TrailEvaluationCount>();
  const evaluated: TrailEvaluation[] = [];
  let evaluatedOmitted = 0;
  const inRange: Known[] = [];
  for (const r of [...log].filter((r) => r.seq <= toSeq).sort((a, b) => a.seq - b.seq)) {
    const id = r.resource ?? "";
    if (r.action === RAISED) {
      if (alerts.has(id)) continue;
      const known: Known = { id, rule: r.detail["rule"] ?? UNKNOWN, severity: r.detail["severity"] ?? UNKNOWN, agent: r.detail["agent"] ?? null, raisedAt: r.observedAt, raisedSeq: r.seq, status: "open", evaluated: false };
      alerts.set(id, known);
      if (r.seq >= fromSeq) inRange.push(known);
      continue;
    }
    if (!EVALUATIONS.has(r.action)) continue;
    const to = r.action.slice("alert-".length) as Evaluation;
    const alert = alerts.get(id);
    const first = alert !== undefined && !alert.evaluated;
    if (alert !== undefined) {
      alert.status = to;
      alert.evaluated = true;
    }
    if (r.seq < fromSeq) continue;
    const rule = alert?.rule ?? UNKNOWN;
    const severity = alert?.severity ?? UNKNOWN;
    const agent = alert?.agent ?? null;
    const key = canonicalText([rule, severity, agent, to]);
    const count = evaluations.get(key);
    evaluations.set(key, { rule, severity, agent, to, evaluations: (count?.evaluations ?? 0) + 1 });
    if (evaluated.length >= MAX_EVALUATED) {
      evaluatedOmitted++;
      continue;
    }
    const after = alert === undefined ? null : Math.floor((Date.parse(r.observedAt) - Date.parse(alert.raisedAt)) / 1000);
    evaluated.push({ alert: id, rule, severity, to, at: r.observedAt, first, afterSeconds: after === null || !Number.isFinite(after) ? null : Math.max(0, after) });
  }
  // Counted by the status each alert had at the range's end, not when it was raised.
  for (const a of inRange) {
    const key = canonicalText([a.rule, a.severity, a.agent, a.status]);
    const count = raised.get(key);
    raised.set(key, { rule: a.rule, severity: a.severity, agent: a.agent, status: a.status, alerts: (count?.alerts ?? 0) + 1 });
  }
  const stillOpen = [...alerts.values()].filter((a) => a.status === "open" || a.status === "acknowledged");
  const open: TrailOpenAlert[] = stillOpen.slice(0, MAX_OPEN).map((a) => ({ alert: a.id, rule: a.rule, severity: a.severity, agent: a.agent, status: a.status as TrailOpenAlert["status"], raisedAt: a.raisedAt }));
  return { raised: sorted(raised), evaluations: sorted(evaluations), evaluated, evaluatedOmitted, open, openTotal: stillOpen.length };
}

function sorted<T>(rows: Map<string, T>): T[] {
  return [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

/** An anchor record's summary and the range it anchors. */
export interface AnchoredAlertSummary {
  readonly anchorSeq: number;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly alerts: TrailAlertSummary;
}

/**
 * Recomputes each anchor's summary from the log's records in the verified chain and reports
 * those that differ. Only anchors within the verified events are judged: a truncated chain is
 * reported by the chain check itself.
 */
export function checkAlertSummaries(anchors: readonly AnchoredAlertSummary[], log: readonly AlertLogRecord[], verifiedThrough: number): TrailProblem[] {
  const problems: TrailProblem[] = [];
  for (const a of anchors) {
    if (a.toSeq > verifiedThrough) continue;
    const expected = summariseAlerts(log, a.fromSeq, a.toSeq);
    if (canonicalText(expected) === canonicalText(a.alerts)) continue;
    problems.push({ code: "alert-summary-mismatch", seq: a.toSeq, message: `the alert summary in evidence record ${a.anchorSeq} (events ${a.fromSeq}–${a.toSeq}) ${difference(expected, a.alerts)}: the record was not written from the trail's log` });
  }
  return problems;
}

/** The first part that differs, in words an auditor can check against the log. */
function difference(expected: TrailAlertSummary, found: TrailAlertSummary): string {
  const total = (rows: readonly { alerts?: number; evaluations?: number }[]): number => rows.reduce((n, r) => n + (r.alerts ?? r.evaluations ?? 0), 0);
  if (total(expected.raised) !== total(found.raised)) return `counts ${total(found.raised)} alerts raised where the log has ${total(expected.raised)}`;
  if (total(expected.evaluations) !== total(found.evaluations)) return `counts ${total(found.evaluations)} evaluations where the log has ${total(expected.evaluations)}`;
  if (expected.openTotal !== found.openTotal) return `counts ${found.openTotal} alerts open where the log has ${expected.openTotal}`;
  if (canonicalText(expected.raised) !== canonicalText(found.raised)) return "attributes alerts to other rules, severities, agents or statuses than the log";
  if (canonicalText(expected.evaluations) !== canonicalText(found.evaluations)) return "attributes evaluations to other rules, severities, agents or statuses than the log";
  if (canonicalText(expected.open) !== canonicalText(found.open)) return "lists other open alerts than the log";
  return "lists other evaluations, or other times, than the log";
}
