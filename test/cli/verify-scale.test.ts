import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type LargeLedger, writeLargeLedger } from "../helpers/large-ledger.js";
import { runMeasuredCli } from "../helpers/measured-cli.js";

// Both sizes are past the point where the runtime's heap has grown to its working size (about 150
// MB whatever the ledger, measured from 60,000 to 100,000 records), so what differs between them is
// what the verifier keeps per record.
const SMALL = 25_000;
const LARGE = 75_000;
// The goal for any size (issue: peak memory ≤ 256 MB whatever the ledger's length).
const PEAK_BOUND_KB = 256 * 1024;
// What each record may add to the peak beyond the fixed cost. The design keeps 33 bytes a record
// (hash and kind) and, for each change (nine in ten here), two fingerprints of at most 38 bytes:
// about 100 bytes a record. The peak also moves by some 15 MB from run to run with when the
// collector frees git's buffers, 300 bytes a record over the 50,000 between the sizes, hence
// the margin; a verifier that held the records (2.3 kB each here, several kB once parsed) or
// anything of that order per record fails it. The tables' density is held exactly by
// fingerprint-table.test.ts.
const PER_RECORD_BOUND_BYTES = 512;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function verifyGenerated(size: number): Promise<{ ledger: LargeLedger; run: Awaited<ReturnType<typeof runMeasuredCli>> }> {
  const dir = mkdtempSync(join(tmpdir(), "charter-scale-"));
  dirs.push(dir);
  const repo = join(dir, "repo");
  const ledger = await writeLargeLedger(repo, size);
  const run = await runMeasuredCli(["verify", "--key", ledger.verifierKey, "--trust-file", join(dir, "known-logs"), "--format", "json"], repo);
  return { ledger, run };
}

describe("charter verify on a large ledger", () => {
  it(`verifies ${LARGE.toLocaleString("en")} records within ${PEAK_BOUND_KB / 1024} MB peak, growing by under ${PER_RECORD_BOUND_BYTES} bytes a record`, async () => {
    const small = await verifyGenerated(SMALL);
    const large = await verifyGenerated(LARGE);
    for (const { ledger, run } of [small, large]) {
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, size: ledger.size, root: ledger.root, problems: [] });
    }
    // Printed so a failure (or a reader of the log) sees the figures, not only the verdict.
    process.stdout.write(
      `verify peak RSS: ${SMALL} records ${Math.round(small.run.peakRssKb / 1024)} MB, ${LARGE} records (${Math.round(large.ledger.bytes / 2 ** 20)} MB of records) ${Math.round(large.run.peakRssKb / 1024)} MB\n`,
    );
    expect(large.run.peakRssKb).toBeLessThan(PEAK_BOUND_KB);
    const growthBytes = Math.max(0, large.run.peakRssKb - small.run.peakRssKb) * 1024;
    expect(growthBytes / (LARGE - SMALL)).toBeLessThan(PER_RECORD_BOUND_BYTES);
  }, 600_000);
});
