import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runGroup } from "../../helpers/child-processes.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
/** Under the test\'s own timeout, so that a hung run is killed with its process group and reported. */
const TIMEOUT_MS = 170_000;

interface Spread {
  min: number;
  median: number;
}

/**
 * `npm run bench -- provision` at two small sizes of each figure, so that a change to the provider
 * that breaks the benchmark fails the suite. The bench starts its own server. Nothing about its
 * times is asserted; their shape is (min and median of at least three samples per side).
 */
describe("the provision benchmark, at small sizes", () => {
  it("provisions, re-syncs to a no-op, reads the catalogs, and prints one well-formed JSON line per size", async () => {
    const out = (
      await runGroup(process.execPath, ["--import", "tsx", "bench/run.ts", "provision"], {
        cwd: root,
        timeoutMs: TIMEOUT_MS,
        env: { ...process.env, CHARTER_BENCH_PROVISION_AGENTS: "10,20", CHARTER_BENCH_PROVISION_TABLES: "20,60" },
      })
    ).stdout;
    const figures = out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { bench: string; agents: number; tables?: number; operations?: number; samples: number; ratio: number } & Record<string, unknown>);
    expect(figures.map((f) => [f.bench, f.agents, f.tables, f.operations])).toEqual([
      ["provision", 10, undefined, 55],
      ["provision", 20, undefined, 110],
      ["provision/catalog-read", 100, 20, undefined],
      ["provision/catalog-read", 100, 60, undefined],
    ]);
    for (const f of figures) {
      expect(f.samples).toBeGreaterThanOrEqual(3);
      expect(f.ratio).toBeGreaterThan(0);
      for (const key of ["first_sync_ms", "noop_sync_ms", "observe_ms", "baseline_ms"]) {
        const spread = f[key] as Spread | undefined;
        if (spread !== undefined) expect(spread.min).toBeLessThanOrEqual(spread.median);
      }
    }
  }, 180_000);
});
