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

/** When the answer is one page of a larger population: how large, and where the next page starts. */
export interface PageFooter {
  readonly total: number;
  readonly next: string | null;
}

/**
 * Renders a report. Cell text comes from pull requests (titles, reasons) and is
 * attacker-controlled: control characters are flattened so a title cannot forge extra lines,
 * CSV cells a spreadsheet would run as a formula get a leading quote, and Markdown cells have
 * their table and HTML syntax escaped. The footer goes where it cannot break the data: under a
 * table, inside the JSON, and not into CSV (the caller prints it to stderr).
 */
export function formatReport(report: Report, format: ReportFormat, footer: LedgerFooter, page?: PageFooter): string {
  const writer = reportWriter(report, format, footer);
  return writer.rows(report.rows) + writer.end(page);
}

/**
 * A report written a batch of rows at a time, so a population of a million changes goes out as
 * it is read instead of being held whole: CSV, JSON and Markdown write each batch as it comes;
 * the table waits for the last one, because its column widths depend on every row.
 */
export interface ReportWriter {
  rows(rows: readonly Readonly<Record<string, ReportCell>>[]): string;
  /**
   * Rows already rendered for this format (by renderedRow): the index stores a change's CSV and
   * JSON text, so a whole answer is written without building and formatting each row again.
   * Only the CSV and JSON writers have it: a table's widths and Markdown's escaping need the cells.
   */
  readonly rendered?: (lines: readonly string[]) => string;
  end(page?: PageFooter): string;
}

/** The formats whose rows the index can store already rendered: neither depends on the other rows. */
export type RenderedFormat = "csv" | "json";

/** One row as the format writes it, without the separator between rows: what ReportWriter.rendered takes. */
export function renderedRow(columns: readonly ReportColumn[], row: Readonly<Record<string, ReportCell>>, format: RenderedFormat): string {
  if (format === "json") return jsonRow(row);
  let line = "";
  for (let i = 0; i < columns.length; i++) line += (i === 0 ? "" : ",") + csvCell(row[columns[i]?.key ?? ""] ?? null);
  return line;
}

/** `"key": ` as a JSON row writes it, by key: a report has a few dozen keys, all from the code. */
const JSON_KEYS = new Map<string, string>();

/**
 * A row as JSON.stringify(row, null, 2) writes it, indented to sit inside the report's "rows"
 * array: the same text, key by key. Serialising with an indent takes V8's slow path; a flat row
 * of strings, numbers and booleans is quicker to write one value at a time (about three times,
 * measured on the access review's rows), and both the index build and the JSON exports write
 * every row this way.
 */
function jsonRow(row: Readonly<Record<string, ReportCell>>): string {
  let out = "";
  for (const key of Object.keys(row)) {
    const value = row[key];
    // JSON.stringify leaves out a key whose value is undefined; a cell typed ReportCell never
    // is, but one read from a missing field could be.
    if (value === undefined) continue;
    let name = JSON_KEYS.get(key);
    if (name === undefined) JSON_KEYS.set(key, (name = `      ${JSON.stringify(key)}: `));
    out += (out === "" ? "{\n" : ",\n") + name + JSON.stringify(value);
  }
  return out === "" ? "{}" : `${out}\n    }`;
}

export function reportWriter(report: Pick<Report, "title" | "columns">, format: ReportFormat, footer: LedgerFooter): ReportWriter {
  let count = 0;
  let started = false;
  const summary = (page: PageFooter | undefined): string =>
    page === undefined
      ? `${count} row${count === 1 ? "" : "s"}.`
      : `${count} of ${page.total} row${page.total === 1 ? "" : "s"}${page.next === null ? "" : `; the next page: --after ${page.next} (or --all for every row)`}.`;
  switch (format) {
    case "csv": {
      const rendered = (lines: readonly string[]): string => {
        const head = started ? [] : [report.columns.map((c) => csvCell(c.key)).join(",")];
        started = true;
        count += lines.length;
        const all = head.length === 0 ? lines : [...head, ...lines];
        return all.length === 0 ? "" : all.join("\r\n") + "\r\n";
      };
      return {
        rows: (rows) => rendered(rows.map((r) => renderedRow(report.columns, r, "csv"))),
        rendered,
        end() {
          return started ? "" : report.columns.map((c) => csvCell(c.key)).join(",") + "\r\n";
        },
      };
    }
    case "json": {
      const head = (): string => `{\n  "report": ${JSON.stringify(report.title)},\n  "ledger": ${indent(JSON.stringify(footer, null, 2), 2)},\n  "rows": [`;
      const rendered = (lines: readonly string[]): string => {
        const text = lines.length === 0 ? "" : `${count === 0 ? "" : ","}\n    ${lines.join(",\n    ")}`;
        const out = (started ? "" : head()) + text;
        started = true;
        count += lines.length;
        return out;
      };
      return {
        rows: (rows) => rendered(rows.map((r) => renderedRow(report.columns, r, "json"))),
        rendered,
        end(page) {
          const close = count === 0 ? "]" : "\n  ]";
          const paging = page === undefined ? "" : `,\n  "total": ${page.total},\n  "next": ${JSON.stringify(page.next)}`;
          return `${started ? "" : head()}${close}${paging}\n}\n`;
        },
      };
    }
    case "md": {
      const columns = report.columns.filter((c) => c.brief);
      const cell = (value: ReportCell): string =>
        flat(value).replace(/[\\|`*_[\]<>]/g, (ch) => (ch === "<" ? "&lt;" : ch === ">" ? "&gt;" : `\\${ch}`));
      const head = (): string => [`## ${cell(report.title)}`, "", `| ${columns.map((c) => c.header).join(" | ")} |`, `| ${columns.map(() => "---").join(" | ")} |`, ""].join("\n");
      return {
        rows(rows) {
          const out = (started ? "" : head()) + rows.map((r) => `| ${columns.map((c) => cell(r[c.key] ?? null)).join(" | ")} |\n`).join("");
          started = true;
          count += rows.length;
          return out;
        },
        end(page) {
          return `${started ? "" : head()}\n${cell(summary(page))} ${cell(footerText(footer))}\n`;
        },
      };
    }
    case "table": {
      const columns = report.columns.filter((c) => c.brief);
      const cells: string[][] = [];
      return {
        rows(rows) {
          for (const r of rows) cells.push(columns.map((c) => flat(r[c.key] ?? null)));
          count += rows.length;
          return "";
        },
        end(page) {
          const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => (row[i] ?? "").length)));
          const line = (values: readonly string[]): string => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
          return [report.title, "", line(columns.map((c) => c.header)), ...cells.map(line), "", `${summary(page)} ${footerText(footer)}`, ""].join("\n");
        },
      };
    }
  }
}

function indent(text: string, spaces: number): string {
  return text.replaceAll("\n", `\n${" ".repeat(spaces)}`);
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
  // Most cells need neither: one test for both before the two that change the text.
  if (!NEEDS_CARE.test(text)) return text;
  if (FORMULA.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const FORMULA = /^[=+\-@\t\r]/;
const NEEDS_CARE = /^[=+\-@\t\r]|[",\r\n]/;

export function chooseReportFormat(value: string): ReportFormat {
  if ((REPORT_FORMATS as readonly string[]).includes(value)) return value as ReportFormat;
  throw new CharterError("USAGE", `unknown format "${value}"`, { hint: `Use one of: ${REPORT_FORMATS.join(", ")}.` });
}
