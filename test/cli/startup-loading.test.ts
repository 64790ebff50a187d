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
  for (const file of Object.keys(cache)) if (file.includes("/node_modules/")) process.stderr.write("loaded " + file + "\\n");
  for (const entry of process.moduleLoadList) if (entry.startsWith("NativeModule ")) process.stderr.write("builtin " + entry.slice(13) + "\\n");
});
`;

/** The packages (by name) a run of the built CLI loads, and Node's own modules it loaded. */
async function modulesLoaded(args: readonly string[], recorder: string): Promise<{ packages: string[]; builtins: string[] }> {
  const run = await runGroup(process.execPath, ["--import", recorder, BIN, ...args], { cwd: ROOT, timeoutMs: 30_000 });
  const lines = run.stderr.split("\n");
  const names = lines.filter((line) => line.startsWith("loaded ")).map((line) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(line)?.[1] ?? line);
  const builtins = lines.filter((line) => line.startsWith("builtin ")).map((line) => line.slice("builtin ".length));
  return { packages: [...new Set(names)].sort(), builtins };
}

async function packagesLoaded(args: readonly string[], recorder: string): Promise<string[]> {
  return (await modulesLoaded(args, recorder)).packages;
}

describe("each command loads only what it uses", () => {
  const dir = mkdtempSync(join(tmpdir(), "charter-startup-"));
  const recorder = join(dir, "recorder.mjs");
  writeFileSync(recorder, RECORDER);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("charter --help loads no package at all", async () => {
    expect(await packagesLoaded(["--help"], recorder)).toEqual([]);
  });

  it("charter validate of one manifest loads no package: yaml and the validators' runtime are in the bundle", async () => {
    expect(await packagesLoaded(["validate", "agents/support-triage/agent.yaml"], recorder)).toEqual([]);
  });

  it("charter validate of one manifest starts no git and hashes nothing, so loads neither child_process nor crypto", async () => {
    const { builtins } = await modulesLoaded(["validate", "agents/support-triage/agent.yaml"], recorder);
    // The recorder itself sees every module: the list must hold the ones validate does use.
    expect(builtins).toContain("fs");
    expect(builtins.filter((name) => ["child_process", "crypto"].includes(name))).toEqual([]);
  });

  it("a command that needs a database loads its driver", async () => {
    const loaded = await packagesLoaded(["jobs", "--help"], recorder);
    expect(loaded).toContain("better-sqlite3");
  });
});
