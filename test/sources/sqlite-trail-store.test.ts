import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isCharterError } from "../../src/errors.js";
import { openSqliteTrail, type SqliteTrailStore } from "../../src/sources/sqlite-trail-store.js";
import { TrailIngestor } from "../../src/sources/trail-ingestor.js";
import { chainHash, GENESIS_HASH } from "../../src/trail/event-bytes.js";
import type { TrailEvent } from "../../src/trail/event.js";
import { context, sourceEvent } from "../trail/trail-fixture.js";

let dir: string;
let store: SqliteTrailStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "charter-trail-"));
  store = openSqliteTrail(join(dir, "trail.sqlite"));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the embedded trail store and the ingest path", () => {
  it("stores events in arrival order, chained, and resolves only with what is committed", async () => {
    const ingestor = new TrailIngestor(store, () => context(), { now: () => Date.parse("2026-03-03T14:00:01Z") });
    const result = await ingestor.submit([sourceEvent({ sourceKey: "a" }), sourceEvent({ sourceKey: "b" })]);
    expect(result.stored.map((e) => e.seq)).toEqual([1, 2]);
    // A second handle on the file (as the CLI opens it) sees both, chained from the genesis hash.
    const reader = openSqliteTrail(join(dir, "trail.sqlite"));
    const rows = await reader.readChain(1, 10);
    expect(rows).toHaveLength(2);
    let prev = GENESIS_HASH;
    for (const row of rows) {
      prev = chainHash(prev, row.bytes);
      expect(row.hash.toString("hex")).toBe(prev);
    }
    await reader.close();
  });

  it("records a redelivered event once, whether it comes again in the same batch or later", async () => {
    const ingestor = new TrailIngestor(store, () => context());
    const first = await ingestor.submit([sourceEvent({ sourceKey: "x" }), sourceEvent({ sourceKey: "x" })]);
    expect(first).toMatchObject({ duplicates: 1 });
    expect(first.stored).toHaveLength(1);
    const again = await ingestor.submit([sourceEvent({ sourceKey: "x" }), sourceEvent({ sourceKey: "y" })]);
    expect(again.duplicates).toBe(1);
    expect(again.stored.map((e) => e.sourceKey)).toEqual(["y"]);
    expect((await store.tip()).seq).toBe(2);
  });

  it("commits concurrent submissions together and tells each its own share", async () => {
    const ingestor = new TrailIngestor(store, () => context());
    const results = await Promise.all([1, 2, 3].map((n) => ingestor.submit([sourceEvent({ sourceKey: `k${n}` }), sourceEvent({ sourceKey: "shared" })])));
    expect(results.map((r) => r.stored.length + r.duplicates)).toEqual([2, 2, 2]);
    expect(results.reduce((n, r) => n + r.stored.length, 0)).toBe(4);
    expect((await store.tip()).seq).toBe(4);
  });

  it("refuses with OVERLOADED past its queue limit instead of buffering without bound", async () => {
    const ingestor = new TrailIngestor(store, () => context(), { maxQueued: 3 });
    const accepted = ingestor.submit([sourceEvent(), sourceEvent(), sourceEvent()]);
    await expect(ingestor.submit([sourceEvent()])).rejects.toSatisfy((e) => isCharterError(e) && e.code === "OVERLOADED");
    await accepted;
    // Once drained, it takes events again.
    await expect(ingestor.submit([sourceEvent()])).resolves.toMatchObject({ duplicates: 0 });
  });

  it("hands durable events to consumers in seq order, and a failing consumer changes nothing", async () => {
    const seen: number[] = [];
    const errors: unknown[] = [];
    const ingestor = new TrailIngestor(store, () => context(), { onConsumerError: (e) => errors.push(e) });
    ingestor.onDurable(() => {
      throw new Error("detector down");
    });
    ingestor.onDurable(async (events: readonly TrailEvent[]) => {
      // The events are already committed when a consumer sees them.
      expect((await store.tip()).seq).toBeGreaterThanOrEqual(events.at(-1)?.seq ?? 0);
      seen.push(...events.map((e) => e.seq));
    });
    await ingestor.submit([sourceEvent(), sourceEvent()]);
    await ingestor.submit([sourceEvent()]);
    // The submitter's answer does not wait for consumers: detection never delays an acknowledgement.
    await ingestor.drain();
    expect(seen).toEqual([1, 2, 3]);
    expect(errors).toHaveLength(2);
  });

  it("saves a source's position in the same transaction as its events", async () => {
    const ingestor = new TrailIngestor(store, () => context());
    await ingestor.submit([sourceEvent()], [{ source: "pgaudit", instance: "crm-prod", position: '{"offset":120}' }]);
    expect(await store.position("pgaudit", "crm-prod")).toBe('{"offset":120}');
    const status = await store.sourceStatus();
    expect(status).toMatchObject([{ source: "pgaudit", instance: "crm-prod", events: 1, attested: true }]);
  });

  it("keeps one origin for the life of the file", async () => {
    const origin = await store.origin();
    expect(origin).toMatch(/^charter-trail\/[0-9a-f-]{36}$/);
    const again = openSqliteTrail(join(dir, "trail.sqlite"), { origin: "charter-trail/other" });
    expect(await again.origin()).toBe(origin);
    await again.close();
  });
});
