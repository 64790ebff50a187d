import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runGroup } from "../helpers/child-processes.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = join(ROOT, "bin/charter.js");

/**
 * Preloaded into the CLI's process: writes every package file the process loaded, through import
 * (a module hook sees each resolution) or through require (the CommonJS cache), one per line on
 * stderr at exit.
 */
const RECORDER = `
import { createRequire, register } from "node:module";
register("data:text/javascript," + encodeURIComponent(\`
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (result.url.includes("/node_modules/")) process.stderr.write("loaded " + result.url + "\\\\n");
  return result;
}\`));
const cache = createRequire(import.meta.url).cache;
process.on("exit", () => {
  for (const file of Object.keys(cache)) if (file.includes("/node_modules/")) process.stderr.write("loaded " + file + "\\\\n");
});
`;

/** The packages (by name) a run of the built CLI loads. */
async function packagesLoaded(args: readonly string[], recorder: string): Promise<string[]> {
  const run = await runGroup(process.execPath, ["--import", recorder, BIN, ...args], { cwd: ROOT, timeoutMs: 30_000 });
  const names = run.stderr
    .split("\n")
    .filter((line) => line.startsWith("loaded "))
    .map((line) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(line)?.[1] ?? line);
  return [...new Set(names)].sort();
}

describe("each command loads only what it uses", () => {
  const dir = mkdtempSync(join(tmpdir(), "charter-startup-"));
  const recorder = join(dir, "recorder.mjs");
  writeFileSync(recorder, RECORDER);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  // Servers, drivers and the app's stack: none of them has anything to do with these commands.
  const HEAVY = ["better-sqlite3", "pg", "graphile-worker", "probot", "ioredis", "@octokit/core", "pino"];

  it("charter --help loads no package at all", async () => {
    expect(await packagesLoaded(["--help"], recorder)).toEqual([]);
  });

  it("charter validate of one manifest loads the validators' runtime and nothing of the app, the git layer or a database", async () => {
    const loaded = await packagesLoaded(["validate", "agents/support-triage/agent.yaml"], recorder);
    expect(loaded.filter((name) => HEAVY.includes(name))).toEqual([]);
    // At most ajv's runtime helpers for the generated validators; yaml and the rest are in the bundle.
    expect(loaded.filter((name) => !["ajv", "ajv-formats", "fast-deep-equal"].includes(name))).toEqual([]);
  });

  it("a command that needs a database loads its driver", async () => {
    const loaded = await packagesLoaded(["jobs", "--help"], recorder);
    expect(loaded).toContain("better-sqlite3");
  });
});
