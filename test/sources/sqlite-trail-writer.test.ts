import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isCharterError } from "../../src/errors.js";
import { openSqliteTrail, type SqliteTrailStore } from "../../src/sources/sqlite-trail-store.js";
import { TrailIngestor } from "../../src/sources/trail-ingestor.js";
import { decide } from "../../src/trail/decide.js";
import { verifyTrail } from "../../src/trail/verify-trail.js";
import { runGroup } from "../helpers/child-processes.js";
import { context, sourceEvent } from "../trail/trail-fixture.js";

let dir: string;
let store: SqliteTrailStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "charter-trail-writer-"));
  store = openSqliteTrail(join(dir, "trail.sqlite"));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const RECEIVED_MS = Date.parse("2026-03-03T14:00:01Z");

function decided(keys: readonly string[]) {
  const ctx = context();
  return keys.map((k) => decide(sourceEvent({ sourceKey: k }), RECEIVED_MS, ctx));
}

function keys(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${String(i)}`);
}

async function storedKeys(s: SqliteTrailStore): Promise<string[]> {
  const rows = await s.readChain(1, 1_000_000);
  return rows.map((r) => (JSON.parse(r.bytes.toString("utf8")) as { sourceKey: string }).sourceKey);
}

describe("the SQLite trail's writer thread", () => {
  it("commits batches given before the earlier ones are answered, in call order, and appends a refused batch after the ones before it", async () => {
    expect(store.appendsInFlight).toBe(2);
    const first = keys("a", 300);
    // The second batch repeats an event of the first: the writer refuses it (it was chained as
    // if every event were new) and it is appended again without the duplicate. The third was
    // chained on the tip the second would have left, so the writer refuses it too.
    const second = [...keys("b", 200), "a7", ...keys("c", 100)];
    const third = keys("d", 250);
    const results = await Promise.all([store.append(decided(first)), store.append(decided(second)), store.append(decided(third))]);
    expect(results.map((r) => r.duplicates)).toEqual([0, 1, 0]);
    expect(results.map((r) => r.stored.length)).toEqual([300, 300, 250]);
    const seqs = results.flatMap((r) => r.stored.map((e) => e.seq));
    expect(seqs).toEqual(Array.from({ length: 850 }, (_, i) => i + 1));
    const expected = [...first, ...second.filter((k) => k !== "a7"), ...third];
    expect(await storedKeys(store)).toEqual(expected);
    // What each call was told it stored is what the trail holds at those seqs, hash included.
    const chain = await store.readChain(1, 1000);
    expect(results.flatMap((r) => r.stored.map((e) => e.hash))).toEqual(chain.map((row) => row.hash.toString("hex")));
    expect(await store.select("SELECT sum(n) AS n FROM hourly WHERE class = 0")).toEqual([{ n: 850 }]);
    expect(await store.select("SELECT count(*) AS n FROM events")).toEqual([{ n: 850 }]);
    const report = await verifyTrail({ origin: await store.origin(), verifierKeys: [], chunks: store.iterateChunks(), segments: [], anchored: [], checkpoints: [], indexRows: 850 });
    expect(report.ok).toBe(true);
  });

  it("writes from a batch's columns the same query rows, rollups and source status as the store's own connection", async () => {
    // Events of every shape a row can take: attributed or not, with or without a resource, a
    // manifest, a canonical or an odd trace id, from two sources, attested or not, data classes or none.
    const ctx = context();
    const shapes = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        sourceEvent({
          sourceKey: `shape-${String(i)}`,
          observedAt: new Date(Date.parse("2026-03-03T06:00:00Z") + i * 7 * 60_000).toISOString(),
          principal: i % 3 === 0 ? `nobody_${String(i % 4)}` : "charter_agent_support_triage",
          resource: i % 5 === 0 ? null : (["crm.public.customers", "crm.public.payments", "crm.public.orders"][i % 3] ?? null),
          action: i % 4 === 0 ? "update" : "select",
          traceId: i % 6 === 0 ? "0af7651916cd43dd8448eb211c80319c" : i % 6 === 1 ? "ABCDEF0123" : null,
          ...(i % 7 === 0 ? { source: "squid" as const, sourceInstance: "egress", attested: false } : {}),
        }),
      );
    const events = shapes(240).map((e) => decide(e, RECEIVED_MS, ctx));
    const other = openSqliteTrail(join(dir, "own.sqlite"), { writerThread: false });
    try {
      // Two batches through the writer; the third repeats an event, so it is appended on the store's own connection.
      for (const s of [store, other]) {
        const again = shapes(241).map((e) => decide(e, RECEIVED_MS, ctx));
        await s.append(events.slice(0, 100).map((e) => ({ ...e })));
        await s.append(events.slice(100, 200).map((e) => ({ ...e })));
        const last = await s.append([...again.slice(200, 240), ...again.slice(5, 6)]);
        expect(last.duplicates).toBe(1);
      }
      const rows = (s: SqliteTrailStore) =>
        s.select(
          `SELECT e.seq, e.observed_ms, hex(e.id) AS id, a.value AS agent, src.value AS source, act.value AS action, r.value AS resource, p.value AS principal,
             CAST(e.classes AS TEXT) AS classes, e.bits, e.manifest_seq, hex(e.trace) AS trace
           FROM events e LEFT JOIN names a ON a.id = e.agent JOIN names src ON src.id = e.source JOIN names act ON act.id = e.action
             LEFT JOIN names r ON r.id = e.resource JOIN names p ON p.id = e.principal ORDER BY e.seq`,
        );
      const written = await rows(store);
      expect(written).toHaveLength(240);
      expect(written).toEqual(await rows(other));
      // The rows hold what the events say.
      expect(written.filter((r) => r["trace"] === "0AF7651916CD43DD8448EB211C80319C")).toHaveLength(40);
      expect(written.filter((r) => r["trace"] === "ABCDEF0123")).toHaveLength(40);
      expect(written.filter((r) => r["agent"] === null)).toHaveLength(80);
      expect(written.filter((r) => r["resource"] === null)).toHaveLength(48);
      expect(written.filter((r) => r["manifest_seq"] === 3)).toHaveLength(160);
      for (const table of ["hourly", "daily"]) {
        const sql = `SELECT * FROM ${table} ORDER BY 1, 2, 3, 4`;
        expect(await store.select(sql)).toEqual(await other.select(sql));
      }
      const status = "SELECT source, instance, attested, last_event_ms, last_received_ms, events FROM source_status ORDER BY source, instance";
      expect(await store.select(status)).toEqual(await other.select(status));
      expect((await store.select(status)).map((r) => [r["source"], r["events"]])).toEqual([
        ["pgaudit", 205],
        ["squid", 35],
      ]);
    } finally {
      await other.close();
    }
  });

  it("keeps arrival order when another handle appends between pipelined batches", async () => {
    const other = openSqliteTrail(join(dir, "trail.sqlite"), { writerThread: false });
    try {
      const ingestor = new TrailIngestor(store, () => context(), { batchSize: 100, now: () => RECEIVED_MS });
      const submissions = [0, 1, 2, 3, 4, 5].map((n) => ingestor.submit(keys(`s${String(n)}-`, 100).map((k) => sourceEvent({ sourceKey: k }))));
      // Appended from the other handle while the ingestor's batches are on their way.
      const elsewhere = await other.append(decided(keys("x", 50)));
      const results = await Promise.all(submissions);
      expect(elsewhere.stored).toHaveLength(50);
      expect(results.map((r) => r.stored.length)).toEqual([100, 100, 100, 100, 100, 100]);
      const seqs = results.flatMap((r) => r.stored.map((e) => e.seq));
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      const all = await storedKeys(store);
      expect(all).toHaveLength(650);
      expect(all.filter((k) => k.startsWith("s"))).toEqual([0, 1, 2, 3, 4, 5].flatMap((n) => keys(`s${String(n)}-`, 100)));
      const report = await verifyTrail({ origin: await store.origin(), verifierKeys: [], chunks: store.iterateChunks(), segments: [], anchored: [], checkpoints: [], indexRows: 650 });
      expect(report.ok).toBe(true);
    } finally {
      await other.close();
    }
  });

  it("fails the batches of a writer thread that stopped with an error to the caller, then writes on its own connection", async () => {
    // The thread opens the file at the first append: with its directory gone it cannot.
    rmSync(dir, { recursive: true, force: true });
    const ingestor = new TrailIngestor(store, () => context());
    const failed = await ingestor.submit([sourceEvent({ sourceKey: "lost" })]).then(
      () => null,
      (error: unknown) => error,
    );
    expect(isCharterError(failed) && failed.code).toBe("IO");
    expect((failed as Error).message).toMatch(/writer thread .* stopped .* not acknowledged/);
    const retried = await ingestor.submit([sourceEvent({ sourceKey: "lost" })]);
    expect(retried.stored.map((e) => e.sourceKey)).toEqual(["lost"]);
    expect(await store.select("SELECT count(*) AS n FROM events")).toEqual([{ n: 1 }]);
  });

  it("lets a process that ingested exit without closing the store, and returns from close when it does close one", async () => {
    // Built modules (npm run build), as the app and the CLI run them.
    const dist = (path: string): string => JSON.stringify(pathToFileURL(join(process.cwd(), "dist", path)).href);
    const script = `
      const { openSqliteTrail } = await import(${dist("sources/sqlite-trail-store.js")});
      const { TrailIngestor } = await import(${dist("sources/trail-ingestor.js")});
      const { emptyContext } = await import(${dist("trail/decide.js")});
      const { PrincipalBook } = await import(${dist("trail/attribute.js")});
      const { ManifestTimeline } = await import(${dist("trail/manifest-timeline.js")});
      const store = openSqliteTrail(${JSON.stringify(join(dir, "exit.sqlite"))});
      const ingestor = new TrailIngestor(store, () => emptyContext(new PrincipalBook(), new ManifestTimeline()));
      const event = ${JSON.stringify(sourceEvent({ sourceKey: "exit" }))};
      const result = await ingestor.submit([event, { ...event, sourceKey: "exit-2" }]);
      process.stdout.write(String(result.stored.length));
      // A second store, closed: the code after close still runs although nothing else is pending.
      const closed = openSqliteTrail(${JSON.stringify(join(dir, "closed.sqlite"))});
      await new TrailIngestor(closed, () => emptyContext(new PrincipalBook(), new ManifestTimeline())).submit([event]);
      await closed.close();
      process.stdout.write(" closed");
    `;
    // A thread that kept the process alive would show as the timeout's rejection.
    const child = await runGroup(process.execPath, ["--input-type=module", "-e", script], { timeoutMs: 60_000, allowFailure: true });
    expect(child.stderr).toBe("");
    expect(child.signal).toBeNull();
    expect(child.code).toBe(0);
    expect(child.stdout).toBe("2 closed");
  });
});
