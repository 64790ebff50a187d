import { describe, expect, it } from "vitest";
import { memoryLedgerSource } from "../../src/audit/ledger-source.js";
import { dumpIndex } from "../../src/audit/queries.js";
import { openSqliteIndex } from "../../src/audit/sqlite-index.js";
import { updateIndex } from "../../src/audit/update-index.js";
import { CharterError } from "../../src/errors.js";
import { canonicalBytes } from "../../src/evidence/canonical-json.js";
import { auditLedger, buildAuditLedger, change, FINANCE, MANIFESTS } from "./audit-ledger.js";

describe("updating the audit index", () => {
  it("indexes in increments exactly what a rebuild indexes", async () => {
    const ledger = auditLedger();
    const rebuilt = openSqliteIndex(":memory:");
    const incremental = openSqliteIndex(":memory:");
    await updateIndex(rebuilt, memoryLedgerSource(ledger.records, ledger.objects), { rebuild: true });
    // The branch grows between runs, and batches split the records differently.
    const added: number[] = [];
    for (const size of [1, 2, 6, 7, 11, 16]) {
      const result = await updateIndex(incremental, memoryLedgerSource(ledger.records.slice(0, size), ledger.objects), { batchSize: 3 });
      added.push(result.indexed);
      expect(result).toMatchObject({ size, lastHash: ledger.hashes[size - 1] });
    }
    expect(added).toEqual([1, 1, 4, 1, 4, 5]);
    expect(await dumpIndex(incremental)).toEqual(await dumpIndex(rebuilt));
    await rebuilt.close();
    await incremental.close();
  });

  it("reads nothing again when the branch has not moved", async () => {
    const ledger = auditLedger();
    const store = openSqliteIndex(":memory:");
    const source = memoryLedgerSource(ledger.records, ledger.objects);
    await updateIndex(store, source);
    const before = await dumpIndex(store);
    expect(await updateIndex(store, source)).toMatchObject({ indexed: 0, size: ledger.records.length });
    expect(await dumpIndex(store)).toEqual(before);
    await store.close();
  });

  it("refuses a branch rewritten under the index, and a rebuild indexes the new history", async () => {
    const ledger = auditLedger();
    const store = openSqliteIndex(":memory:");
    await updateIndex(store, memoryLedgerSource(ledger.records.slice(0, 6), ledger.objects));
    // The same kind of history, written again with another key: every record differs.
    const created = change({ pr: 11, agent: FINANCE, mergedAt: "2025-01-10T10:00:00Z", kinds: ["agent-created"], manifest: MANIFESTS.financeV1 });
    const other = buildAuditLedger([{ entry: { kind: "change", body: created.body, observedAt: "2025-01-10T10:01:00Z" }, copies: created.copies }]);
    for (const records of [other.records, ledger.records.slice(0, 4)]) {
      const refused = await updateIndex(store, memoryLedgerSource(records, other.objects)).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(CharterError);
      expect((refused as CharterError).code).toBe("LEDGER_REWRITTEN");
      expect((refused as CharterError).hint).toMatch(/charter verify.*--rebuild/);
    }
    const rebuilt = await updateIndex(store, memoryLedgerSource(other.records, other.objects), { rebuild: true });
    expect(rebuilt).toMatchObject({ indexed: 2, size: 2, lastHash: other.hashes[1] });
    await store.close();
  });

  it("refuses a new record that does not continue the chain", async () => {
    const ledger = auditLedger();
    const store = openSqliteIndex(":memory:");
    const records = [...ledger.records];
    // Record 5 swapped for record 6: its seq and prev do not follow record 4.
    records[5] = ledger.records[6] ?? new Uint8Array();
    const refused = await updateIndex(store, memoryLedgerSource(records, ledger.objects)).catch((e: unknown) => e);
    expect((refused as CharterError).code).toBe("INVALID_RECORD");
    // Nothing from the refused batch is stored: the index ends where its last good batch did.
    expect((await store.meta()).size).toBe(0);
    await store.close();
  });

  it("reports a canonical record that is not shaped as its kind requires, instead of failing inside", async () => {
    const ledger = auditLedger();
    const odd = canonicalBytes({ schema: "charter.evidence/v1", seq: 1, kind: "change", prev: ledger.hashes[0], observedAt: "2025-01-10T10:01:00Z", body: { note: "not a change" } });
    const store = openSqliteIndex(":memory:");
    const refused = await updateIndex(store, memoryLedgerSource([ledger.records[0] ?? new Uint8Array(), odd])).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CharterError);
    expect((refused as CharterError).code).toBe("INVALID_RECORD");
    expect((refused as CharterError).hint).toMatch(/charter verify/);
    await store.close();
  });

  it("reads a manifest copy whose bytes do not match its name as unreadable, not as the approved manifest", async () => {
    const ledger = auditLedger();
    const forged = new Map([...ledger.objects].map(([sha, bytes]) => [sha, bytes.length > 0 ? new TextEncoder().encode(MANIFESTS.supportV1) : bytes]));
    const store = openSqliteIndex(":memory:");
    await updateIndex(store, memoryLedgerSource(ledger.records, forged));
    // Every copy now holds support's first manifest: only support's first version is what its name says.
    const rows = await store.select("SELECT seq, manifest FROM agent_versions ORDER BY seq");
    expect(rows.map((r) => [r["seq"], r["manifest"]])).toEqual([
      [1, "unreadable"],
      [2, "copy"],
      [3, "unreadable"],
      [4, "unreadable"],
      [6, "no-copy"],
      [8, "unreadable"],
      [13, "unreadable"],
    ]);
    await store.close();
  });
});

