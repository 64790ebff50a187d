import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The benchmarks run at full size only with `npm run bench`; here they run small, so that a
 * change that breaks one (a new conclusion, a renamed function) fails the suite instead of
 * being found the next time someone measures. Nothing about their figures is asserted.
 */
describe("npm run bench, at a small size", () => {
  it("prints one well-formed JSON line per figure", () => {
    const out = execFileSync(`${root}node_modules/.bin/tsx`, ["bench/run.ts", "validate", "check-run", "evaluate"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, CHARTER_BENCH_AGENTS: "40", CHARTER_BENCH_EVALUATE_AGENTS: "40" },
    });
    const figures = out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { bench: string; ratio: number });
    expect(figures.map((f) => f.bench)).toEqual(["validate", "check-run/typical", "check-run/large", "evaluate"]);
    for (const f of figures) expect(f.ratio).toBeGreaterThan(0);
  }, 120_000);

  it("counts the requests of an evidence append on a fresh and a grown ledger", () => {
    const out = execFileSync(`${root}node_modules/.bin/tsx`, ["bench/run.ts", "append"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, CHARTER_BENCH_LEDGER: "200", CHARTER_BENCH_APPENDS: "2" },
    });
    const figure = JSON.parse(out.trim()) as { bench: string; requestsPerAppend: number; baselineRequestsPerAppend: number };
    expect(figure.bench).toBe("evidence-append");
    expect(figure.requestsPerAppend).toBeGreaterThan(0);
    expect(figure.baselineRequestsPerAppend).toBeGreaterThan(0);
  }, 120_000);

  it("measures the detection engine's throughput and its latency at a sustained rate", () => {
    const out = execFileSync(`${root}node_modules/.bin/tsx`, ["bench/run.ts", "detect"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, CHARTER_BENCH_DETECT_EVENTS: "2000", CHARTER_BENCH_DETECT_SECONDS: "0.2" },
    });
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

  it("runs charter verify as a process at two sizes against hashing the same blobs", () => {
    const out = execFileSync(`${root}node_modules/.bin/tsx`, ["bench/run.ts", "verify"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, CHARTER_BENCH_VERIFY_SIZES: "200,400" },
    });
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

  it("ingests, asks the seed query, scans and verifies the trail, on SQLite and PostgreSQL", () => {
    const out = execFileSync(`${root}node_modules/.bin/tsx`, ["bench/run.ts", "trail"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, CHARTER_BENCH_TRAIL_EVENTS: "20000", CHARTER_BENCH_TRAIL_POSTGRES_EVENTS: "5000" },
    });
    const figures = out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { bench: string; events: number; ratio?: number; hits?: number; bytes_per_event?: number; peak_rss_mib?: number; median_ms?: number });
    expect(figures.map((f) => [f.bench, f.events])).toEqual([
      ["trail/ingest", 20000],
      ["trail/seed-query", 20000],
      ["trail/verify", 20000],
      ["trail/postgres", 5000],
    ]);
    const [ingest, seed, verify, postgres] = figures;
    expect(ingest?.ratio).toBeGreaterThan(0);
    expect(ingest?.bytes_per_event).toBeGreaterThan(0);
    expect(ingest?.peak_rss_mib).toBeGreaterThan(0);
    // The bench itself refuses a seed query whose count differs from the scan's; some events are off-hours customer reads.
    expect(seed?.hits).toBeGreaterThan(0);
    expect(seed?.ratio).toBeGreaterThan(0);
    expect(verify?.ratio).toBeGreaterThan(0);
    expect(postgres?.hits).toBeGreaterThan(0);
  }, 180_000);
});
