import { CharterError } from "../errors.js";

export type ReportCell = string | number | boolean | null;

export interface ReportColumn {
  readonly key: string;
  readonly header: string;
  /** Shown in the table and Markdown formats too; every column is in CSV and JSON. */
  readonly brief: boolean;
}

/** A tabular answer: every row names the records it rests on (its "record" column). */
export interface Report {
  readonly title: string;
  readonly columns: readonly ReportColumn[];
  readonly rows: readonly Readonly<Record<string, ReportCell>>[];
}

/** What the answers were computed from, printed under every report. */
export interface LedgerFooter {
  readonly branch: string;
  readonly commit: string;
  readonly size: number;
  readonly tipHash: string | null;
  readonly index: string;
}

export const REPORT_FORMATS = ["table", "csv", "json", "md"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function footerText(f: LedgerFooter): string {
  const tip = f.tipHash === null ? "no records" : `tip record ${f.size - 1} sha256 ${f.tipHash}`;
  return `ledger: ${f.size} record${f.size === 1 ? "" : "s"} indexed from ${f.branch} at ${f.commit.slice(0, 12)}; ${tip}; index ${f.index}`;
}

/**
 * Renders a report. Cell text comes from pull requests (titles, reasons) and is
 * attacker-controlled: control characters are flattened so a title cannot forge extra lines,
 * CSV cells a spreadsheet would run as a formula get a leading quote, and Markdown cells have
 * their table and HTML syntax escaped. The footer goes where it cannot break the data: under a
 * table, inside the JSON, and not into CSV (the caller prints it to stderr).
 */
export function formatReport(report: Report, format: ReportFormat, footer: LedgerFooter): string {
  switch (format) {
    case "json":
      return JSON.stringify({ report: report.title, ledger: footer, rows: report.rows }, null, 2) + "\n";
    case "csv":
      return csv(report);
    case "md":
      return markdown(report, footer);
    case "table":
      return table(report, footer);
  }
}

// eslint-disable-next-line no-control-regex -- flattening control characters is the point
const CONTROL = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]+/g;

function flat(value: ReportCell): string {
  if (value === null) return "";
  return String(value).replace(CONTROL, " ");
}

/** RFC 4180 with formula injection neutralised (OWASP's list of trigger characters). */
export function csvCell(value: ReportCell): string {
  let text = value === null ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csv(report: Report): string {
  const lines = [report.columns.map((c) => csvCell(c.key)).join(","), ...report.rows.map((r) => report.columns.map((c) => csvCell(r[c.key] ?? null)).join(","))];
  return lines.join("\r\n") + "\r\n";
}

function markdown(report: Report, footer: LedgerFooter): string {
  const columns = report.columns.filter((c) => c.brief);
  const cell = (value: ReportCell): string =>
    flat(value).replace(/[\\|`*_[\]<>]/g, (ch) => (ch === "<" ? "&lt;" : ch === ">" ? "&gt;" : `\\${ch}`));
  const lines = [
    `## ${cell(report.title)}`,
    "",
    `| ${columns.map((c) => c.header).join(" | ")} |`,
    `| ${columns.map(() => "---").join(" | ")} |`,
    ...report.rows.map((r) => `| ${columns.map((c) => cell(r[c.key] ?? null)).join(" | ")} |`),
    "",
    `${report.rows.length} row${report.rows.length === 1 ? "" : "s"}. ${cell(footerText(footer))}`,
    "",
  ];
  return lines.join("\n");
}

function table(report: Report, footer: LedgerFooter): string {
  const columns = report.columns.filter((c) => c.brief);
  const cells = report.rows.map((r) => columns.map((c) => flat(r[c.key] ?? null)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => (row[i] ?? "").length)));
  const line = (values: readonly string[]): string => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  const out = [report.title, "", line(columns.map((c) => c.header)), ...cells.map(line), "", `${report.rows.length} row${report.rows.length === 1 ? "" : "s"}. ${footerText(footer)}`, ""];
  return out.join("\n");
}

export function chooseReportFormat(value: string): ReportFormat {
  if ((REPORT_FORMATS as readonly string[]).includes(value)) return value as ReportFormat;
  throw new CharterError("USAGE", `unknown format "${value}"`, { hint: `Use one of: ${REPORT_FORMATS.join(", ")}.` });
}
