import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { median, report, round } from "./measure.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const SAMPLES = Math.max(3, Number(process.env["CHARTER_BENCH_STARTUP_SAMPLES"] ?? 15));

/** A process start to its exit, wall time, as a user waits for it. */
function timed(args: readonly string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`node ${args.join(" ")} exited ${String(result.status)}: ${result.stderr.toString()}`);
  return ms;
}

/**
 * `charter --help` and `charter validate` of one manifest, each a fresh process of the built CLI
 * (bin/charter.js, as installed), against `node -e 0` in the same run: what starting Node costs
 * before Charter does anything. Samples alternate, so load on the machine hits all three alike;
 * min and median of each are reported, and the ratios to Node's. Goal: ≤ 2× Node (90 ms where
 * Node alone takes about 45 ms).
 */
export async function run(): Promise<void> {
  const cases = {
    node: ["-e", "0"],
    help: ["bin/charter.js", "--help"],
    validate: ["bin/charter.js", "validate", "agents/support-triage/agent.yaml"],
  } as const;
  const samples: Record<keyof typeof cases, number[]> = { node: [], help: [], validate: [] };
  for (const args of Object.values(cases)) timed(args);
  for (let i = 0; i < SAMPLES; i++) {
    for (const [name, args] of Object.entries(cases) as [keyof typeof cases, readonly string[]][]) samples[name].push(timed(args));
  }
  const stats = (values: readonly number[]): { min: number; median: number } => ({ min: round(Math.min(...values)), median: round(median(values)) });
  const node = stats(samples.node);
  for (const name of ["help", "validate"] as const) {
    const own = stats(samples[name]);
    report({
      bench: `startup/${name}`,
      command: `charter ${cases[name].slice(1).join(" ")}`,
      samples: SAMPLES,
      min_ms: own.min,
      median_ms: own.median,
      baseline: "node -e 0",
      baseline_min_ms: node.min,
      baseline_median_ms: node.median,
      ratio: round(own.min / node.min, 2),
      ratio_median: round(own.median / node.median, 2),
      target_ratio: 2,
    });
  }
  await Promise.resolve();
}
