import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runGroup } from "../helpers/child-processes.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
/** Under the test\'s own timeout, so that a hung run is killed with its process group and reported. */
const TIMEOUT_MS = 110_000;

/**
 * The benchmarks run at full size only with `npm run bench`; here they run small, so that a
 * change that breaks one (a new conclusion, a renamed function) fails the suite instead of
 * being found the next time someone measures. Nothing about their figures is asserted.
 */
describe("npm run bench, at a small size", () => {
  it("prints one well-formed JSON line per figure", async () => {
    const out = (
      await runGroup(process.execPath, ["--import", "tsx", "bench/run.ts", "validate", "check-run", "evaluate"], {
      cwd: root,
      timeoutMs: TIMEOUT_MS,
      env: { ...process.env, CHARTER_BENCH_AGENTS: "40", CHARTER_BENCH_EVALUATE_AGENTS: "40" },
    })
    ).stdout;
    const figures = out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { bench: string; ratio: number });
    expect(figures.map((f) => f.bench)).toEqual(["validate", "check-run/typical", "check-run/medium", "check-run/large", "evaluate"]);
    for (const f of figures) expect(f.ratio).toBeGreaterThan(0);
  }, 120_000);

  it("counts the requests of an evidence append on a fresh and a grown ledger", async () => {
    const out = (
      await runGroup(process.execPath, ["--import", "tsx", "bench/run.ts", "append"], {
      cwd: root,
      timeoutMs: TIMEOUT_MS,
      env: { ...process.env, CHARTER_BENCH_LEDGER: "200", CHARTER_BENCH_APPENDS: "2" },
    })
    ).stdout;
    const figure = JSON.parse(out.trim()) as { bench: string; requestsPerAppend: number; baselineRequestsPerAppend: number };
    expect(figure.bench).toBe("evidence-append");
    expect(figure.requestsPerAppend).toBeGreaterThan(0);
    expect(figure.baselineRequestsPerAppend).toBeGreaterThan(0);
  }, 120_000);

  it("times the CLI's start-up against node -e 0, with min and median of each", async () => {
    const out = (await runGroup(process.execPath, ["--import", "tsx", "bench/run.ts", "startup"], { cwd: root, timeoutMs: TIMEOUT_MS, env: { ...process.env, CHARTER_BENCH_STARTUP_SAMPLES: "3" } })).stdout;
    const figures = out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { bench: string; samples: number; min_ms: number; median_ms: number; baseline_min_ms: number; ratio: number; ratio_median: number });
    expect(figures.map((f) => f.bench)).toEqual(["startup/help", "startup/validate"]);
    for (const f of figures) {
      expect(f.samples).toBe(3);
      expect(f.min_ms).toBeLessThanOrEqual(f.median_ms);
      expect(f.baseline_min_ms).toBeGreaterThan(0);
      expect(f.ratio).toBeGreaterThan(0);
    }
  }, 120_000);

  it("measures the detection engine's throughput and its latency at a sustained rate", async () => {
    const out = (
      await runGroup(process.execPath, ["--import", "tsx", "bench/run.ts", "detect"], {
        cwd: root,
        timeoutMs: TIMEOUT_MS,
        env: { ...process.env, CHARTER_BENCH_DETECT_EVENTS: "2000", CHARTER_BENCH_DETECT_SECONDS: "0.2" },
      })
    ).stdout;
    const figures = out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { bench: string; ratio: number; sigmaRules: number });
    expect(figures.map((f) => f.bench)).toEqual(["detect/throughput", "detect/latency"]);
    for (const f of figures) {
      expect(f.sigmaRules).toBe(50);
      expect(f.ratio).toBeGreaterThan(0);
    }
  }, 120_000);

  it("runs charter verify as a process at two sizes against hashing the same blobs", async () => {
    const out = (
      await runGroup(process.execPath, ["--import", "tsx", "bench/run.ts", "verify"], {
        cwd: root,
        timeoutMs: TIMEOUT_MS,
        env: { ...process.env, CHARTER_BENCH_VERIFY_SIZES: "200,400" },
      })
    ).stdout;
    const figures = out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { bench: string; records: number; ratio: number; peak_rss_mb: number });
    expect(figures.map((f) => [f.bench, f.records])).toEqual([
      ["verify", 200],
      ["verify", 400],
    ]);
    for (const f of figures) {
      expect(f.ratio).toBeGreaterThan(0);
      expect(f.peak_rss_mb).toBeGreaterThan(0);
    }
  }, 120_000);

  it("ingests, asks the seed query, scans and verifies the trail, on SQLite and PostgreSQL", async () => {
    const out = (
      await runGroup(process.execPath, ["--import", "tsx", "bench/run.ts", "trail"], {
        cwd: root,
        timeoutMs: TIMEOUT_MS,
        env: { ...process.env, CHARTER_BENCH_TRAIL_EVENTS: "20000", CHARTER_BENCH_TRAIL_POSTGRES_EVENTS: "5000" },
      })
    ).stdout;
    const figures = out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { bench: string; events: number; ratio?: number; hits?: number; bytes_per_event?: number; peak_rss_mib?: number; median_ms?: number });
    // Two sizes (a tenth, then the full size), then PostgreSQL.
    expect(figures.map((f) => [f.bench, f.events])).toEqual([
      ["trail/ingest", 2000],
      ["trail/seed-query", 2000],
      ["trail/verify", 2000],
      ["trail/ingest", 20000],
      ["trail/seed-query", 20000],
      ["trail/verify", 20000],
      ["trail/postgres", 5000],
    ]);
    const [, , , ingest, seed, verify, postgres] = figures;
    expect(ingest?.ratio).toBeGreaterThan(0);
    expect(ingest?.bytes_per_event).toBeGreaterThan(0);
    expect(ingest?.peak_rss_mib).toBeGreaterThan(0);
    // The bench itself refuses a seed query whose count differs from the scan's; some events are off-hours customer reads.
    expect(seed?.hits).toBeGreaterThan(0);
    expect(seed?.ratio).toBeGreaterThan(0);
    expect(verify?.ratio).toBeGreaterThan(0);
    expect(postgres?.hits).toBeGreaterThan(0);
    expect(postgres?.ratio).toBeGreaterThan(0);
  }, 180_000);
});
