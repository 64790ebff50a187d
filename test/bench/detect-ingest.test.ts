import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runGroup } from "../helpers/child-processes.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
/** Under the test's own timeout, so that a hung run is killed with its process group and reported. */
const TIMEOUT_MS = 110_000;

/** The ingest cost of live detection, at a small size: the figure's shape, not its value. */
describe("npm run bench -- detect-ingest, at a small size", () => {
  it("prints one JSON line: ingest alone and with detection, min and median of at least 3 samples each, and their ratio", async () => {
    const out = (
      await runGroup(process.execPath, ["--import", "tsx", "bench/run.ts", "detect-ingest"], {
        cwd: root,
        timeoutMs: TIMEOUT_MS,
        env: { ...process.env, CHARTER_BENCH_DETECT_INGEST_EVENTS: "1500" },
      })
    ).stdout;
    const lines = out.trim().split("\n");
    expect(lines).toHaveLength(1);
    const figure = JSON.parse(lines[0] ?? "") as { bench: string; events: number; samples: number; sigmaRules: number; ratio: number; ingestAlone: { minMs: number; medianMs: number }; ingestWithDetection: { minMs: number; medianMs: number } };
    expect(figure).toMatchObject({ bench: "detect/ingest-cost", events: 1500, sigmaRules: 50 });
    expect(figure.samples).toBeGreaterThanOrEqual(3);
    for (const side of [figure.ingestAlone, figure.ingestWithDetection]) {
      expect(side.minMs).toBeGreaterThan(0);
      expect(side.medianMs).toBeGreaterThanOrEqual(side.minMs);
    }
    expect(figure.ratio).toBeGreaterThan(0);
  }, 120_000);
});
