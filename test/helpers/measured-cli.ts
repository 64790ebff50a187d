import { spawnGroup } from "./child-processes.js";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PRELOAD = join(ROOT, "test", "helpers", "report-peak-rss.js");

export interface MeasuredRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall-clock time of the whole process, start to exit. */
  readonly ms: number;
  /** The Node process's peak resident set, as the kernel counted it (getrusage). */
  readonly peakRssKb: number;
}

/**
 * Runs the built CLI (bin/charter.js over dist/) as its own process, as an auditor runs it, and
 * measures its wall-clock time and peak resident memory.
 */
export function runMeasuredCli(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<MeasuredRun> {
  const dir = mkdtempSync(join(tmpdir(), "charter-rss-"));
  const file = join(dir, "peak-rss");
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const { child } = spawnGroup(process.execPath, ["--import", PRELOAD, join(ROOT, "bin", "charter.js"), ...args], { cwd, env: { ...env, CHARTER_PEAK_RSS_FILE: file }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      try {
        resolve({ code, stdout, stderr, ms, peakRssKb: Number(readFileSync(file, "utf8")) });
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
