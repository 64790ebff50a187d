import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LedgerMix, writeLargeLedger } from "../test/helpers/large-ledger.js";
import { runMeasuredCli } from "../test/helpers/measured-cli.js";
import { loadAverage, median, report, round, time } from "./measure.js";

const SIZES = (process.env["CHARTER_BENCH_VERIFY_SIZES"] ?? "100000,300000").split(",").map(Number);
// Samples a side (at least three, for a min and a median that mean something).
const ROUNDS = Math.max(3, Number(process.env["CHARTER_BENCH_VERIFY_SAMPLES"] ?? 3));
// "realistic" (a working repository's spread of kinds) or "changes" (nearly all change records, the most memory a record).
const MIX: LedgerMix = process.env["CHARTER_BENCH_VERIFY_MIX"] === "changes" ? "changes" : "realistic";

/**
 * The `charter verify` command itself, as an auditor runs it (built CLI, its own process, reading
 * the branch from git), over generated ledgers of at least two sizes so that growth shows. The
 * baseline is the least any verifier must do with the same bytes, measured in the same run: git
 * reads every record blob (one ls-tree, one cat-file --batch) and SHA-256 hashes them. Reports the
 * ratio of medians, min and median of each side, the command's peak resident memory and the
 * load average at the end (CHARTER_BENCH_VERIFY_SAMPLES samples a side, CHARTER_BENCH_VERIFY_MIX
 * the kinds of record).
 */
export async function run(): Promise<void> {
  for (const size of SIZES) {
    const dir = mkdtempSync(join(tmpdir(), "charter-bench-verify-"));
    try {
      const repo = join(dir, "repo");
      let ledger: Awaited<ReturnType<typeof writeLargeLedger>> | undefined;
      const generateMs = await time(async () => {
        ledger = await writeLargeLedger(repo, size, undefined, MIX);
      });
      if (!ledger) throw new Error("no ledger generated");
      const key = ledger.verifierKey;
      const charter: number[] = [];
      const baseline: number[] = [];
      let peakRssKb = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const measured = await runMeasuredCli(["verify", "--key", key, "--trust-file", join(dir, `known-logs-${r}`), "--format", "json"], repo);
        const json = JSON.parse(measured.stdout) as { ok: boolean; size: number; root: string };
        if (measured.code !== 0 || !json.ok || json.size !== size || json.root !== ledger.root) throw new Error(`charter verify rejected the generated ledger: ${measured.stdout.slice(0, 500)}${measured.stderr}`);
        charter.push(measured.ms);
        peakRssKb = Math.max(peakRssKb, measured.peakRssKb);
        baseline.push(await time(() => hashRecordBlobs(repo)));
      }
      const charterMs = median(charter);
      const baselineMs = median(baseline);
      report({
        bench: "verify",
        records: size,
        mix: MIX,
        bytes: ledger.bytes,
        generate_ms: round(generateMs),
        samples: ROUNDS,
        charter_ms: round(charterMs),
        charter_min_ms: round(Math.min(...charter)),
        per_record_us: round((charterMs * 1000) / size, 2),
        peak_rss_mb: round(peakRssKb / 1024),
        baseline: "git ls-tree | git cat-file --batch | sha256sum over the same record blobs",
        baseline_ms: round(baselineMs),
        baseline_min_ms: round(Math.min(...baseline)),
        ratio: round(charterMs / baselineMs, 3),
        load: loadAverage(),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Reads every record blob of the evidence branch through git and hashes the bytes, in one pipeline. */
function hashRecordBlobs(repo: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", "git ls-tree -r --full-tree charter-evidence records/ | cut -d' ' -f3 | cut -f1 | git cat-file --batch | sha256sum"], { cwd: repo, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`baseline pipeline failed (${String(code)}): ${stderr}`));
    });
  });
}
