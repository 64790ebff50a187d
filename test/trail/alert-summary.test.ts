import { describe, expect, it } from "vitest";
import { type AlertLogRecord, checkAlertSummaries, summariseAlerts } from "../../src/trail/alert-summary.js";

/**
 * The alert summary an anchor record carries, from the alert log's records alone. The log below
 * is staged by hand, as src/sources/alert-log.ts writes it, and every expected figure is counted
 * by hand from it.
 */
const A = "a".repeat(64);
const B = "b".repeat(64);
const C = "c".repeat(64);
const D = "d".repeat(64);

function raised(seq: number, id: string, at: string, rule: string, severity: string, agent?: string): AlertLogRecord {
  return { seq, action: "alert-raised", resource: id, observedAt: at, detail: { rule, severity, ...(agent === undefined ? {} : { agent }), digest: "0".repeat(64) } };
}
function evaluated(seq: number, id: string, at: string, to: "acknowledged" | "resolved" | "suppressed"): AlertLogRecord {
  return { seq, action: `alert-${to}`, resource: id, observedAt: at, detail: { from: "open", to, digest: "0".repeat(64) } };
}

// First anchor: events 1–10. Second anchor: events 11–20. Other sources' events sit between (not in the log).
const LOG: AlertLogRecord[] = [
  raised(2, A, "2026-03-04T10:00:00.000Z", "charter/out-of-scope", "high", "support-triage"),
  raised(4, B, "2026-03-04T10:05:00.000Z", "charter/out-of-scope", "high", "support-triage"),
  raised(6, C, "2026-03-04T11:00:00.000Z", "charter/off-hours", "medium"),
  evaluated(8, A, "2026-03-04T10:30:00.000Z", "acknowledged"),
  evaluated(12, A, "2026-03-04T12:00:00.000Z", "resolved"),
  evaluated(13, B, "2026-03-04T10:05:45.000Z", "suppressed"),
  raised(15, D, "2026-03-04T13:00:00.000Z", "charter/bulk-read", "critical", "billing-bot"),
  evaluated(17, C, "2026-03-05T11:00:00.000Z", "acknowledged"),
];

describe("the alert summary of an anchor", () => {
  it("counts the first anchor's alerts by rule, severity, agent and status, and lists the open ones", () => {
    expect(summariseAlerts(LOG, 1, 10)).toEqual({
      raised: [
        { rule: "charter/off-hours", severity: "medium", agent: null, status: "open", alerts: 1 },
        { rule: "charter/out-of-scope", severity: "high", agent: "support-triage", status: "acknowledged", alerts: 1 },
        { rule: "charter/out-of-scope", severity: "high", agent: "support-triage", status: "open", alerts: 1 },
      ],
      evaluations: [{ rule: "charter/out-of-scope", severity: "high", agent: "support-triage", to: "acknowledged", evaluations: 1 }],
      evaluated: [{ alert: A, rule: "charter/out-of-scope", severity: "high", to: "acknowledged", at: "2026-03-04T10:30:00.000Z", first: true, afterSeconds: 1800 }],
      evaluatedOmitted: 0,
      open: [
        { alert: A, rule: "charter/out-of-scope", severity: "high", agent: "support-triage", status: "acknowledged", raisedAt: "2026-03-04T10:00:00.000Z" },
        { alert: B, rule: "charter/out-of-scope", severity: "high", agent: "support-triage", status: "open", raisedAt: "2026-03-04T10:05:00.000Z" },
        { alert: C, rule: "charter/off-hours", severity: "medium", agent: null, status: "open", raisedAt: "2026-03-04T11:00:00.000Z" },
      ],
      openTotal: 3,
    });
  });

  it("counts in the second anchor only what it anchors, measured from raises in earlier anchors, and ignores records after it", () => {
    const later = [...LOG, evaluated(25, D, "2026-03-06T00:00:00.000Z", "resolved")];
    expect(summariseAlerts(later, 11, 20)).toEqual({
      raised: [{ rule: "charter/bulk-read", severity: "critical", agent: "billing-bot", status: "open", alerts: 1 }],
      evaluations: [
        { rule: "charter/off-hours", severity: "medium", agent: null, to: "acknowledged", evaluations: 1 },
        { rule: "charter/out-of-scope", severity: "high", agent: "support-triage", to: "resolved", evaluations: 1 },
        { rule: "charter/out-of-scope", severity: "high", agent: "support-triage", to: "suppressed", evaluations: 1 },
      ],
      evaluated: [
        // A was acknowledged in the first anchor: its resolution is not its first evaluation.
        { alert: A, rule: "charter/out-of-scope", severity: "high", to: "resolved", at: "2026-03-04T12:00:00.000Z", first: false, afterSeconds: 7200 },
        { alert: B, rule: "charter/out-of-scope", severity: "high", to: "suppressed", at: "2026-03-04T10:05:45.000Z", first: true, afterSeconds: 45 },
        { alert: C, rule: "charter/off-hours", severity: "medium", to: "acknowledged", at: "2026-03-05T11:00:00.000Z", first: true, afterSeconds: 86_400 },
      ],
      evaluatedOmitted: 0,
      open: [
        { alert: C, rule: "charter/off-hours", severity: "medium", agent: null, status: "acknowledged", raisedAt: "2026-03-04T11:00:00.000Z" },
        { alert: D, rule: "charter/bulk-read", severity: "critical", agent: "billing-bot", status: "open", raisedAt: "2026-03-04T13:00:00.000Z" },
      ],
      openTotal: 2,
    });
  });

  it("caps the lists and counts the rest: 120 alerts raised and evaluated in one anchor", () => {
    const log: AlertLogRecord[] = [];
    for (let i = 0; i < 120; i++) log.push(raised(i + 1, i.toString(16).padStart(64, "0"), "2026-03-04T10:00:00.000Z", "charter/out-of-scope", "high"));
    for (let i = 0; i < 120; i++) log.push(evaluated(200 + i, i.toString(16).padStart(64, "0"), "2026-03-04T10:01:00.000Z", "acknowledged"));
    const summary = summariseAlerts(log, 1, 400);
    expect(summary.evaluated).toHaveLength(100);
    expect(summary.evaluatedOmitted).toBe(20);
    expect(summary.evaluations).toEqual([{ rule: "charter/out-of-scope", severity: "high", agent: null, to: "acknowledged", evaluations: 120 }]);
    expect(summary.open).toHaveLength(50);
    expect(summary.openTotal).toBe(120);
    expect(summary.raised).toEqual([{ rule: "charter/out-of-scope", severity: "high", agent: null, status: "acknowledged", alerts: 120 }]);
  });

  it("passes summaries written from the log and names the anchor whose summary was edited", () => {
    const first = summariseAlerts(LOG, 1, 10);
    const second = summariseAlerts(LOG, 11, 20);
    expect(checkAlertSummaries([{ anchorSeq: 5, fromSeq: 1, toSeq: 10, alerts: first }, { anchorSeq: 9, fromSeq: 11, toSeq: 20, alerts: second }], LOG, 20)).toEqual([]);

    // An open alert dropped from the summary, as someone hiding it from the auditor's page would.
    const hidden = { ...second, open: second.open.slice(0, 1), openTotal: 1 };
    expect(checkAlertSummaries([{ anchorSeq: 9, fromSeq: 11, toSeq: 20, alerts: hidden }], LOG, 20)).toEqual([
      { code: "alert-summary-mismatch", seq: 20, message: "the alert summary in evidence record 9 (events 11–20) counts 1 alerts open where the log has 2: the record was not written from the trail's log" },
    ]);
    // A wait shortened: the counts agree, the listed time does not.
    const quicker = { ...second, evaluated: second.evaluated.map((e) => ({ ...e, afterSeconds: 60 })) };
    expect(checkAlertSummaries([{ anchorSeq: 9, fromSeq: 11, toSeq: 20, alerts: quicker }], LOG, 20).map((p) => p.message)).toEqual([
      "the alert summary in evidence record 9 (events 11–20) lists other evaluations, or other times, than the log: the record was not written from the trail's log",
    ]);
    // A resolution counted as a suppression.
    const relabelled = { ...second, evaluations: second.evaluations.map((e) => (e.to === "resolved" ? { ...e, to: "suppressed" as const } : e)) };
    expect(checkAlertSummaries([{ anchorSeq: 9, fromSeq: 11, toSeq: 20, alerts: relabelled }], LOG, 20).map((p) => p.code)).toEqual(["alert-summary-mismatch"]);
    // An anchor beyond the verified events is the chain check's to report, not this one's.
    expect(checkAlertSummaries([{ anchorSeq: 9, fromSeq: 11, toSeq: 20, alerts: hidden }], LOG, 15)).toEqual([]);
  });
});
