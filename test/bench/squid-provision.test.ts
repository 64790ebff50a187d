import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runGroup } from "../helpers/child-processes.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

/**
 * `npm run bench -- provision-squid` at 20 agents and 3 samples, so that a change to the provider
 * that breaks the benchmark fails the suite. The bench starts its own squid. Nothing about its times is asserted.
 */
describe("the squid provision benchmark, at a small size", () => {
  it("provisions, re-syncs to a no-op, and prints one well-formed JSON line", async () => {
    const out = (
      await runGroup(process.execPath, ["--import", "tsx", "bench/run.ts", "provision-squid"], {
        cwd: root,
        timeoutMs: 110_000,
        env: { ...process.env, CHARTER_BENCH_SQUID_AGENTS: "20" },
      })
    ).stdout;
    const figures = out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { bench: string; agents: number; samples: number; identities_created: number; ratio: number });
    expect(figures).toHaveLength(1);
    expect(figures[0]).toMatchObject({ bench: "provision/squid", agents: 20, samples: 3, identities_created: 20 });
    expect(figures[0]?.ratio).toBeGreaterThan(0);
  }, 120_000);
});
