import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticLedger } from "../../bench/audit-ledger.js";
import type { AuditStore } from "../../src/audit/audit-store.js";
import { memoryLedgerSource } from "../../src/audit/ledger-source.js";
import type { Page, PageRequest } from "../../src/audit/page-cursor.js";
import {
  type ChangeFilter,
  countAgents,
  countChanges,
  countExceptions,
  currentAgents,
  type ExceptionFilter,
  pageAgents,
  pageChanges,
  pageExceptions,
  queryChanges,
  queryExceptions,
} from "../../src/audit/queries.js";
import { openSqliteIndex } from "../../src/audit/sqlite-index.js";
import { updateIndex } from "../../src/audit/update-index.js";
import { isCharterError } from "../../src/errors.js";

const DAY_MS = 86_400_000;

/** Every page, following each page's cursor until there is none. */
async function walk<T>(read: (page: PageRequest) => Promise<Page<T>>, limit: number): Promise<{ rows: T[]; pages: number }> {
  const rows: T[] = [];
  let pages = 0;
  let after: string | undefined;
  do {
    const page = await read({ limit, ...(after === undefined ? {} : { after }) });
    expect(page.rows.length).toBeLessThanOrEqual(limit);
    rows.push(...page.rows);
    pages++;
    after = page.next ?? undefined;
  } while (after !== undefined);
  return { rows, pages };
}

/**
 * Keyset pages over a synthetic ledger of 3,000 records (40 agents; drift records that name
 * several agents, so several lines share one record): walking the pages gives exactly the
 * whole answer, in order, with no line twice, and the count is the whole answer's length.
 */
describe("audit answers in pages", () => {
  let store: AuditStore;
  let ledger: ReturnType<typeof syntheticLedger>;
  beforeAll(async () => {
    ledger = syntheticLedger(3_000, 40);
    store = openSqliteIndex(":memory:");
    await updateIndex(store, memoryLedgerSource(ledger.records, ledger.objects));
  });
  afterAll(() => store.close());

  const filters = (): [string, ChangeFilter][] => [
    ["every change", {}],
    ["a year", { since: ledger.end - 365 * DAY_MS, until: ledger.end }],
    ["one agent", { agent: ledger.agents[3] ?? "" }],
    ["one approver (who can approve a change twice)", { approver: ledger.reviewers[2] ?? "" }],
    ["a data class in a window", { dataClass: "payment-card", since: ledger.start + 400 * DAY_MS }],
    ["a kind and an approver", { kind: "model-changed", approver: ledger.reviewers[1] ?? "" }],
    ["emergencies", { emergency: true }],
  ];

  it("changes: every page size walks to the whole answer, and the count is its length", async () => {
    for (const [name, filter] of filters()) {
      const whole = (await queryChanges(store, filter)).map((c) => c.seq);
      expect(whole.length, name).toBeGreaterThan(0);
      expect(new Set(whole).size, name).toBe(whole.length);
      expect(await countChanges(store, filter), name).toBe(whole.length);
      for (const limit of [1, 7, 100]) {
        const { rows, pages } = await walk((page) => pageChanges(store, filter, page), limit);
        expect(rows.map((c) => c.seq), `${name}, pages of ${limit}`).toEqual(whole);
        expect(pages, `${name}, pages of ${limit}`).toBe(Math.max(1, Math.ceil(whole.length / limit)));
      }
    }
  });

  it("exceptions: pages split drift records that name several agents without losing or repeating a line", async () => {
    const filter: ExceptionFilter = { since: ledger.start + 365 * DAY_MS, now: ledger.end, retroDays: 7 };
    const whole = (await queryExceptions(store, filter)).map((e) => `${e.type}:${e.seq}:${e.agents}`);
    const drift = whole.filter((line) => line.startsWith("drift-unresolved:"));
    const sharedRecord = drift.some((line, i) => drift.some((other, j) => i !== j && other.split(":")[1] === line.split(":")[1]));
    expect(sharedRecord).toBe(true);
    expect(new Set(whole).size).toBe(whole.length);
    expect(await countExceptions(store, filter)).toBe(whole.length);
    for (const limit of [1, 2, 5, 100]) {
      const { rows } = await walk((page) => pageExceptions(store, filter, page), limit);
      expect(rows.map((e) => `${e.type}:${e.seq}:${e.agents}`), `pages of ${limit}`).toEqual(whole);
    }
  });

  it("the access review: pages by agent id", async () => {
    const whole = (await currentAgents(store)).map((a) => a.agent);
    expect(whole).toHaveLength(40);
    expect(await countAgents(store)).toBe(40);
    for (const limit of [1, 3, 39, 40, 41]) {
      const { rows } = await walk((page) => pageAgents(store, page), limit);
      expect(rows.map((a) => a.agent), `pages of ${limit}`).toEqual(whole);
    }
  });

  it("a cursor that is not one this report printed is a usage error with a hint", async () => {
    const page = await pageChanges(store, {}, { limit: 5 });
    expect(page.next).not.toBeNull();
    const attempts: Promise<unknown>[] = [
      pageChanges(store, {}, { limit: 5, after: "not a cursor!" }),
      pageChanges(store, {}, { limit: 5, after: Buffer.from('["x", 1]').toString("base64url") }),
      pageAgents(store, { limit: 5, after: page.next ?? "" }),
      pageExceptions(store, { now: ledger.end, retroDays: 7 }, { limit: 5, after: page.next ?? "" }),
      pageChanges(store, {}, { limit: 0 }),
      pageChanges(store, {}, { limit: 1.5 }),
    ];
    for (const attempt of attempts) {
      const error = await attempt.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isCharterError(error) && error.code === "USAGE" && error.hint !== undefined, String(error)).toBe(true);
    }
  });
});
