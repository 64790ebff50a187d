import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresTrail } from "../../src/sources/postgres-trail-store.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import type { TrailStore } from "../../src/sources/trail-store.js";
import { readTrailWindow } from "../../src/sources/trail-window.js";
import type { DecidedEvent } from "../../src/trail/decide.js";
import { series } from "../detect/trail-events.js";
import { type PostgresServer, startPostgres } from "../helpers/postgres.js";

/** The bounded read a backtest makes: the events observed in a window, the latest `cap` of them, in seq order. */
const T0 = Date.parse("2026-03-01T00:00:00.000Z");
const HOUR = 3_600_000;

// 10 events before the window, 25 in it, 5 after it, and one late arrival (stored last, observed in the window).
const EVENTS: DecidedEvent[] = [
  ...series(10, new Date(T0).toISOString(), 60_000),
  ...series(25, new Date(T0 + 2 * HOUR).toISOString(), 60_000),
  ...series(5, new Date(T0 + 10 * HOUR).toISOString(), 60_000),
  ...series(1, new Date(T0 + 3 * HOUR).toISOString(), 60_000),
].map(({ seq: _seq, hash: _hash, ...rest }) => ({ ...rest, id: `window-${rest.id}` }));
const WINDOW = { sinceMs: T0 + HOUR, untilMs: T0 + 5 * HOUR };

let pg: PostgresServer;
const dir = mkdtempSync(join(tmpdir(), "charter-window-"));
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(() => {
  pg.stop();
  rmSync(dir, { recursive: true, force: true });
});

for (const engine of ["sqlite", "postgres"] as const) {
  describe(`reading a window of the ${engine} trail`, () => {
    const open = (): Promise<TrailStore> => (engine === "sqlite" ? Promise.resolve(openSqliteTrail(join(dir, "trail.sqlite"))) : openPostgresTrail(pg.url, "window"));

    it("reads every event observed in the window, late arrivals included, and nothing outside it", async () => {
      const store = await open();
      try {
        await store.append(EVENTS);
        const read = await readTrailWindow(store, { ...WINDOW, cap: 1000 });
        expect(read.capped).toBe(false);
        expect(read.total).toBe(26);
        expect(read.events.map((e) => e.seq)).toEqual([...Array.from({ length: 25 }, (_, i) => 11 + i), 41]);
        expect(read.events.every((e) => Date.parse(e.observedAt) >= WINDOW.sinceMs && Date.parse(e.observedAt) < WINDOW.untilMs)).toBe(true);
      } finally {
        await store.close();
      }
    });

    it("reads only the latest events up to the cap, and says it was capped", async () => {
      const store = await open();
      try {
        const read = await readTrailWindow(store, { ...WINDOW, cap: 6 });
        expect(read).toMatchObject({ total: 26, capped: true });
        expect(read.events.map((e) => e.seq)).toEqual([31, 32, 33, 34, 35, 41]);
      } finally {
        await store.close();
      }
    });
  });
}
