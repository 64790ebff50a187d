import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import { sealPending } from "../../src/sources/trail-sealer.js";
import { TrailIngestor } from "../../src/sources/trail-ingestor.js";
import type { LedgerTip } from "../../src/evidence/ledger.js";
import { evidenceRepo } from "../helpers/evidence-repo.js";
import { runMeasuredCli } from "../helpers/measured-cli.js";
import { anchorTrail } from "../helpers/trail-anchor.js";
import type { TempRepo } from "../helpers/temp-repo.js";
import { context, sourceEvent } from "../trail/trail-fixture.js";

// Two trails, the second four times the first: what differs between the verifier's peaks is what
// it keeps per event. Both are past the size where the runtime's heap and SQLite's page cache
// have grown to their working size.
const SMALL = 100_000;
const LARGE = 400_000;
// The goal for any length of trail (issue: verify within bounded memory, 20 million events).
const PEAK_BOUND_KB = 384 * 1024;
// What each event may add to the peak: a verifier that streams keeps the Merkle frontier (a few
// dozen hashes) whatever the length, and what remains is the runtime's heap sizing itself to the
// garbage of decoding (--deep measured 37 bytes an event once, 0 another time). One that held
// each event's hash (32 bytes, over 100 with its Buffer) would add more than this; one that held the
// events (about 700 bytes each) far more.
const PER_EVENT_BOUND_BYTES = 64;
const BATCH = 5_000;
const DAY_MS = 86_400_000;

const dirs: string[] = [];
const repos: TempRepo[] = [];
afterAll(() => {
  for (const r of repos.splice(0)) r.remove();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A trail of `size` events over a year, sealed and anchored on a clone's evidence branch as the app leaves it. */
async function anchoredTrail(size: number): Promise<{ repo: TempRepo; db: string }> {
  const { repo, ledger } = evidenceRepo(2);
  repos.push(repo);
  const dir = mkdtempSync(join(tmpdir(), "charter-trail-scale-"));
  dirs.push(dir);
  const db = join(dir, "trail.sqlite");
  const store = openSqliteTrail(db);
  try {
    const ctx = context();
    const start = Date.parse("2026-01-01T00:00:00Z");
    const ingestor = new TrailIngestor(store, () => ctx, { batchSize: BATCH, maxQueued: BATCH * 4 });
    for (let i = 0; i < size; i += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, size - i) }, (_, k) =>
        sourceEvent({ sourceKey: `scale:${String(i + k)}`, observedAt: new Date(start + Math.floor(((i + k) / size) * 365 * DAY_MS)).toISOString() }),
      );
      await ingestor.submit(batch);
    }
    await ingestor.close();
    expect((await store.tip()).seq).toBe(size);
    expect((await sealPending(store, ledger.signerKey)).length).toBeGreaterThan(0);
  } finally {
    await store.close();
  }
  let tip: LedgerTip = ledger.tip;
  // An anchor record lists a bounded number of segments: anchor until none is left.
  for (let next = await anchorTrail(repo, db, tip, ledger.signerKey); next !== tip; next = await anchorTrail(repo, db, tip, ledger.signerKey)) tip = next;
  return { repo, db };
}

describe("charter trail verify on a large trail", () => {
  it(`verifies ${LARGE.toLocaleString("en")} anchored events within ${PEAK_BOUND_KB / 1024} MB peak, growing by under ${PER_EVENT_BOUND_BYTES} bytes an event, with and without --deep`, async () => {
    const trails = [await anchoredTrail(SMALL), await anchoredTrail(LARGE)];
    const peaks: Record<string, number[]> = {};
    for (const mode of [[], ["--deep"]]) {
      const runs = [];
      for (const [i, t] of trails.entries()) {
        const run = await runMeasuredCli(["trail", "verify", "--db", t.db, "--format", "json", ...mode], t.repo.root);
        expect(run.stderr).toBe("");
        expect(run.code).toBe(0);
        expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, events: [SMALL, LARGE][i], anchoredThrough: [SMALL, LARGE][i], problems: [] });
        runs.push(run.peakRssKb);
      }
      peaks[mode.join("") || "plain"] = runs;
    }
    // Printed so a failure (or a reader of the log) sees the figures, not only the verdict.
    process.stdout.write(`trail verify peak RSS (MB) at ${SMALL} and ${LARGE} events: ${Object.entries(peaks).map(([m, [s = 0, l = 0]]) => `${m} ${Math.round(s / 1024)} → ${Math.round(l / 1024)}`).join("; ")}\n`);
    for (const [small = 0, large = 0] of Object.values(peaks)) {
      expect(large).toBeLessThan(PEAK_BOUND_KB);
      expect((Math.max(0, large - small) * 1024) / (LARGE - SMALL)).toBeLessThan(PER_EVENT_BOUND_BYTES);
    }
  }, 600_000);
});
