import { runGroup } from "../helpers/child-processes.js";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { agentFiles, lineOf, mutate, VALID_MANIFEST } from "../helpers/manifests.js";
import { type TempRepo, tempRepo } from "../helpers/temp-repo.js";
import { runCli } from "./run-cli.js";

let repo: TempRepo | undefined;
afterEach(() => repo?.remove());

const BROKEN = mutate(VALID_MANIFEST, "environment: production", "environment: prod");

describe("charter validate", () => {
  it("exits 0 and says what it checked on a valid repository", async () => {
    repo = tempRepo(agentFiles("sample-agent", VALID_MANIFEST));
    const result = await runCli(["validate"], repo.root);
    expect(result).toEqual({ code: 0, stdout: "ok: 1 agent, 2 files checked\n", stderr: "" });
  });

  it("finds the repository root from a subdirectory", async () => {
    repo = tempRepo(agentFiles("sample-agent", BROKEN));
    const result = await runCli(["validate"], `${repo.root}/agents/sample-agent/prompts`);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("agents/sample-agent/agent.yaml:");
  });

  it("prints file:line:col  rule  message and exits 1 on an invalid manifest", async () => {
    repo = tempRepo(agentFiles("sample-agent", BROKEN));
    const { code, stdout } = await runCli(["validate"], repo.root);
    const at = lineOf(BROKEN, "environment");
    expect(code).toBe(1);
    expect(stdout.split("\n")[0]).toBe(
      `agents/sample-agent/agent.yaml:${at.line}:14  schema/enum  environment is "prod"; allowed: "production", "staging", "development", "sandbox"`,
    );
    expect(stdout).toContain("    fix: Use one of the allowed values.");
    expect(stdout).toContain("failed: 1 error in 1 file (0 agents, 1 file checked)");
  });

  it("emits the documented JSON shape", async () => {
    repo = tempRepo({ ...agentFiles("sample-agent", BROKEN), ...agentFiles("other-agent", mutate(VALID_MANIFEST, "id: sample-agent", "id: other-agent")) });
    const { code, stdout } = await runCli(["validate", "--format", "json"], repo.root);
    expect(code).toBe(1);
    const json = JSON.parse(stdout) as Record<string, unknown>;
    expect(json).toEqual({
      ok: false,
      agentsChecked: 1,
      filesChecked: 3,
      errors: [
        {
          file: "agents/sample-agent/agent.yaml",
          line: lineOf(BROKEN, "environment").line,
          column: 14,
          endLine: lineOf(BROKEN, "environment").line,
          endColumn: 18,
          pointer: "/environment",
          rule: "schema/enum",
          message: 'environment is "prod"; allowed: "production", "staging", "development", "sandbox"',
          fix: "Use one of the allowed values.",
        },
      ],
      warnings: [],
    });
  });

  it("emits GitHub workflow annotations with escaped properties", async () => {
    repo = tempRepo(agentFiles("sample-agent", BROKEN));
    const { stdout } = await runCli(["validate", "--format=github"], repo.root);
    const line = lineOf(BROKEN, "environment").line;
    expect(stdout).toBe(
      `::error file=agents/sample-agent/agent.yaml,line=${line},col=14,endLine=${line},endColumn=18,title=Charter schema/enum::environment is "prod"; allowed: "production", "staging", "development", "sandbox". Use one of the allowed values.\n`,
    );
  });

  it("validates only the paths it is given", async () => {
    repo = tempRepo({ ...agentFiles("sample-agent", BROKEN), ...agentFiles("other-agent", mutate(VALID_MANIFEST, "id: sample-agent", "id: other-agent")) });
    const { code, stdout } = await runCli(["validate", "agents/other-agent"], repo.root);
    expect({ code, stdout }).toEqual({ code: 0, stdout: "ok: 1 agent, 2 files checked\n" });
  });

  it.each([
    [["validate", "--format", "xml"], /unknown format "xml"/],
    [["validate", "--nope"], /^charter: unknown option --nope\nUsage: charter validate /],
    [["validate", "agents/missing"], /agents\/missing: no such file or directory/],
    [["frobnicate"], /unknown command "frobnicate"/],
  ])("exits 2 with a clear message for %j", async (args, message) => {
    repo = tempRepo(agentFiles("sample-agent", VALID_MANIFEST));
    const result = await runCli(args, repo.root);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses a path outside the repository", async () => {
    repo = tempRepo(agentFiles("sample-agent", VALID_MANIFEST));
    const result = await runCli(["validate", "../"], repo.root);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/outside the repository/);
  });
});

describe("the installed binary", () => {
  const bin = fileURLToPath(new URL("../../bin/charter.js", import.meta.url));

  it("runs validate from the built package with the same exit codes", async () => {
    repo = tempRepo(agentFiles("sample-agent", BROKEN));
    const failed = await runGroup(process.execPath, [bin, "validate", "--format", "json"], { cwd: repo.root, timeoutMs: 20_000, allowFailure: true });
    expect(failed.code).toBe(1);
    expect((JSON.parse(failed.stdout) as { ok: boolean }).ok).toBe(false);
    repo.write(agentFiles("sample-agent", VALID_MANIFEST));
    expect((await runGroup(process.execPath, [bin, "validate"], { cwd: repo.root, timeoutMs: 20_000 })).stdout).toBe("ok: 1 agent, 2 files checked\n");
  });

  it("prints help", async () => {
    const out = (await runGroup(process.execPath, [bin, "--help"], { timeoutMs: 20_000 })).stdout;
    expect(out).toMatch(/^Usage: charter <command>/);
    expect(out).toContain("validate");
  });
});
