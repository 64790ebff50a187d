import { describe, expect, it } from "vitest";
import { csvCell, formatReport, type Report } from "../../src/audit/report-format.js";

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
});
