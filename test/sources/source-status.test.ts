import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIngestToken } from "../../src/sources/ingest-tokens.js";
import { openPostgresTrail } from "../../src/sources/postgres-trail-store.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import { TrailIngestor } from "../../src/sources/trail-ingestor.js";
import { offHoursOrAll } from "../../src/sources/trail-queries.js";
import { statusRows } from "../../src/sources/trail-status.js";
import type { TrailStore } from "../../src/sources/trail-store.js";
import { startPostgres, type PostgresServer } from "../helpers/postgres.js";
import { context, sourceEvent } from "../trail/trail-fixture.js";

/**
 * Which sources `charter trail status` knows of, and when each counts as silent, on both stores:
 * the same SQL answers for the embedded store and for PostgreSQL.
 */
let server: PostgresServer;
let dir: string;
beforeAll(async () => {
  server = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), "charter-source-status-"));
}, 60_000);
afterAll(() => {
  server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const T0 = Date.parse("2026-03-03T14:00:00Z");
const MINUTE = 60_000;

async function scenario(store: TrailStore): Promise<void> {
  await store.declareSource("pgaudit", "crm-prod", true, 10 * MINUTE, T0);
  // A restart declares it again: the configuration time stays the first one, the limit is the latest.
  await store.declareSource("pgaudit", "crm-prod", true, 5 * MINUTE, T0 + 30 * MINUTE);
  await store.declareSource("pgaudit", "billing", true, 5 * MINUTE, T0);
  await store.declareSilenceLimit(20 * MINUTE);
  await createIngestToken(store, { kind: "source", instance: "payments-gateway" }, T0);
  const revoked = await createIngestToken(store, { kind: "source", instance: "old-proxy" }, T0);
  await store.revokeToken(revoked.record.id, T0 + MINUTE);
  const ingestor = new TrailIngestor(store, () => context(), { now: () => T0 + 2 * MINUTE });
  await ingestor.submit([sourceEvent({ sourceInstance: "billing" })]);
  await ingestor.close();

  const at = async (nowMs: number, override?: number) => Object.fromEntries((await statusRows(store, nowMs, 60 * MINUTE, override)).map((r) => [`${r.source}/${r.instance}`, [r.state, r.silentAfterSeconds, r.quietSince]]));
  const iso = (ms: number) => new Date(ms).toISOString();
  expect(await at(T0 + 4 * MINUTE)).toEqual({
    "pgaudit/billing": ["ok", 300, iso(T0 + 2 * MINUTE)],
    "pgaudit/crm-prod": ["waiting", 300, iso(T0)],
    "events/payments-gateway": ["waiting", 1200, iso(T0)],
  });
  expect(await at(T0 + 8 * MINUTE)).toEqual({
    "pgaudit/billing": ["silent", 300, iso(T0 + 2 * MINUTE)],
    "pgaudit/crm-prod": ["silent", 300, iso(T0)],
    "events/payments-gateway": ["waiting", 1200, iso(T0)],
  });
  expect((await at(T0 + 21 * MINUTE))["events/payments-gateway"]).toEqual(["silent", 1200, iso(T0)]);
  expect((await at(T0 + 21 * MINUTE, 60 * MINUTE))["pgaudit/crm-prod"]).toEqual(["waiting", 3600, iso(T0)]);
}

describe("the sources trail status knows of", () => {
  it("on the embedded store: declared logs and live tokens, silent from their configuration; revoked tokens gone", async () => {
    const store = openSqliteTrail(join(dir, "trail.sqlite"));
    try {
      await scenario(store);
    } finally {
      await store.close();
    }
  });

  it("on PostgreSQL, the same", async () => {
    const store = await openPostgresTrail(server.url, "charter_trail");
    try {
      await scenario(store);
    } finally {
      await store.close();
    }
  }, 60_000);
});

describe("the population question on both stores", () => {
  const since = Date.parse("2026-02-01T09:30:00Z");
  const until = Date.parse("2026-02-20T17:45:00Z");
  async function fill(store: TrailStore): Promise<number> {
    const ingestor = new TrailIngestor(store, () => context());
    const start = Date.parse("2026-02-01T00:00:00Z");
    await ingestor.submit(Array.from({ length: 600 }, (_, i) => sourceEvent({ sourceKey: `p${String(i)}`, observedAt: new Date(start + i * 3_600_037).toISOString() })));
    return offHoursCustomerReads(await store.readChain(1, 1000));
  }

  it("answers from the daily and hourly rollups exactly as the events count, and fills the daily rollup of an older PostgreSQL trail on open", async () => {
    const embedded = openSqliteTrail(join(dir, "population.sqlite"));
    const store = await openPostgresTrail(server.url, "charter_population");
    try {
      const expected = await fill(store);
      expect(expected).toBeGreaterThan(20);
      expect(await fill(embedded)).toBe(expected);
      for (const s of [store, embedded]) expect((await offHoursOrAll(s, { dataClass: "customer-pii", outsideHours: true, since, until })).total).toBe(expected);
      // What an earlier release left on PostgreSQL: no daily rollup, no marker.
      await store.select("DROP TABLE daily");
      await store.select("DELETE FROM meta WHERE key = 'rollup:daily'");
    } finally {
      await store.close();
      await embedded.close();
    }
    const reopened = await openPostgresTrail(server.url, "charter_population");
    try {
      expect((await offHoursOrAll(reopened, { dataClass: "customer-pii", outsideHours: true, since, until })).total).toBe(offHoursCustomerReads(await reopened.readChain(1, 1000)));
    } finally {
      await reopened.close();
    }
  }, 60_000);

  /** Counted here from the stored events themselves. */
  function offHoursCustomerReads(chain: readonly { bytes: Buffer }[]): number {
    return chain
      .map((l) => JSON.parse(l.bytes.toString("utf8")) as { observedAt: string; withinHours?: boolean; dataClasses: string[] })
      .filter((e) => e.dataClasses.includes("customer-pii") && e.withinHours === false && Date.parse(e.observedAt) >= since && Date.parse(e.observedAt) < until).length;
  }
});
