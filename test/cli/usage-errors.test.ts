import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { tempRepo } from "../helpers/temp-repo.js";
import { runCli } from "./run-cli.js";

const CLI_DIR = fileURLToPath(new URL("../../src/cli/", import.meta.url));

/** Every command, with the subcommand that reaches its option parsing. */
const COMMANDS: readonly (readonly string[])[] = [
  ["validate"],
  ["diff"],
  ["evaluate"],
  ["evidence", "export"],
  ["evidence", "show"],
  ["verify"],
  ["witness"],
  ["audit", "changes"],
  ["audit", "actions"],
  ["plan"],
  ["sync"],
  ["drift"],
  ["token", "issue"],
  ["token", "jwks"],
  ["jobs"],
  ["detect"],
  ["trail", "status"],
  ["trail", "verify"],
  ["alerts", "list"],
  ["readiness"],
];

describe("usage errors", () => {
  const repo = tempRepo({ "README.md": "x\n" });
  repo.commitAll("start");
  afterAll(() => { repo.remove(); });

  it("the list above is every command charter --help names", async () => {
    const help = (await runCli(["--help"], repo.root)).stdout;
    const named = [...help.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]);
    expect(named).toEqual([...new Set(COMMANDS.map((c) => c[0]))]);
  });

  it.each(COMMANDS.map((c) => [c.join(" "), c] as const))("charter %s: an unknown option exits 2 in Charter's words, with the command's usage", async (_name, command) => {
    const result = await runCli([...command, "--frobnicate"], repo.root);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(new RegExp(`^charter: unknown option --frobnicate\\nUsage: charter ${command[0] ?? ""} `));
    // Node's own parser text, with its unbalanced quote, never reaches the user.
    expect(result.stderr).not.toMatch(/Unknown option|To specify a positional|'--/);
  });

  it.each(COMMANDS.map((c) => [c.join(" "), c] as const))("charter %s: an option without its value, and a value given to a flag, exit 2", async (_name, command) => {
    for (const args of [["--format"], ["--help=yes"]]) {
      const result = await runCli([...command, ...args], repo.root);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(/^charter: --(format needs a value|help takes no value)\nUsage: charter /);
    }
  });

  it.each(COMMANDS.map((c) => [c.join(" "), c] as const))("charter %s --help prints its usage and exits 0", async (_name, command) => {
    const result = await runCli([...command, "--help"], repo.root);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(new RegExp(`^Usage: charter ${command[0] ?? ""} `));
  });

  it("an unknown command or subcommand exits 2", async () => {
    for (const args of [["frobnicate"], ["evidence", "frobnicate"], ["audit", "frobnicate"], ["token", "frobnicate"], ["jobs", "frobnicate"]]) {
      const result = await runCli(args, repo.root);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(/^charter: unknown /);
    }
  });

  it("every command reads its arguments through parseOptions (none calls Node's parseArgs itself)", () => {
    const direct = readdirSync(CLI_DIR).filter((file) => file !== "parse-options.ts" && /\bparseArgs\b/.test(readFileSync(CLI_DIR + file, "utf8")));
    expect(direct).toEqual([]);
  });
});
