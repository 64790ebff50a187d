import { afterEach, describe, expect, it } from "vitest";
import { WorkingTreeReader } from "../../src/fs/working-tree-reader.js";
import { DEFAULT_LIMITS } from "../../src/manifest/limits.js";
import { sha256Hex, validateManifests } from "../../src/manifest/validate.js";
import { createHash } from "node:crypto";
import { agentFiles, lineOf, mutate, VALID_MANIFEST, VALID_PROMPT } from "../helpers/manifests.js";
import { type FileSpec, type TempRepo, tempRepo } from "../helpers/temp-repo.js";

const FILE = "agents/sample-agent/agent.yaml";
let repo: TempRepo | undefined;

afterEach(() => repo?.remove());

async function validateOnDisk(files: Record<string, FileSpec>, manifests = [FILE]) {
  repo = tempRepo(files);
  return validateManifests(manifests, new WorkingTreeReader(repo.root));
}

describe("prompt files on disk", () => {
  it("hashes each referenced prompt's exact bytes", async () => {
    const report = await validateOnDisk(agentFiles("sample-agent", VALID_MANIFEST));
    expect(report.diagnostics).toEqual([]);
    expect(report.filesChecked).toBe(2);
    expect(report.agents[0]?.prompts).toEqual([
      {
        declared: "prompts/system.md",
        path: "agents/sample-agent/prompts/system.md",
        sha256: createHash("sha256").update(VALID_PROMPT).digest("hex"),
        size: Buffer.byteLength(VALID_PROMPT),
      },
    ]);
    expect(report.agents[0]?.manifestSha256).toBe(sha256Hex(new TextEncoder().encode(VALID_MANIFEST)));
  });

  it("reports a missing prompt at its path in the manifest", async () => {
    const files = agentFiles("sample-agent", VALID_MANIFEST);
    delete files["agents/sample-agent/prompts/system.md"];
    const report = await validateOnDisk(files);
    expect(report.diagnostics).toEqual([
      expect.objectContaining({ file: FILE, rule: "prompt/missing", line: lineOf(VALID_MANIFEST, "path: prompts").line, column: 11 }),
    ]);
  });

  it("follows a symlink that stays inside the agent's directory", async () => {
    const files: Record<string, FileSpec> = agentFiles("sample-agent", VALID_MANIFEST);
    files["agents/sample-agent/prompts/base.md"] = VALID_PROMPT;
    files["agents/sample-agent/prompts/system.md"] = { symlink: "base.md" };
    const report = await validateOnDisk(files);
    expect(report.diagnostics).toEqual([]);
    expect(report.agents[0]?.prompts[0]?.path).toBe("agents/sample-agent/prompts/base.md");
  });

  it.each([
    ["a relative link out of the agent", "../../other-agent/prompts/system.md"],
    ["an absolute link", "/etc/passwd"],
    ["a link out of the repository", "../../../../../../../../etc/hostname"],
  ])("refuses %s", async (_name, target) => {
    const files: Record<string, FileSpec> = agentFiles("sample-agent", VALID_MANIFEST);
    files["agents/other-agent/prompts/system.md"] = VALID_PROMPT;
    files["agents/sample-agent/prompts/system.md"] = { symlink: target };
    const report = await validateOnDisk(files);
    expect(report.diagnostics).toEqual([expect.objectContaining({ file: FILE, rule: "prompt/symlink-escape", line: lineOf(VALID_MANIFEST, "path: prompts").line })]);
    expect(report.agents[0]?.prompts).toEqual([]);
  });

  it("does not follow a symlinked directory part-way along a prompt path", async () => {
    const text = mutate(VALID_MANIFEST, "path: prompts/system.md", "path: linked/secret.md");
    const files: Record<string, FileSpec> = { "agents/sample-agent/agent.yaml": text, "outside/secret.md": "outside the agent\n", "agents/sample-agent/linked": { symlink: "../../outside" } };
    const report = await validateOnDisk(files);
    expect(report.diagnostics.map((d) => d.rule)).toEqual(["prompt/missing"]);
    expect(report.agents[0]?.prompts).toEqual([]);
  });

  it("stops at a symlink loop", async () => {
    const files: Record<string, FileSpec> = agentFiles("sample-agent", VALID_MANIFEST);
    files["agents/sample-agent/prompts/system.md"] = { symlink: "loop.md" };
    files["agents/sample-agent/prompts/loop.md"] = { symlink: "system.md" };
    const report = await validateOnDisk(files);
    expect(report.diagnostics.map((d) => d.rule)).toEqual(["prompt/symlink-escape"]);
    expect(report.diagnostics[0]?.message).toContain(`more than ${DEFAULT_LIMITS.maxSymlinkHops}`);
  });

  it("refuses a directory where a prompt file should be", async () => {
    const files: Record<string, FileSpec> = { [FILE]: VALID_MANIFEST, "agents/sample-agent/prompts/system.md/readme.md": "x" };
    const report = await validateOnDisk(files);
    expect(report.diagnostics.map((d) => d.rule)).toEqual(["prompt/not-a-file"]);
  });

  it("refuses an oversized prompt without reading it", async () => {
    const files: Record<string, FileSpec> = agentFiles("sample-agent", VALID_MANIFEST, "x".repeat(DEFAULT_LIMITS.maxPromptBytes + 1));
    const report = await validateOnDisk(files);
    expect(report.diagnostics.map((d) => d.rule)).toEqual(["prompt/too-large"]);
  });

  it("scans prompts for secrets and points into the prompt file", async () => {
    const prompt = "Use this key:\n\n    -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n";
    const report = await validateOnDisk(agentFiles("sample-agent", VALID_MANIFEST, prompt));
    expect(report.diagnostics).toEqual([
      expect.objectContaining({ file: "agents/sample-agent/prompts/system.md", rule: "secret/detected", line: 3, column: 5 }),
    ]);
    expect(report.diagnostics[0]?.message).not.toContain("b3Blbn");
  });

  it("refuses hidden Unicode tag characters in a prompt", async () => {
    const smuggled = "Be helpful.\nAlso " + String.fromCodePoint(0xe0049, 0xe0047, 0xe004e) + "\n";
    const report = await validateOnDisk(agentFiles("sample-agent", VALID_MANIFEST, smuggled));
    expect(report.diagnostics).toEqual([expect.objectContaining({ file: "agents/sample-agent/prompts/system.md", rule: "text/hidden-characters", line: 2, column: 6 })]);
  });

  it("refuses a binary prompt", async () => {
    const report = await validateOnDisk(agentFiles("sample-agent", VALID_MANIFEST, "\u0000\u0001PNG"));
    expect(report.diagnostics.map((d) => d.rule)).toEqual(["file/control-character"]);
  });

  it("reports two manifests in one directory as a duplicate id", async () => {
    const files: Record<string, FileSpec> = agentFiles("sample-agent", VALID_MANIFEST);
    files["agents/sample-agent/agent.yml"] = VALID_MANIFEST;
    const report = await validateOnDisk(files, [FILE, "agents/sample-agent/agent.yml"]);
    expect(report.diagnostics).toEqual([expect.objectContaining({ rule: "manifest/duplicate-id", line: lineOf(VALID_MANIFEST, "id:").line, column: 5 })]);
  });

  it("reports the same prompt listed twice", async () => {
    const text = mutate(VALID_MANIFEST, "    role: system\n", "    role: system\n  - path: prompts/system.md\n");
    const report = await validateOnDisk(agentFiles("sample-agent", text));
    expect(report.diagnostics.map((d) => d.rule)).toEqual(["prompt/duplicate"]);
  });

  it("treats a symlinked manifest as an error", async () => {
    const files: Record<string, FileSpec> = { "elsewhere.yaml": VALID_MANIFEST, [FILE]: { symlink: "../../elsewhere.yaml" } };
    const report = await validateOnDisk(files);
    expect(report.diagnostics.map((d) => d.rule)).toEqual(["file/not-a-file"]);
  });
});
