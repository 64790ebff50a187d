import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliCompressSync, constants } from "node:zlib";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isCharterError } from "../../src/errors.js";
import { openSqliteTrail, type SqliteTrailStore } from "../../src/sources/sqlite-trail-store.js";
import { chunkLines } from "../../src/sources/trail-chunk.js";
import { TrailIngestor } from "../../src/sources/trail-ingestor.js";
import { chainHash, GENESIS_HASH } from "../../src/trail/event-bytes.js";
import type { TrailEvent } from "../../src/trail/event.js";
import { verifyTrail } from "../../src/trail/verify-trail.js";
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

  it("records an event once when a redelivery writes its time another way, and chains and counts only what it stored", async () => {
    const ingestor = new TrailIngestor(store, () => context());
    // The same instant, written as ISO 8601 allows: one event, not a conflict that fails the batch.
    const batch = [
      sourceEvent({ sourceKey: "p", observedAt: "2026-03-03T14:00:00.000Z" }),
      sourceEvent({ sourceKey: "q" }),
      sourceEvent({ sourceKey: "p", observedAt: "2026-03-03T14:00:00Z" }),
      sourceEvent({ sourceKey: "r" }),
    ];
    const result = await ingestor.submit(batch);
    expect(result.duplicates).toBe(1);
    expect(result.stored.map((e) => [e.seq, e.sourceKey])).toEqual([
      [1, "p"],
      [2, "q"],
      [3, "r"],
    ]);
    const later = await ingestor.submit([sourceEvent({ sourceKey: "q" }), sourceEvent({ sourceKey: "s" }), sourceEvent({ sourceKey: "r" })]);
    expect(later.stored.map((e) => [e.seq, e.sourceKey])).toEqual([[4, "s"]]);
    expect(later.duplicates).toBe(2);
    const rows = await store.select("SELECT seq FROM events ORDER BY seq");
    expect(rows.map((r) => r["seq"])).toEqual([1, 2, 3, 4]);
    // The rollups count each stored event once (class 0 counts every event).
    expect(await store.select("SELECT sum(n) AS n FROM hourly WHERE class = 0")).toEqual([{ n: 4 }]);
    expect(await store.select("SELECT sum(n) AS n FROM daily WHERE class = 0")).toEqual([{ n: 4 }]);
    expect(await store.select("SELECT events FROM source_status")).toEqual([{ events: 4 }]);
    const report = await verifyTrail({ origin: await store.origin(), verifierKeys: [], chunks: store.iterateChunks(), segments: [], anchored: [], checkpoints: [], indexRows: 4 });
    expect(report).toMatchObject({ ok: true, events: 4 });
  });

  it("names each resource by its system, name and instance, an empty instance apart from none", async () => {
    const ingestor = new TrailIngestor(store, () => context());
    await ingestor.submit([
      sourceEvent({ sourceKey: "n1", instance: null }),
      sourceEvent({ sourceKey: "e1", instance: "" }),
      sourceEvent({ sourceKey: "c1" }),
      sourceEvent({ sourceKey: "n2", instance: null }),
      sourceEvent({ sourceKey: "e2", instance: "" }),
    ]);
    const rows = await store.select("SELECT n.value AS resource FROM events e JOIN names n ON n.id = e.resource ORDER BY e.seq");
    expect(rows.map((r) => r["resource"])).toEqual([
      "postgres:crm.public.customers",
      "postgres:crm.public.customers@",
      "postgres:crm.public.customers@crm-prod",
      "postgres:crm.public.customers",
      "postgres:crm.public.customers@",
    ]);
  });

  it("refuses a whole batch when one event cannot be stored, leaving the trail as it was", async () => {
    const ingestor = new TrailIngestor(store, () => context());
    await ingestor.submit([sourceEvent({ sourceKey: "before" })]);
    await expect(ingestor.submit([sourceEvent({ sourceKey: "ok" }), sourceEvent({ sourceKey: "bad", observedAt: "not a time" })])).rejects.toThrow(/NOT NULL/);
    expect((await store.tip()).seq).toBe(1);
    expect(await store.select("SELECT count(*) AS n FROM events")).toEqual([{ n: 1 }]);
    const after = await ingestor.submit([sourceEvent({ sourceKey: "ok" })]);
    expect(after.stored.map((e) => e.seq)).toEqual([2]);
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

  it("keeps the record compressed, and still reads and verifies chunks an earlier release wrote as plain lines", async () => {
    const ingestor = new TrailIngestor(store, () => context());
    await ingestor.submit(Array.from({ length: 300 }, (_, i) => sourceEvent({ sourceKey: `c${String(i)}` })));
    const expected = (await store.readChain(1, 300)).map((r) => [r.seq, r.bytes.toString("utf8"), r.hash.toString("hex")]);
    const sql = new Database(join(dir, "trail.sqlite"));
    try {
      const stored = sql.prepare("SELECT first_seq, lines FROM chunks ORDER BY first_seq").all() as { first_seq: number; lines: Buffer }[];
      const plainBytes = expected.reduce((n, [, text]) => n + Buffer.byteLength(String(text)) + 1, 0);
      expect(stored.reduce((n, c) => n + c.lines.length, 0)).toBeLessThan(plainBytes / 4);
      // The first chunk rewritten as an earlier release stored it: plain lines, one per event.
      const first = stored[0] as { first_seq: number; lines: Buffer };
      sql.prepare("UPDATE chunks SET lines = ? WHERE first_seq = ?").run(chunkLines(first.lines), first.first_seq);
      expect((sql.prepare("SELECT lines FROM chunks WHERE first_seq = ?").get(first.first_seq) as { lines: Buffer }).lines[0]).toBe(0x7b);
    } finally {
      sql.close();
    }
    expect((await store.readChain(1, 300)).map((r) => [r.seq, r.bytes.toString("utf8"), r.hash.toString("hex")])).toEqual(expected);
    const report = await verifyTrail({ origin: await store.origin(), verifierKeys: [], chunks: store.iterateChunks(), segments: [], anchored: [], checkpoints: [], indexRows: 300 });
    expect(report).toMatchObject({ ok: true, events: 300 });
  });

  it("reports a planted decompression bomb as a damaged chunk instead of inflating it", async () => {
    const ingestor = new TrailIngestor(store, () => context());
    await ingestor.submit(Array.from({ length: 3 }, (_, i) => sourceEvent({ sourceKey: `b${String(i)}` })));
    const sql = new Database(join(dir, "trail.sqlite"));
    try {
      // 100 MiB of newlines (a hundred million empty "events"), compressed to some kilobytes, in the chunk's place.
      const bomb = Buffer.concat([Buffer.of(0), brotliCompressSync(Buffer.alloc(100 * 1024 * 1024, 0x0a), { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } })]);
      expect(bomb.length).toBeLessThan(64 * 1024);
      sql.prepare("UPDATE chunks SET lines = ?").run(bomb);
    } finally {
      sql.close();
    }
    const report = await verifyTrail({ origin: await store.origin(), verifierKeys: [], chunks: store.iterateChunks(), segments: [], anchored: [], checkpoints: [], indexRows: 3 });
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.code)).toContain("chunk-gap");
    let thrown: unknown;
    try {
      await store.readChain(1, 3);
    } catch (error) {
      thrown = error;
    }
    expect(isCharterError(thrown) && thrown.code === "INVALID_RECORD" && /does not decode/.test(thrown.message)).toBe(true);
  });
});
