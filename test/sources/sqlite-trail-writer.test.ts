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
