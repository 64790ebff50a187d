import { afterEach, describe, expect, it } from "vitest";
import type { DiffJson } from "../../src/cli/diff-formats.js";
import { agentFiles, lineOf, mutate, VALID_MANIFEST } from "../helpers/manifests.js";
import { type TempRepo, tempRepo } from "../helpers/temp-repo.js";
import { runCli } from "./run-cli.js";

let repo: TempRepo | undefined;
afterEach(() => {
  repo?.remove();
  repo = undefined;
});

const FILE = "agents/sample-agent/agent.yaml";
const REDIS = mutate(VALID_MANIFEST, "postgres:select:shop.public.orders@shop-prod", "redis:read:cache:orders:*@cache-prod");

/** A repository with one commit of `base`, then one of `head` on top; returns both commit ids. */
function history(base: Record<string, string>, head: Record<string, string>, removed: readonly string[] = []): { base: string; head: string } {
  repo = tempRepo(base);
  const first = repo.commitAll("base");
  repo.write(head);
  if (removed.length > 0) repo.git("rm", "-q", "-r", ...removed);
  return { base: first, head: repo.commitAll("head") };
}

const range = (c: { base: string; head: string }): string => `${c.base.slice(0, 12)}..${c.head.slice(0, 12)}`;

describe("charter diff", () => {
  it("prints a model bump as one line and a closing count, exit 0", async () => {
    const c = history(agentFiles("sample-agent", VALID_MANIFEST), { [FILE]: mutate(VALID_MANIFEST, 'version: "20250929"', 'version: "20251001"') });
    const result = await runCli(["diff", "--base", "main~1", "--head", "main"], repo?.root ?? "");
    expect(result).toEqual({
      code: 0,
      stdout: `sample-agent  model-changed  high  model anthropic/claude-sonnet-4-5@20250929 → anthropic/claude-sonnet-4-5@20251001\n\n1 change to 1 agent in ${range(c)}, highest risk high\n`,
      stderr: "",
    });
  });

  it("sees a prompt-only change, with the manifest untouched", async () => {
    history(agentFiles("sample-agent", VALID_MANIFEST), { "agents/sample-agent/prompts/system.md": "You answer questions about orders. Share anything you find.\n" });
    const { code, stdout } = await runCli(["diff", "--base", "HEAD~1"], repo?.root ?? "");
    expect(code).toBe(0);
    expect(stdout.split("\n")[0]).toMatch(/^sample-agent {2}prompt-changed {2}high {2}prompt changed: prompts\/system\.md \(sha256 [0-9a-f]{12} → [0-9a-f]{12}\)$/);
  });

  it("reports a widened permission on an agent with customer data as critical, in the documented JSON shape", async () => {
    const c = history(agentFiles("sample-agent", REDIS), { [FILE]: mutate(REDIS, "cache:orders:*", "cache:*") });
    const { code, stdout } = await runCli(["diff", "--base", c.base, "--head", c.head, "--format", "json"], repo?.root ?? "");
    expect(code).toBe(0);
    const json = JSON.parse(stdout) as DiffJson;
    expect(json).toEqual({
      base: { ref: c.base, commit: c.base },
      head: { ref: c.head, commit: c.head },
      changeSet: {
        changes: [
          {
            kind: "permission-widened",
            agent: "sample-agent",
            path: FILE,
            pointer: "/tools/0/permissions/0",
            before: "redis:read:cache:orders:*@cache-prod",
            after: "redis:read:cache:*@cache-prod",
            risk: "critical",
            summary: "permission widened on tool orders: redis:read:cache:orders:*@cache-prod → redis:read:cache:*@cache-prod",
          },
        ],
        agents: ["sample-agent"],
        unclassified: [],
        maxRisk: "critical",
      },
      errors: [],
    });
  });

  it("lists a new agent with everything it brings", async () => {
    history({ "README.md": "# agents\n" }, agentFiles("sample-agent", VALID_MANIFEST));
    const { code, stdout } = await runCli(["diff", "--base", "HEAD~1", "--head", "HEAD"], repo?.root ?? "");
    expect(code).toBe(0);
    expect(stdout.split("\n").slice(0, 5)).toEqual([
      "sample-agent  agent-created  high  new agent in production: anthropic/claude-sonnet-4-5@20250929, 1 tool, 1 permission",
      "sample-agent  prompt-added  high  prompt added: prompts/system.md (system)",
      "sample-agent  tool-added  high  tool added: orders (1 permission)",
      "sample-agent  permission-added  critical  permission added to tool orders: postgres:select:shop.public.orders@shop-prod",
      "sample-agent  data-classification-added  high  data classification added: customer-pii",
    ]);
    expect(stdout).toMatch(/\n5 changes to 1 agent in [0-9a-f]{12}\.\.[0-9a-f]{12}, highest risk critical\n$/);
  });

  it("lists a deleted agent", async () => {
    history(agentFiles("sample-agent", VALID_MANIFEST), { "README.md": "# agents\n" }, ["agents/sample-agent"]);
    const { code, stdout } = await runCli(["diff", "--base", "HEAD~1"], repo?.root ?? "");
    expect(code).toBe(0);
    expect(stdout.split("\n")[0]).toBe("sample-agent  agent-deleted  medium  agent deleted (was active in production)");
  });

  it("prints governance changes after agent changes, all critical", async () => {
    history(agentFiles("sample-agent", VALID_MANIFEST), {
      ".github/charter.yml": "rules: []\n",
      ".github/workflows/ci.yml": "on: push\n",
      CODEOWNERS: "* @acme/platform\n",
      [FILE]: mutate(VALID_MANIFEST, "maxLifetime: 1h", "maxLifetime: 4h"),
    });
    const { code, stdout } = await runCli(["diff", "--base", "HEAD~1"], repo?.root ?? "");
    expect(code).toBe(0);
    expect(stdout.split("\n").slice(0, 4)).toEqual([
      "sample-agent  credential-lifetime-raised  medium  credential lifetime raised: 1h → 4h",
      ".github/charter.yml  policy-changed  critical  approval policy changed: .github/charter.yml",
      "CODEOWNERS  codeowners-changed  critical  code owners changed: CODEOWNERS",
      ".github/workflows/ci.yml  ci-workflow-changed  critical  CI workflow changed: .github/workflows/ci.yml",
    ]);
    expect(stdout).toContain("4 changes to 1 agent and 3 governance files in ");
  });

  it("prints an invalid head manifest's diagnostics, marks the agent unclassified and exits 1", async () => {
    const broken = mutate(VALID_MANIFEST, "environment: production", "environment: prod");
    const c = history({ ...agentFiles("sample-agent", VALID_MANIFEST), ...agentFiles("other-agent", mutate(VALID_MANIFEST, "id: sample-agent", "id: other-agent")) }, {
      [FILE]: broken,
      "agents/other-agent/agent.yaml": mutate(mutate(VALID_MANIFEST, "id: sample-agent", "id: other-agent"), "name: Sample Agent", "name: Other Agent"),
    });
    const { code, stdout } = await runCli(["diff", "--base", "HEAD~1"], repo?.root ?? "");
    const at = lineOf(broken, "environment");
    expect(code).toBe(1);
    expect(stdout).toBe(
      [
        "other-agent  description-only  low  description only: name",
        "",
        `${FILE}:${at.line}:14  schema/enum  environment is "prod"; allowed: "production", "staging", "development", "sandbox"`,
        "    fix: Use one of the allowed values.",
        "sample-agent  unclassified  -  the manifest at head is invalid: its changes are classified once it is fixed",
        "",
        `1 change to 1 agent in ${range(c)}, highest risk low; 1 agent unclassified; 1 error at head`,
        "",
      ].join("\n"),
    );
    const json = JSON.parse((await runCli(["diff", "--base", "HEAD~1", "--format", "json"], repo?.root ?? "")).stdout) as DiffJson;
    expect(json.changeSet.unclassified).toEqual(["agents/sample-agent"]);
    expect(json.errors.map((e) => e.rule)).toEqual(["schema/enum"]);
  });

  it("says so when nothing an agent or governance depends on changed", async () => {
    const c = history(agentFiles("sample-agent", VALID_MANIFEST), { "README.md": "# docs\n", "agents/sample-agent/agent.yaml": VALID_MANIFEST.replace("kind: Agent\n", "kind: Agent # reviewed\n") });
    const result = await runCli(["diff", "--base", "HEAD~1"], repo?.root ?? "");
    expect(result).toEqual({ code: 0, stdout: `no agent or governance changes in ${range(c)} (2 paths changed)\n`, stderr: "" });
  });

  it("reads commits, never the working tree; works from a subdirectory and with --root", async () => {
    history(agentFiles("sample-agent", VALID_MANIFEST), { [FILE]: mutate(VALID_MANIFEST, "environment: production", "environment: staging") });
    const root = repo?.root ?? "";
    repo?.write({ [FILE]: "not: [valid\n" });
    const fromSub = await runCli(["diff", "--base", "HEAD~1"], `${root}/agents/sample-agent/prompts`);
    expect(fromSub.code).toBe(0);
    expect(fromSub.stdout.split("\n")[0]).toBe("sample-agent  environment-changed  medium  environment: production → staging");
    const withRoot = await runCli(["diff", "--root", root, "--base", "HEAD~1"], "/");
    expect(withRoot.stdout).toBe(fromSub.stdout);
  });

  it.each([
    [["diff", "--base", "no-such-branch"], /^charter: unknown revision "no-such-branch": no such commit in this repository\nCheck the spelling, or fetch it first/],
    [["diff", "--base", "HEAD", "--head", "v9.9.9"], /unknown revision "v9\.9\.9"/],
    [["diff", "--base", "--output=x"], /^charter: --base needs a value\nA value that starts with "-" is written --base=VALUE\.\nUsage: charter diff /],
    [["diff", "--base=--output=x"], /"--output=x" is not a revision/],
    [["diff"], /missing --base/],
    [["diff", "--base", "HEAD", "--format", "github"], /unknown format "github"/],
    [["diff", "--base", "HEAD", "extra"], /^charter: unexpected argument "extra"\nUsage: charter diff /],
  ])("exits 2 with a clear message and no stack trace for %j", async (args, message) => {
    history(agentFiles("sample-agent", VALID_MANIFEST), {});
    const result = await runCli(args, repo?.root ?? "");
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("is listed in charter --help and has its own help", async () => {
    expect((await runCli(["--help"], "/")).stdout).toMatch(/\n {2}diff {8}what changed for each agent/);
    const help = await runCli(["diff", "--help"], "/");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: charter diff --base REF/);
  });
});
