import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditStore } from "../../src/audit/audit-store.js";
import { memoryLedgerSource } from "../../src/audit/ledger-source.js";
import { openPostgresIndex } from "../../src/audit/postgres-index.js";
import { pageChangeLines } from "../../src/audit/change-lines.js";
import { dumpIndex } from "../../src/audit/queries.js";
import { openSqliteIndex } from "../../src/audit/sqlite-index.js";
import { updateIndex } from "../../src/audit/update-index.js";
import { type PostgresServer, startPostgres } from "../helpers/postgres.js";
import { runCli } from "../cli/run-cli.js";
import { auditLedger, auditRepo } from "./audit-ledger.js";
import { queryCases } from "./query-cases.js";

let server: PostgresServer;
let schemas = 0;
const openSchema = (name = `audit_${++schemas}`): Promise<AuditStore> => openPostgresIndex(server.url, name);

beforeAll(async () => {
  server = await startPostgres();
});
afterAll(() => {
  server.stop();
});

describe("audit queries on the PostgreSQL index", () => {
  queryCases(() => openSchema());
});

describe("the PostgreSQL index", () => {
  it("holds exactly what the SQLite index holds for the same ledger", async () => {
    const ledger = auditLedger();
    const source = memoryLedgerSource(ledger.records, ledger.objects);
    const sqlite = openSqliteIndex(":memory:");
    const postgres = await openSchema();
    try {
      await updateIndex(sqlite, source, { batchSize: 5 });
      await updateIndex(postgres, source, { batchSize: 3 });
      expect(await dumpIndex(postgres)).toEqual(await dumpIndex(sqlite));
    } finally {
      await sqlite.close();
      await postgres.close();
    }
  });

  it("writes a whole changes answer's stored rows as the SQLite index does, rows read as arrays", async () => {
    const ledger = auditLedger();
    const source = memoryLedgerSource(ledger.records, ledger.objects);
    const sqlite = openSqliteIndex(":memory:");
    const postgres = await openSchema();
    try {
      await updateIndex(sqlite, source);
      await updateIndex(postgres, source);
      const now = Date.UTC(2030, 0, 1);
      for (const format of ["csv", "json"] as const) {
        const want = await pageChangeLines(sqlite, {}, {}, format, now, 7);
        expect(want.rows.length).toBeGreaterThan(0);
        expect(await pageChangeLines(postgres, {}, {}, format, now, 7)).toEqual(want);
        const first = await pageChangeLines(postgres, {}, { limit: 1 }, format, now, 7);
        expect(first.rows).toEqual(want.rows.slice(0, 1));
        expect(first.next).toEqual((await pageChangeLines(sqlite, {}, { limit: 1 }, format, now, 7)).next);
      }
    } finally {
      await sqlite.close();
      await postgres.close();
    }
  });

  it("two replicas updating one schema at the same time index every record once", async () => {
    const ledger = auditLedger();
    const source = memoryLedgerSource(ledger.records, ledger.objects);
    const a = await openSchema("shared_by_replicas");
    const b = await openSchema("shared_by_replicas");
    const reference = openSqliteIndex(":memory:");
    try {
      const results = await Promise.all([updateIndex(a, source, { batchSize: 2 }), updateIndex(b, source, { batchSize: 2 })]);
      expect(results.map((r) => r.size)).toEqual([ledger.records.length, ledger.records.length]);
      expect(results[0].indexed + results[1].indexed).toBe(ledger.records.length);
      await updateIndex(reference, source);
      expect(await dumpIndex(b)).toEqual(await dumpIndex(reference));
    } finally {
      await a.close();
      await b.close();
      await reference.close();
    }
  });

  it("quotes the schema name, so any name is only a name", async () => {
    const store = await openSchema('odd "name"; DROP TABLE x');
    try {
      const ledger = auditLedger();
      await updateIndex(store, memoryLedgerSource(ledger.records, ledger.objects));
      expect((await store.meta()).size).toBe(ledger.records.length);
    } finally {
      await store.close();
    }
  });
});

describe("charter audit with DATABASE_URL", () => {
  it("indexes into the named PostgreSQL schema and answers as it does from SQLite", async () => {
    const ledger = auditLedger();
    const repo = auditRepo(ledger);
    const saved = { url: process.env["DATABASE_URL"], schema: process.env["CHARTER_AUDIT_SCHEMA"] };
    try {
      delete process.env["DATABASE_URL"];
      const fromSqlite = await runCli(["audit", "changes", "--format", "json", "--data-class", "financial"], repo.root);
      process.env["DATABASE_URL"] = server.url;
      process.env["CHARTER_AUDIT_SCHEMA"] = "cli_audit";
      const fromPostgres = await runCli(["audit", "changes", "--format", "json", "--data-class", "financial"], repo.root);
      expect(fromPostgres.code).toBe(0);
      const rows = (out: string): unknown => (JSON.parse(out) as { rows: unknown }).rows;
      expect(rows(fromPostgres.stdout)).toEqual(rows(fromSqlite.stdout));
      expect((JSON.parse(fromPostgres.stdout) as { ledger: { index: string } }).ledger.index).toBe("PostgreSQL schema cli_audit");
      const store = await openSchema("cli_audit");
      expect((await store.meta()).size).toBe(ledger.records.length);
      await store.close();
    } finally {
      if (saved.url === undefined) delete process.env["DATABASE_URL"];
      else process.env["DATABASE_URL"] = saved.url;
      if (saved.schema === undefined) delete process.env["CHARTER_AUDIT_SCHEMA"];
      else process.env["CHARTER_AUDIT_SCHEMA"] = saved.schema;
      repo.remove();
    }
  });
});
