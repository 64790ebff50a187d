import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditStore } from "../../src/audit/audit-store.js";
import { memoryLedgerSource } from "../../src/audit/ledger-source.js";
import { type ChangeFilter, changesQuery, countAgentsAt, pageAgentsAt } from "../../src/audit/queries.js";
import { openSqliteIndex } from "../../src/audit/sqlite-index.js";
import { updateIndex } from "../../src/audit/update-index.js";
import { auditLedger } from "./audit-ledger.js";

/**
 * Each selective query is answered by a search on an index, never by reading a whole table:
 * the only SCAN allowed is over the co-routine holding the keys the index already matched.
 */
describe("SQLite query plans", () => {
  let store: AuditStore;
  beforeAll(async () => {
    const ledger = auditLedger();
    store = openSqliteIndex(":memory:");
    await updateIndex(store, memoryLedgerSource(ledger.records, ledger.objects));
  });
  afterAll(() => store.close());
  const plan = async (sql: string, params: readonly (string | number)[]): Promise<string[]> =>
    (await store.select(`EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => String(r["detail"]));
  const fullScans = (lines: readonly string[]): string[] => lines.filter((l) => /^SCAN /.test(l) && l !== "SCAN d");

  it.each<[string, ChangeFilter, RegExp]>([
    ["time window", { since: 1, until: 2 }, /SEARCH c USING INDEX changes_by_time/],
    ["agent", { agent: "a", since: 1 }, /SEARCH x USING PRIMARY KEY \(agent=\? AND merged_ms>\?\)/],
    ["approver", { approver: "a", until: 9 }, /SEARCH x USING PRIMARY KEY \(reviewer=\? AND merged_ms<\?\)/],
    ["data class in a window, with a kind", { dataClass: "c", since: 1, until: 5, kind: "k" }, /SEARCH x USING PRIMARY KEY \(data_class=\? AND merged_ms>\? AND merged_ms<\?\)/],
    ["kind", { kind: "k" }, /SEARCH x USING PRIMARY KEY \(kind=\?\)/],
    ["emergencies", { emergency: true, since: 1 }, /SEARCH c USING INDEX emergencies_by_time/],
  ])("changes by %s use an index", async (_name, filter, expected) => {
    const { sql, params } = changesQuery(filter);
    const lines = await plan(sql, params as (string | number)[]);
    expect(lines.join("\n")).toMatch(expected);
    expect(fullScans(lines)).toEqual([]);
  });

  it.each<[string, ChangeFilter]>([
    ["every change", {}],
    ["data class in a window", { dataClass: "c", since: 1, until: 5 }],
    ["approver", { approver: "a" }],
    ["agent and approver", { agent: "a", approver: "b" }],
  ])("a later page of changes by %s is one index walk from the cursor, in index order (no sort)", async (_name, filter) => {
    const { sql, params } = changesQuery(filter, { after: [3, 4], fetch: 101 });
    const lines = await plan(sql, params as (string | number)[]);
    expect(fullScans(lines)).toEqual([]);
    expect(lines.join("\n")).not.toMatch(/TEMP B-TREE/);
    expect(lines.join("\n")).toMatch(/merged_ms>\?/);
  });

  it("the access review at a moment walks the agents once and searches each one's versions", async () => {
    const lines: string[] = [];
    const spy: AuditStore = { ...store, select: async (sql, params) => (lines.push(...(await plan(sql, (params ?? []) as (string | number)[]))), store.select(sql, params)) };
    await pageAgentsAt(spy, 5, { limit: 10 });
    await countAgentsAt(spy, 5);
    expect(lines.filter((l) => /^SCAN /.test(l))).toEqual(["SCAN a USING COVERING INDEX sqlite_autoindex_agents_1", "SCAN a USING COVERING INDEX sqlite_autoindex_agents_1"]);
    expect(lines.filter((l) => l.startsWith("SEARCH w "))).toEqual([
      "SEARCH w USING COVERING INDEX versions_status (agent=? AND effective_ms<?)",
      "SEARCH w USING COVERING INDEX versions_status (agent=? AND effective_ms<?)",
    ]);
    expect(lines.join("\n")).not.toMatch(/TEMP B-TREE/);
  });

  it.each([
    ["time travel", "SELECT * FROM agent_versions WHERE agent = ? AND effective_ms <= ? ORDER BY effective_ms DESC, seq DESC LIMIT 1", ["a", 1]],
    ["exceptions in a window", "SELECT * FROM exceptions e WHERE 1 = 1 AND e.observed_ms >= ? ORDER BY e.observed_ms, e.seq", [1]],
    ["retro-reviews of emergencies", "SELECT * FROM retro_approvals WHERE emergency_seq IN (?, ?) ORDER BY emergency_seq, seq", [1, 2]],
  ])("%s uses an index", async (_name, sql, params) => {
    expect(fullScans(await plan(sql, params))).toEqual([]);
  });
});
