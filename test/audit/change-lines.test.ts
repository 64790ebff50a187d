import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditStore } from "../../src/audit/audit-store.js";
import { pageChangeLines } from "../../src/audit/change-lines.js";
import { memoryLedgerSource } from "../../src/audit/ledger-source.js";
import { type ChangeEntry, type ChangeFilter, countChanges, dumpIndex, pageChanges } from "../../src/audit/queries.js";
import type { LedgerFooter, RenderedFormat } from "../../src/audit/report-format.js";
import { changesReport } from "../../src/audit/reports.js";
import { openSqliteIndex } from "../../src/audit/sqlite-index.js";
import { updateIndex } from "../../src/audit/update-index.js";
import { type Answer, writeAnswer } from "../../src/audit/write-answer.js";
import { auditLedger, FINANCE } from "./audit-ledger.js";

const footer: LedgerFooter = { branch: "charter/evidence", commit: "a".repeat(40), size: 16, tipHash: "b".repeat(64), index: "test" };
const FORMATS: readonly RenderedFormat[] = ["csv", "json"];
// Before, between and long after the ledger's emergency changes: their retro-review cells differ.
const NOWS = [Date.parse("2025-01-01T00:00:00Z"), Date.parse("2025-03-10T00:00:00Z"), Date.parse("2030-01-01T00:00:00Z")];
const FILTERS: readonly ChangeFilter[] = [{}, { emergency: true }, { agent: FINANCE }, { dataClass: "customer-pii", since: Date.parse("2025-02-01T00:00:00Z") }];

async function written(answer: Answer<ChangeEntry>, format: RenderedFormat, after?: string): Promise<string> {
  const chunks: string[] = [];
  await writeAnswer(answer, { format, footer, pageSize: undefined, after, out: (text) => void chunks.push(text) });
  return chunks.join("");
}

describe("a whole changes answer from the rows the index stores rendered", () => {
  let store: AuditStore;
  beforeAll(async () => {
    const ledger = auditLedger();
    store = openSqliteIndex(":memory:");
    await updateIndex(store, memoryLedgerSource(ledger.records, ledger.objects), { batchSize: 5 });
    return () => store.close();
  });
  const answer = (filter: ChangeFilter, now: number, rendered: boolean): Answer<ChangeEntry> => ({
    read: (page) => pageChanges(store, filter, page),
    count: () => countChanges(store, filter),
    report: (rows) => changesReport(rows, now, 7),
    ...(rendered ? { rendered: (page, format) => pageChangeLines(store, filter, page, format, now, 7) } : {}),
  });

  it.each(FORMATS)("is byte for byte what formatting every row writes (%s)", async (format) => {
    for (const filter of FILTERS) {
      for (const now of NOWS) {
        const expected = await written(answer(filter, now, false), format);
        expect(await written(answer(filter, now, true), format), JSON.stringify({ filter, now })).toBe(expected);
      }
    }
    // The ledger's emergency changes are among the rows, so the formatted path is exercised too.
    expect(await written(answer({ emergency: true }, NOWS[1] ?? 0, true), "csv")).toMatch(/overdue|open|completed/);
  });

  it("pages with the cursors pageChanges prints, in either direction", async () => {
    const now = NOWS[1] ?? 0;
    const whole = (await pageChangeLines(store, {}, {}, "csv", now, 7)).rows;
    expect(whole.length).toBe(await countChanges(store, {}));
    const walked: string[] = [];
    let after: string | undefined;
    do {
      const page = await pageChangeLines(store, {}, { limit: 2, ...(after === undefined ? {} : { after }) }, "csv", now, 7);
      const entries = await pageChanges(store, {}, { limit: 2, ...(after === undefined ? {} : { after }) });
      expect(page.next).toBe(entries.next);
      walked.push(...page.rows);
      after = page.next ?? undefined;
    } while (after !== undefined);
    expect(walked).toEqual(whole);
    // A cursor from a page of entries continues a whole answer written from stored rows.
    const first = await pageChanges(store, {}, { limit: 3 });
    expect(await written(answer({}, now, true), "json", first.next ?? undefined)).toBe(await written(answer({}, now, false), "json", first.next ?? undefined));
  });
});

describe("an index written by another version of Charter", () => {
  const dir = mkdtempSync(join(tmpdir(), "charter-index-version-"));
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

  it("is dropped when opened and built again to the same rows", async () => {
    const ledger = auditLedger();
    const path = join(dir, "audit.sqlite");
    const first = openSqliteIndex(path);
    await updateIndex(first, memoryLedgerSource(ledger.records, ledger.objects));
    const expected = await dumpIndex(first);
    await first.close();
    // An older layout: no rendered rows, and a version stamp from before them.
    const db = new Database(path);
    db.exec("ALTER TABLE changes DROP COLUMN csv; UPDATE meta SET value = '1' WHERE key = 'version'");
    db.close();
    const reopened = openSqliteIndex(path);
    expect(await reopened.meta()).toEqual({ size: 0, lastHash: null });
    expect(await updateIndex(reopened, memoryLedgerSource(ledger.records, ledger.objects))).toMatchObject({ indexed: ledger.records.length });
    expect(await dumpIndex(reopened)).toEqual(expected);
    await reopened.close();
  });
});
