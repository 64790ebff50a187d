import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { csvCell, formatReport, renderedRow, REPORT_FORMATS, type Report, type ReportCell, reportWriter } from "../../src/audit/report-format.js";

const footer = { branch: "charter-evidence", commit: "c".repeat(40), size: 3, tipHash: "d".repeat(64), index: "audit.sqlite" };

describe("report formats", () => {
  it.each([
    ["=SUM(A1:A9)", "'=SUM(A1:A9)"],
    ["+1-555-0100", "'+1-555-0100"],
    ["-2+3", "'-2+3"],
    ["@cmd", "'@cmd"],
    ["\tindent", "'\tindent"],
    ["plain, with comma", '"plain, with comma"'],
    ['say "hi"', '"say ""hi"""'],
    ['=HYPERLINK("http://evil.example")', `"'=HYPERLINK(""http://evil.example"")"`],
    ["a=b", "a=b"],
  ])("CSV cell %j is written %s", (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  const report: Report = {
    title: "Changes",
    columns: [
      { key: "record", header: "record", brief: true },
      { key: "title", header: "title", brief: true },
      { key: "hidden", header: "hidden", brief: false },
    ],
    rows: [{ record: "1 abc", title: "line one\nfake | row <b>bold</b>", hidden: "-1" }],
  };

  it("flattens control characters in tables, so a title cannot forge a line", () => {
    const text = formatReport(report, "table", footer);
    expect(text.split("\n").filter((l) => l.startsWith("1 abc"))).toEqual(["1 abc   line one fake | row <b>bold</b>"]);
    expect(text).not.toContain("hidden");
    expect(text).toContain(`1 row. ledger: 3 records indexed from charter-evidence at cccccccccccc; tip record 2 sha256 ${"d".repeat(64)}`);
  });

  it("escapes Markdown table and HTML syntax", () => {
    const text = formatReport(report, "md", footer);
    expect(text).toContain("| 1 abc | line one fake \\| row &lt;b&gt;bold&lt;/b&gt; |");
  });

  it("keeps every column in CSV and JSON, and the ledger in JSON", () => {
    expect(formatReport(report, "csv", footer)).toBe('record,title,hidden\r\n1 abc,"line one\nfake | row <b>bold</b>",\'-1\r\n');
    expect(JSON.parse(formatReport(report, "json", footer))).toEqual({ report: "Changes", ledger: footer, rows: report.rows });
  });

  const many: Report = { ...report, rows: Array.from({ length: 5 }, (_, i) => ({ record: `${i} abc`, title: `title ${i}`, hidden: i })) };

  it.each(REPORT_FORMATS)("%s written in batches is the same text as written at once, with and without rows", (format) => {
    for (const rows of [many.rows, []]) {
      const writer = reportWriter(many, format, footer);
      const batched = writer.rows(rows.slice(0, 2)) + writer.rows([]) + writer.rows(rows.slice(2)) + writer.end();
      expect(batched).toBe(formatReport({ ...many, rows }, format, footer));
    }
  });

  it("a page says how large the population is and where the next page starts", () => {
    const page = { total: 40, next: "WzEsMl0" };
    expect(JSON.parse(formatReport(many, "json", footer, page))).toEqual({ report: "Changes", ledger: footer, rows: many.rows, total: 40, next: "WzEsMl0" });
    expect(JSON.parse(formatReport({ ...many, rows: [] }, "json", footer, { total: 0, next: null }))).toEqual({ report: "Changes", ledger: footer, rows: [], total: 0, next: null });
    expect(formatReport(many, "table", footer, page)).toContain("5 of 40 rows; the next page: --after WzEsMl0 (or --all for every row). ledger: 3 records");
    expect(formatReport(many, "table", footer, { total: 5, next: null })).toContain("5 of 5 rows. ledger:");
  });

  // A cell of any kind a report holds, with the characters the writers treat specially.
  const cell = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.array(fc.constantFrom("=", "+", "-", "@", "\t", "\r", "\n", '"', ",", "'", "a", "z", "\u2028", "\u00e9", "\ud83d\ude00", "\ud83d", "\\"), { maxLength: 10 }).map((parts) => parts.join("")),
    fc.integer({ min: -1000, max: 1_000_000 }),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
  );
  const row = fc.dictionary(fc.stringMatching(/^[a-z_"]{1,8}$/), cell, { maxKeys: 8 });

  it("writes a JSON row as JSON.stringify with an indent does, inside the rows array", () => {
    fc.assert(
      fc.property(row, (r: Record<string, ReportCell>) => {
        const columns = Object.keys(r).map((key) => ({ key, header: key, brief: true }));
        expect(renderedRow(columns, r, "json")).toBe(JSON.stringify(r, null, 2).replaceAll("\n", "\n    "));
      }),
      { numRuns: 500 },
    );
  });

  it("writes a CSV row as its cells, each quoted and neutralised on its own", () => {
    fc.assert(
      fc.property(row, (r: Record<string, ReportCell>) => {
        const columns = [...Object.keys(r), "absent"].map((key) => ({ key, header: key, brief: true }));
        const cells = columns.map((c) => {
          let text = r[c.key] === undefined || r[c.key] === null ? "" : String(r[c.key]);
          if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
          return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
        });
        expect(renderedRow(columns, r, "csv")).toBe(cells.join(","));
      }),
      { numRuns: 500 },
    );
  });
});
