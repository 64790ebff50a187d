import { csvLine } from "../evidence/csv.js";
import type { ItemResult, Link, ReadinessReport } from "../readiness/result.js";

export const READINESS_FORMATS = ["text", "json", "csv", "md"] as const;
export type ReadinessFormat = (typeof READINESS_FORMATS)[number];

/** Principals, reasons and details come from logs and pull requests: control characters are shown escaped, never sent to the terminal. */
function plain(text: string): string {
  // eslint-disable-next-line no-control-regex -- the point is to find them
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

function linkText(l: Link): string {
  const ref = l.kind === "event" ? `event ${l.ref} (charter trail prove ${l.ref})` : l.kind === "alert" ? `alert ${l.ref.slice(0, 12)}` : l.kind === "source" ? `source ${l.ref}` : l.ref;
  return plain(ref + (l.note === undefined ? "" : ` — ${l.note}`));
}

const MARK: Readonly<Record<ItemResult["status"], string>> = { pass: "PASS", fail: "FAIL", "not-applicable": "N/A " };

function periodText(report: ReadinessReport): string {
  return `${report.period.since ?? "the beginning"} to ${report.period.until}`;
}

/** For a report read from a readiness record: which one, so the reader can open it. */
function recordLine(report: ReadinessReport): string[] {
  return report.record === undefined ? [] : [`As recorded in record ${report.record.seq} (${report.record.path}, written ${report.record.observedAt}) and re-evaluated from the evidence.`];
}

function textItem(item: ItemResult, depth: number, out: string[]): void {
  const pad = "  ".repeat(depth);
  out.push(`${pad}${MARK[item.status]}  ${item.id}  ${item.title}${depth === 0 ? `  [${item.criteria.join(", ")}]` : ""}`);
  out.push(`${pad}      ${plain(item.summary)} (${item.checked} checked)`);
  if (depth === 0) {
    for (const f of item.failures) {
      out.push(`${pad}      - ${plain(f.subject)}: ${plain(f.reason)}`);
      out.push(`${pad}        fix: ${plain(f.fix)}`);
      for (const l of f.links) out.push(`${pad}        see: ${linkText(l)}`);
    }
    for (const l of item.links) out.push(`${pad}      proof: ${linkText(l)}`);
  }
  for (const c of item.children) textItem(c, depth + 1, out);
}

function text(report: ReadinessReport): string {
  const failing = report.items.filter((i) => i.status === "fail").length;
  const out = [`Readiness ${report.status === "pass" ? "PASS" : "FAIL"} for ${periodText(report)}: ${failing} of ${report.items.length} items fail`, ...recordLine(report), ""];
  for (const item of report.items) {
    textItem(item, 0, out);
    out.push("");
  }
  return out.join("\n");
}

function md(cell: string): string {
  return plain(cell).replace(/[\\|`*_<>[\]]/g, (c) => `\\${c}`);
}

function markdown(report: ReadinessReport): string {
  const out = [
    `# SOC 2 readiness: ${report.status === "pass" ? "pass" : "fail"}`,
    "",
    `Period: ${periodText(report)}.`,
    ...recordLine(report).flatMap((line) => ["", line]),
    "",
    "| item | criteria | status | checked | answer |",
    "|---|---|---|---|---|",
    ...report.items.map((i) => `| ${i.id} | ${i.criteria.join(", ")} | ${i.status} | ${i.checked} | ${md(i.summary)} |`),
  ];
  for (const item of report.items) {
    out.push("", `## ${item.id}: ${md(item.title)}`, "", `**${item.status}** (${item.criteria.join(", ")}): ${md(item.summary)}`);
    if (item.children.length > 0) out.push("", ...item.children.map((c) => `- ${md(c.title)}: ${c.status}, ${md(c.summary)}`));
    if (item.failures.length > 0) {
      out.push("", "| subject | reason | fix | see |", "|---|---|---|---|");
      for (const f of item.failures) out.push(`| ${md(f.subject)} | ${md(f.reason)} | ${md(f.fix)} | ${f.links.map((l) => `\`${linkText(l).replaceAll("`", "'")}\``).join("<br>")} |`);
    }
    if (item.links.length > 0) out.push("", "Proof: " + item.links.map((l) => `\`${linkText(l).replaceAll("`", "'")}\``).join(", "));
  }
  return `${out.join("\n")}\n`;
}

/** One row per item and per failure, so a spreadsheet can filter either. */
function csv(report: ReadinessReport): string {
  let out = csvLine(["item", "criteria", "status", "checked", "summary", "subject", "reason", "fix", "links"]);
  const walk = (item: ItemResult): void => {
    out += csvLine([item.id, item.criteria.join(" "), item.status, item.checked, item.summary, null, null, null, item.links.map(linkText).join("; ")]);
    for (const f of item.failures) out += csvLine([item.id, item.criteria.join(" "), "fail", null, null, f.subject, f.reason, f.fix, f.links.map(linkText).join("; ")]);
    for (const c of item.children) walk({ ...c, failures: [] });
  };
  for (const item of report.items) walk(item);
  return out;
}

export function formatReadiness(report: ReadinessReport, format: ReadinessFormat): string {
  if (format === "json") return `${JSON.stringify(report, null, 2)}\n`;
  if (format === "csv") return csv(report);
  if (format === "md") return markdown(report);
  return text(report);
}
