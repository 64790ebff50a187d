import type { Alert, Reason } from "../detect/alert.js";
import type { Notice } from "../detect/hit.js";
import type { RuleHits } from "../detect/rule-hits.js";

export const DETECT_FORMATS = ["table", "json"] as const;
export type DetectFormat = (typeof DETECT_FORMATS)[number];

export interface DetectionReport {
  readonly events: number;
  readonly alerts: readonly Alert[];
  readonly notices: readonly Notice[];
  readonly rules: readonly RuleHits[];
}

export function renderDetection(report: DetectionReport, format: DetectFormat): string {
  const rules = report.rules;
  if (format === "json") return JSON.stringify({ events: report.events, alerts: report.alerts, notices: report.notices, rules }, null, 2) + "\n";
  let out = "";
  if (report.alerts.length === 0) out += `No alerts in ${report.events} events.\n`;
  else {
    out += `${report.alerts.length} alert${report.alerts.length === 1 ? "" : "s"} in ${report.events} events:\n\n`;
    const rows = report.alerts.map((a) => [a.severity, a.rule.id, a.agent ?? `(${a.principal})`, a.firedAt, String(a.eventCount), a.why.text]);
    out += table(["SEVERITY", "RULE", "AGENT", "FIRED AT", "EVENTS", "WHY"], rows);
    out += "\n";
    for (const a of report.alerts) {
      out += `${a.id.slice(0, 12)}  ${a.rule.id}  ${a.agent ?? a.principal}${a.owners.length > 0 ? `  owners ${a.owners.join(" ")}` : ""}  manifest ${a.manifest.seq ?? "?"}\n`;
      out += tree(a.why, "    ");
      out += `    events: ${a.events.map((e) => `${e.seq}${e.traceId ? ` (trace ${e.traceId.slice(0, 8)})` : ""}`).join(", ")}${a.eventCount > a.events.length ? ` … ${a.eventCount} in all` : ""}\n`;
    }
  }
  if (report.notices.length > 0) out += "\nNotices:\n" + report.notices.map((n) => `  ${n.text}\n`).join("");
  if (rules.length > 0) {
    out += "\nSigma rules:\n";
    for (const r of rules) out += `  ${r.id}  ${r.matches} match${r.matches === 1 ? "" : "es"} (${(r.share * 100).toFixed(1)}% of events)${r.alerting ? "" : ", feeds a correlation"}${r.broad ? "  ← fires on most events: narrow it" : ""}  ${r.file}\n`;
  }
  return out;
}

function tree(r: Reason, indent: string): string {
  return r.children.map((c) => `${indent}${c.text}\n${tree(c, indent + "  ")}`).join("");
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length))));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => {
        const w = widths[i] ?? 0;
        const text = c.length > w && i < cells.length - 1 ? c.slice(0, w - 1) + "…" : c;
        return i === cells.length - 1 ? text : text.padEnd(w);
      })
      .join("  ") + "\n";
  return line(head) + rows.map(line).join("");
}
