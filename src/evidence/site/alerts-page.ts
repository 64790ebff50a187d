import type { EvidenceRecord, TrailAlertSummary, TrailEvaluation, TrailOpenAlert } from "../../schema-types/evidence-record.generated.js";
import { mdCode, mdLink, mdTable, mdText } from "./markdown.js";
import { ALERTS_PATH, monthOf, pagePath, TRAIL_PATH } from "./site-paths.js";

/**
 * The alerts page on the evidence branch: per month, the alerts raised by rule and severity, the
 * evaluations made and how long alerts waited for their first one, and the alerts still open as
 * of the latest anchor. Built only from the alert summaries that trail-anchor records carry, so
 * it shows what the signed evidence says; every row names the anchor records it comes from, and
 * `charter trail verify` recomputes each summary from the trail's log of alerts. Ids, rules,
 * severities, agents and times only: no event payload, no reason text.
 */
export interface AlertsSiteState {
  readonly months: readonly AlertsMonth[];
  /** Per trail (origin): the open alerts of its latest anchor that carries a summary. */
  readonly open: readonly AlertsOpen[];
}

export interface AlertsMonth {
  /** YYYY-MM of the anchor records' time. */
  readonly month: string;
  readonly firstAnchor: number;
  readonly lastAnchor: number;
  readonly raised: readonly { readonly rule: string; readonly severity: string; readonly alerts: number; readonly firstAnchor: number; readonly lastAnchor: number }[];
  readonly evaluations: readonly { readonly to: TrailEvaluation["to"]; readonly evaluations: number }[];
  /** Seconds from raised to first evaluation, as listed by the summaries (at most MAX_SAMPLES kept). */
  readonly waits: readonly number[];
  /** First evaluations the summaries listed beyond MAX_SAMPLES: counted in worst, not in the median. */
  readonly waitsDropped: number;
  readonly worstWait: number | null;
  /** Evaluations counted but not listed by their anchor (beyond its cap): no wait known. */
  readonly unlisted: number;
  /** The most recent evaluations, newest first, with the anchor record that lists each: where sampling starts. */
  readonly recent: readonly (TrailEvaluation & { readonly anchor: number })[];
}

export interface AlertsOpen {
  readonly origin: string;
  readonly anchor: number;
  readonly time: string;
  readonly total: number;
  readonly alerts: readonly TrailOpenAlert[];
}

export const EMPTY_ALERTS_STATE: AlertsSiteState = { months: [], open: [] };
const MAX_SAMPLES = 5000;
const RECENT = 25;

/** The state after these records (in seq order). Pure; only trail-anchor records with a summary change it. */
export function advanceAlertsState(state: AlertsSiteState, records: readonly EvidenceRecord[]): AlertsSiteState {
  const months = new Map(state.months.map((m) => [m.month, m]));
  const open = new Map(state.open.map((o) => [o.origin, o]));
  for (const record of records) {
    if (record.kind !== "trail-anchor" || record.body.alerts === undefined) continue;
    const month = monthOf(record.observedAt);
    months.set(month, advanceMonth(months.get(month), month, record.seq, record.body.alerts));
    open.set(record.body.origin, { origin: record.body.origin, anchor: record.seq, time: record.observedAt, total: record.body.alerts.openTotal, alerts: record.body.alerts.open });
  }
  return { months: [...months.values()].sort((a, b) => compare(a.month, b.month)), open: [...open.values()].sort((a, b) => compare(a.origin, b.origin)) };
}

function advanceMonth(before: AlertsMonth | undefined, month: string, seq: number, summary: TrailAlertSummary): AlertsMonth {
  const raised = new Map((before?.raised ?? []).map((r) => [JSON.stringify([r.rule, r.severity]), r]));
  for (const r of summary.raised) {
    const key = JSON.stringify([r.rule, r.severity]);
    const row = raised.get(key);
    raised.set(key, { rule: r.rule, severity: r.severity, alerts: (row?.alerts ?? 0) + r.alerts, firstAnchor: row?.firstAnchor ?? seq, lastAnchor: seq });
  }
  const evaluations = new Map((before?.evaluations ?? []).map((e) => [e.to, e.evaluations]));
  for (const e of summary.evaluations) evaluations.set(e.to, (evaluations.get(e.to) ?? 0) + e.evaluations);
  const waits = [...(before?.waits ?? [])];
  let dropped = before?.waitsDropped ?? 0;
  let worst = before?.worstWait ?? null;
  for (const e of summary.evaluated) {
    if (!e.first || e.afterSeconds === null) continue;
    worst = worst === null ? e.afterSeconds : Math.max(worst, e.afterSeconds);
    if (waits.length < MAX_SAMPLES) waits.push(e.afterSeconds);
    else dropped++;
  }
  return {
    month,
    firstAnchor: before?.firstAnchor ?? seq,
    lastAnchor: seq,
    raised: [...raised.values()].sort((a, b) => compare(`${a.rule}\0${a.severity}`, `${b.rule}\0${b.severity}`)),
    evaluations: [...evaluations.entries()].map(([to, n]) => ({ to, evaluations: n })).sort((a, b) => compare(a.to, b.to)),
    waits,
    waitsDropped: dropped,
    worstWait: worst,
    unlisted: (before?.unlisted ?? 0) + summary.evaluatedOmitted,
    recent: [...[...summary.evaluated].reverse().map((e) => ({ ...e, anchor: seq })), ...(before?.recent ?? [])].slice(0, RECENT),
  };
}

export function renderAlertsPage(state: AlertsSiteState): string {
  const self = ALERTS_PATH;
  const record = (seq: number): string => mdLink(String(seq), self, pagePath(seq));
  const lines = [
    "# Alerts",
    "",
    "The alerts live detection raised on the action trail and their evaluation (acknowledged, resolved, suppressed): the",
    "CC7.2 and CC7.3 population. Each trail-anchor record carries a signed summary of the alerts raised and evaluated in",
    `the events it anchors (${mdLink("the trail page", self, TRAIL_PATH)} lists the anchors); this page is built from those summaries alone.`,
    "To check a sampled row, open its anchor record, then run `charter trail verify` against the trail: it recomputes every",
    "summary from the trail's log of alerts and compares the alert store with that log.",
    "",
    "## Open alerts",
    "",
  ];
  if (state.open.length === 0) lines.push("_No anchor record carries an alert summary yet._", "");
  for (const o of state.open) {
    const at = Date.parse(o.time);
    lines.push(
      `As of anchor record ${record(o.anchor)} of ${mdCode(o.origin)} (${mdText(o.time)}): ${o.total} alert(s) not resolved or suppressed${o.total > o.alerts.length ? `, the oldest ${o.alerts.length} listed` : ""}.`,
      "",
      mdTable(
        ["Alert", "Rule", "Severity", "Agent", "Status", "Raised", "Age", "Anchor record"],
        o.alerts.map((a) => [mdCode(a.alert.slice(0, 16)), mdText(a.rule), mdText(a.severity), a.agent === null ? "_unattributed_" : mdText(a.agent), a.status, mdText(a.raisedAt), duration(Math.max(0, Math.floor((at - Date.parse(a.raisedAt)) / 1000))), record(o.anchor)]),
      ),
    );
  }
  lines.push("## Alerts raised per month, by rule and severity", "");
  lines.push(
    mdTable(
      ["Month", "Rule", "Severity", "Alerts", "Anchor records"],
      state.months.flatMap((m) => m.raised.map((r) => [mdText(m.month), mdText(r.rule), mdText(r.severity), String(r.alerts), `${record(r.firstAnchor)}–${record(r.lastAnchor)}`])),
    ),
  );
  lines.push("## Evaluations per month", "");
  lines.push(
    mdTable(
      ["Month", "Acknowledged", "Resolved", "Suppressed", "First evaluations", "Time to evaluation (median)", "Worst", "Anchor records"],
      state.months.map((m) => {
        const n = (to: string): string => String(m.evaluations.find((e) => e.to === to)?.evaluations ?? 0);
        const firsts = m.waits.length + m.waitsDropped;
        return [mdText(m.month), n("acknowledged"), n("resolved"), n("suppressed"), String(firsts), m.waits.length === 0 ? "–" : duration(median(m.waits)), m.worstWait === null ? "–" : duration(m.worstWait), `${record(m.firstAnchor)}–${record(m.lastAnchor)}`];
      }),
    ),
  );
  const unlisted = state.months.filter((m) => m.unlisted > 0 || m.waitsDropped > 0);
  for (const m of unlisted) lines.push(`- ${mdText(m.month)}: ${m.unlisted} evaluation(s) counted but not listed by their anchor record, ${m.waitsDropped} first evaluation(s) beyond the median's sample: the worst wait and the median are of those listed.`);
  if (unlisted.length > 0) lines.push("");
  lines.push("## Recent evaluations, to sample from", "");
  for (const m of [...state.months].reverse()) {
    if (m.recent.length === 0) continue;
    lines.push(
      `### ${mdText(m.month)}`,
      "",
      mdTable(
        ["Alert", "Rule", "Severity", "Evaluation", "At", "After", "Anchor record"],
        m.recent.map((e) => [mdCode(e.alert.slice(0, 16)), mdText(e.rule), mdText(e.severity), `${e.to}${e.first ? " (first)" : ""}`, mdText(e.at), e.afterSeconds === null ? "–" : duration(e.afterSeconds), record(e.anchor)]),
      ),
    );
  }
  return lines.join("\n");
}

/** The lower median: a value that occurred, in whole seconds. */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86_400)} d ${Math.floor((seconds % 86_400) / 3600)} h`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
