import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresTrail } from "../../src/sources/postgres-trail-store.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import { offHoursOrAll } from "../../src/sources/trail-queries.js";
import type { TrailStore } from "../../src/sources/trail-store.js";
import type { DecidedEvent } from "../../src/trail/decide.js";
import { series } from "../detect/trail-events.js";
import { type PostgresServer, startPostgres } from "../helpers/postgres.js";

/**
 * Reports name every agent and principal they count, in one read of the dictionary: more distinct
 * principals than SQLite accepts bound variables (32,766), and an attacker's quoting in the names.
 */
const PRINCIPALS = 33_000;
const AGENTS = 7;
const T0 = "2026-03-01T02:00:00.000Z";
const principalOf = (i: number): string => (i === 5 ? `x'); DROP TABLE names; --` : `role_${String(i)}`);
const agentOf = (i: number): string | null => (i % 11 === 0 ? null : `agent-${String(i % AGENTS)}`);

const EVENTS: DecidedEvent[] = series(PRINCIPALS, T0, 1_000, (i) => ({
  principal: principalOf(i),
  agent: agentOf(i),
  withinHours: false,
})).map(({ seq: _seq, hash: _hash, ...rest }, i) => ({ ...rest, id: `names-${String(i)}` }));

let pg: PostgresServer;
const dir = mkdtempSync(join(tmpdir(), "charter-names-"));
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(() => {
  pg.stop();
  rmSync(dir, { recursive: true, force: true });
});

for (const engine of ["sqlite", "postgres"] as const) {
  describe(`the ${engine} trail's dictionary`, () => {
    let store: TrailStore;
    beforeAll(async () => {
      store = engine === "sqlite" ? openSqliteTrail(join(dir, "trail.sqlite")) : await openPostgresTrail(pg.url, "names");
      await store.append(EVENTS);
    }, 120_000);
    afterAll(async () => {
      await store.close();
    });

    it("names every principal it was asked for in one call, and leaves out ids it never issued and ids of another kind", async () => {
      const rows = await store.select("SELECT DISTINCT principal FROM events");
      const ids = rows.map((r) => Number(r["principal"]));
      expect(ids).toHaveLength(PRINCIPALS);
      const agentId = await store.nameId("agent", "agent-1");
      expect(agentId).toBeDefined();
      const names = await store.namesOf("principal", [...ids, ...ids.slice(0, 10), 987_654_321, ...(agentId === undefined || ids.includes(agentId) ? [] : [agentId])]);
      expect(names.size).toBe(PRINCIPALS);
      expect(new Set(names.values())).toEqual(new Set(Array.from({ length: PRINCIPALS }, (_, i) => principalOf(i))));
      expect(names.has(987_654_321)).toBe(false);
      for (const [id, value] of [...names].slice(0, 200)) expect(await store.nameId("principal", value)).toBe(id);
      expect((await store.namesOf("agent", [])).size).toBe(0);
    });

    it("names the agents of the off-hours count, the unattributed apart", async () => {
      const answer = await offHoursOrAll(store, { dataClass: "customer-pii", outsideHours: true });
      const expected = new Map<string | null, number>();
      for (let i = 0; i < PRINCIPALS; i++) expected.set(agentOf(i), (expected.get(agentOf(i)) ?? 0) + 1);
      expect(answer.total).toBe(PRINCIPALS);
      expect(new Map(answer.byAgent.map((a) => [a.agent, a.events]))).toEqual(expected);
    });
  });
}
