import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runGroup } from "../helpers/child-processes.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
/** Under the test\'s own timeout, so that a hung run is killed with its process group and reported. */
const TIMEOUT_MS = 110_000;

/**
 * The audit benchmark at a small size, so that it cannot rot between full runs: it builds the
 * synthetic ledger and the index, and checks every query's answer against its linear scan
 * (it throws when they differ). Nothing about its timings is asserted.
 */
describe("npm run bench -- audit, at 2,000 records", () => {
  it("prints the build figure and one figure per query, each with a ratio", async () => {
    const out = (
      await runGroup(process.execPath, ["--import", "tsx", "bench/run.ts", "audit"], {
      cwd: root,
      timeoutMs: TIMEOUT_MS,
      env: { ...process.env, CHARTER_BENCH_AUDIT_RECORDS: "2000" },
    })
    ).stdout;
    const figures = out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { bench: string; records?: number; ratio?: number; rows?: number; records_per_s?: number; page_rows?: number; whole_ratio?: number; middle_page_ratio?: number });
    expect(figures.map((f) => f.bench)).toEqual([
      "audit/build",
      "audit/build",
      "audit/changes-window-data-class",
      "audit/changes-by-approver",
      "audit/agent-at",
      "audit/exceptions",
      "audit/access-review",
      "audit/access-review-at",
    ]);
    // The build at a fifth of the ledger, then at all of it.
    expect(figures.slice(0, 2).map((f) => f.records)).toEqual([400, 2000]);
    for (const f of figures.slice(0, 2)) expect(f.records_per_s).toBeGreaterThan(0);
    for (const f of figures.slice(2)) {
      expect(f.ratio).toBeGreaterThan(0);
      expect(f.rows).toBeGreaterThan(0);
    }
    // Answers of many rows are also timed a page at a time (first and middle page) and whole.
    for (const f of figures.filter((x) => x.bench !== "audit/build" && x.bench !== "audit/agent-at")) {
      expect(f.page_rows, f.bench).toBe(Math.min(100, f.rows ?? 0));
      expect(f.whole_ratio, f.bench).toBeGreaterThan(0);
      expect(f.middle_page_ratio, f.bench).toBeGreaterThan(0);
    }
  }, 120_000);
});
