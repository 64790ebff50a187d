import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIngestToken } from "../../src/sources/ingest-tokens.js";
import { openPostgresTrail } from "../../src/sources/postgres-trail-store.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import { TrailIngestor } from "../../src/sources/trail-ingestor.js";
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
