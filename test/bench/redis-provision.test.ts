import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runGroup } from "../helpers/child-processes.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

/**
 * `npm run bench -- provision-redis` at 10 and 20 agents, two samples each, so that a change to the provider that breaks
 * the benchmark fails the suite. The bench starts its own server. Nothing about its times is asserted.
 */
describe("the redis provision benchmark, at a small size", () => {
  it("provisions, re-syncs to a no-op, and prints one well-formed JSON line", async () => {
    const out = (
      await runGroup(process.execPath, ["--import", "tsx", "bench/run.ts", "provision-redis"], {
        cwd: root,
        timeoutMs: 110_000,
        env: { ...process.env, CHARTER_BENCH_REDIS_AGENTS: "10,20", CHARTER_BENCH_REDIS_SAMPLES: "2" },
      })
    ).stdout;
    const figures = out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { bench: string; agents: number; operations: number; ratio: number });
    expect(figures).toHaveLength(2);
    expect(figures[0]).toMatchObject({ bench: "provision/redis", agents: 10, operations: 10, samples: 2 });
    expect(figures[1]).toMatchObject({ bench: "provision/redis", agents: 20, operations: 20, samples: 2 });
    expect(figures[1]?.ratio).toBeGreaterThan(0);
  }, 120_000);
});
