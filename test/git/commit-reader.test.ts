import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isCharterError } from "../../src/errors.js";
import { WorkingTreeReader } from "../../src/fs/working-tree-reader.js";
import { CommitReader, resolveCommit } from "../../src/git/commit-reader.js";
import type { RepoEntry } from "../../src/manifest/repo-reader.js";
import { validateManifests } from "../../src/manifest/validate.js";
import { agentFiles, VALID_MANIFEST } from "../helpers/manifests.js";
import { type TempRepo, tempRepo } from "../helpers/temp-repo.js";

let repo: TempRepo | undefined;
const readers: CommitReader[] = [];
afterEach(async () => {
  await Promise.all(readers.splice(0).map((r) => r.close()));
  repo?.remove();
  repo = undefined;
});

async function open(root: string, ref = "HEAD"): Promise<CommitReader> {
  const reader = await CommitReader.open(root, ref);
  readers.push(reader);
  return reader;
}

const text = (entry: RepoEntry | undefined): string | undefined => (entry?.kind === "file" ? new TextDecoder().decode(entry.bytes) : undefined);
const BINARY = Uint8Array.from({ length: 256 }, (_, i) => i);

describe("CommitReader", () => {
  it("reports files, directories, symlinks, missing and too-large paths", async () => {
    repo = tempRepo({
      "README.md": "# repo\n",
      "agents/a/agent.yaml": "id: a\n",
      "agents/a/prompts/system.md": "system\n",
      "agents/a/prompts/empty.md": "",
      "agents/a/prompts/link.md": { symlink: "system.md" },
      "agents/a/prompts/escape.md": { symlink: "../../../etc/passwd" },
      "agents/a/prompts/dangling.md": { symlink: "nowhere.md" },
      "agents/a/big.md": "x".repeat(2000),
      "agents/a/blob.dat": BINARY,
    });
    repo.commitAll("seed");
    const reader = await open(repo.root);
    const paths = [
      "README.md",
      "agents/a/agent.yaml",
      "agents/a/prompts",
      "agents/a/prompts/system.md",
      "agents/a/prompts/empty.md",
      "agents/a/prompts/link.md",
      "agents/a/prompts/escape.md",
      "agents/a/prompts/dangling.md",
      "agents/a/big.md",
      "agents/a/blob.dat",
      "agents/a/missing.md",
      "agents/none/agent.yaml",
      "agents/a/agent.yaml/inside",
    ];
    const entries = await reader.read(paths, 1000);
    expect([...entries.keys()]).toEqual(paths);
    expect(text(entries.get("README.md"))).toBe("# repo\n");
    expect(text(entries.get("agents/a/agent.yaml"))).toBe("id: a\n");
    expect(entries.get("agents/a/prompts")).toEqual({ kind: "directory" });
    expect(text(entries.get("agents/a/prompts/system.md"))).toBe("system\n");
    expect(text(entries.get("agents/a/prompts/empty.md"))).toBe("");
    expect(entries.get("agents/a/prompts/link.md")).toEqual({ kind: "symlink", target: "system.md" });
    expect(entries.get("agents/a/prompts/escape.md")).toEqual({ kind: "symlink", target: "../../../etc/passwd" });
    expect(entries.get("agents/a/prompts/dangling.md")).toEqual({ kind: "symlink", target: "nowhere.md" });
    expect(entries.get("agents/a/big.md")).toEqual({ kind: "too-large", size: 2000 });
    const blob = entries.get("agents/a/blob.dat");
    expect(blob?.kind === "file" ? [...blob.bytes] : blob).toEqual([...BINARY]);
    expect(entries.get("agents/a/missing.md")).toEqual({ kind: "missing" });
    expect(entries.get("agents/none/agent.yaml")).toEqual({ kind: "missing" });
    expect(entries.get("agents/a/agent.yaml/inside")).toEqual({ kind: "missing" });
  });

  it("never reads a too-large file: the size comes from the listing", async () => {
    repo = tempRepo({ "agents/a/huge.md": "y".repeat(300_000), "agents/a/small.md": "ok\n" });
    repo.commitAll("seed");
    const reader = await open(repo.root);
    const entries = await reader.read(["agents/a/huge.md", "agents/a/small.md"], 256 * 1024);
    expect(entries.get("agents/a/huge.md")).toEqual({ kind: "too-large", size: 300_000 });
    expect(reader.stats.blobsRead).toBe(1);
  });

  it("reads the commit, not the working tree or a later commit", async () => {
    repo = tempRepo({ "agents/a/agent.yaml": "v1\n" });
    const first = repo.commitAll("v1");
    repo.write({ "agents/a/agent.yaml": "v2\n", "agents/a/new.md": "new\n" });
    repo.commitAll("v2");
    repo.write({ "agents/a/agent.yaml": "uncommitted\n" });
    const old = await open(repo.root, first);
    const head = await open(repo.root, "main");
    expect(old.commit).toBe(first);
    expect(text((await old.read(["agents/a/agent.yaml"], 100)).get("agents/a/agent.yaml"))).toBe("v1\n");
    expect((await old.read(["agents/a/new.md"], 100)).get("agents/a/new.md")).toEqual({ kind: "missing" });
    expect(text((await head.read(["agents/a/agent.yaml"], 100)).get("agents/a/agent.yaml"))).toBe("v2\n");
  });

  it("lists only the directories it needs, once each, whatever the size of the repository", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 200; i++) Object.assign(files, agentFiles(`agent-${i}`, `id: agent-${i}\n`));
    repo = tempRepo(files);
    repo.commitAll("seed");
    const reader = await open(repo.root);
    await reader.read(["agents/agent-7/agent.yaml", "agents/agent-7/agent.yml"], 1000);
    expect(reader.stats).toEqual({ listCalls: 1, blobsRead: 1 });
    await reader.read(["agents/agent-7/prompts/system.md"], 1000);
    expect(reader.stats).toEqual({ listCalls: 2, blobsRead: 2 });
    await reader.read(["agents/agent-7/agent.yaml", "agents/agent-7/prompts/system.md"], 1000);
    expect(reader.stats.listCalls).toBe(2);
  });

  it("resolves a directory and a file inside it asked for together", async () => {
    repo = tempRepo({ "agents/a/agent.yaml": "a\n", "agents/a/prompts/system.md": "s\n", "agents/a/prompts/more/x.md": "x\n" });
    repo.commitAll("seed");
    const reader = await open(repo.root);
    const entries = await reader.read(["agents/a/prompts", "agents/a/prompts/more", "agents/a/prompts/system.md", "agents/a/prompts/more/x.md", "agents/a/agent.yaml"], 100);
    expect(entries.get("agents/a/prompts")).toEqual({ kind: "directory" });
    expect(entries.get("agents/a/prompts/more")).toEqual({ kind: "directory" });
    expect(text(entries.get("agents/a/prompts/system.md"))).toBe("s\n");
    expect(text(entries.get("agents/a/prompts/more/x.md"))).toBe("x\n");
  });

  it("reads many blobs through one cat-file process, in order, across chunk boundaries", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 300; i++) files[`agents/a/prompts/p${i}.md`] = `${i}:`.padEnd(i * 37, String(i % 10)) + "\n";
    files["agents/a/prompts/long.md"] = "z".repeat(200_000);
    repo = tempRepo(files);
    repo.commitAll("seed");
    const reader = await open(repo.root);
    const entries = await reader.read(Object.keys(files), 1024 * 1024);
    for (const [path, content] of Object.entries(files)) expect(text(entries.get(path)), path).toBe(content);
  });

  it("does not follow a symlinked directory", async () => {
    repo = tempRepo({ "agents/a/prompts/system.md": "s\n", "agents/a/linked": { symlink: "prompts" } });
    repo.commitAll("seed");
    const reader = await open(repo.root);
    const entries = await reader.read(["agents/a/linked", "agents/a/linked/system.md"], 100);
    expect(entries.get("agents/a/linked")).toEqual({ kind: "symlink", target: "prompts" });
    expect(entries.get("agents/a/linked/system.md")).toEqual({ kind: "missing" });
  });

  it("refuses hostile paths without passing them to git", async () => {
    repo = tempRepo({ "agents/a/agent.yaml": "a\n", "-rf": "dash\n" });
    repo.commitAll("seed");
    const reader = await open(repo.root);
    const hostile = ["-rf", "--output=x", "agents/a\nagent.yaml", "../outside", "/etc/passwd", "agents/./a/agent.yaml", "agents//a/agent.yaml", "agents/a/", "", "agents/a/agent.yaml\0"];
    const entries = await reader.read(hostile, 100);
    for (const path of hostile) expect(entries.get(path), JSON.stringify(path)).toEqual({ kind: "missing" });
    expect(reader.stats).toEqual({ listCalls: 0, blobsRead: 0 });
  });

  it("takes glob characters and pathspec magic in names literally", async () => {
    repo = tempRepo({ "agents/a/prompts/[s].md": "brackets\n", "agents/a/prompts/s.md": "plain\n", "README.md": "r\n" });
    repo.commitAll("seed");
    const reader = await open(repo.root);
    const entries = await reader.read(["agents/a/prompts/[s].md", "agents/a/prompts/*.md", ":(top)README.md", ":(glob)agents/a/prompts/s.md", "agents/*/prompts/s.md"], 100);
    expect(text(entries.get("agents/a/prompts/[s].md"))).toBe("brackets\n");
    expect(entries.get("agents/a/prompts/*.md")).toEqual({ kind: "missing" });
    expect(entries.get(":(top)README.md")).toEqual({ kind: "missing" });
    expect(entries.get(":(glob)agents/a/prompts/s.md")).toEqual({ kind: "missing" });
    expect(entries.get("agents/*/prompts/s.md")).toEqual({ kind: "missing" });
  });

  it("validates a commit exactly as the working tree reader validates its checkout", async () => {
    repo = tempRepo({
      ...agentFiles("sample-agent", VALID_MANIFEST.replace("path: prompts/system.md", "path: prompts/link.md")),
      "agents/sample-agent/prompts/link.md": { symlink: "system.md" },
      ...agentFiles("broken", VALID_MANIFEST.replace("id: sample-agent", "id: broken").replace("path: prompts/system.md", "path: prompts/escape.md")),
      "agents/broken/prompts/escape.md": { symlink: "../../sample-agent/prompts/system.md" },
    });
    repo.commitAll("seed");
    const files = ["agents/broken/agent.yaml", "agents/sample-agent/agent.yaml"];
    const fromCommit = await validateManifests(files, await open(repo.root));
    const fromDisk = await validateManifests(files, new WorkingTreeReader(repo.root));
    // Everything but each agent's position lookup (a function, equal in behaviour, not identity).
    const comparable = (report: typeof fromCommit) => ({ ...report, agents: report.agents.map(({ locate: _locate, ...agent }) => agent) });
    expect(comparable(fromCommit)).toEqual(comparable(fromDisk));
    expect(fromCommit.diagnostics.map((d) => d.rule)).toEqual(["prompt/symlink-escape"]);
    expect(fromCommit.agents.find((a) => a.id === "sample-agent")?.prompts[0]?.path).toBe("agents/sample-agent/prompts/system.md");
  });

  it("refuses to read once closed, and closes twice without harm", async () => {
    repo = tempRepo({ "a.md": "a\n" });
    repo.commitAll("seed");
    const reader = await open(repo.root);
    expect(text((await reader.read(["a.md"], 10)).get("a.md"))).toBe("a\n");
    await reader.close();
    await reader.close();
    await expect(reader.read(["a.md"], 10)).rejects.toThrow(/closed/);
  });
});

describe("resolveCommit", () => {
  it("resolves branches, tags, relative revisions and abbreviated SHAs to the commit id", async () => {
    repo = tempRepo({ "a.md": "1\n" });
    const first = repo.commitAll("one");
    repo.git("tag", "-a", "v1", "-m", "annotated tag");
    repo.write({ "a.md": "2\n" });
    const second = repo.commitAll("two");
    expect(await resolveCommit(repo.root, "main")).toBe(second);
    expect(await resolveCommit(repo.root, "v1")).toBe(first);
    expect(await resolveCommit(repo.root, "HEAD~1")).toBe(first);
    expect(await resolveCommit(repo.root, second.slice(0, 10))).toBe(second);
  });

  it.each([
    ["no-such-branch", "NOT_FOUND", /unknown revision "no-such-branch"/],
    ["-rf", "USAGE", /"-rf" is not a revision/],
    ["--output=/tmp/x", "USAGE", /is not a revision/],
    ["main\nHEAD", "USAGE", /is not a revision/],
    ["HEAD:a.md", "NOT_FOUND", /unknown revision/],
  ])("refuses %j with %s", async (ref, code, message) => {
    repo = tempRepo({ "a.md": "1\n" });
    repo.commitAll("one");
    const error: unknown = await resolveCommit(repo.root, ref).catch((e: unknown) => e);
    expect(isCharterError(error) && error.code).toBe(code);
    expect((error as Error).message).toMatch(message);
  });

  it("explains a directory that is not a git repository", async () => {
    const dir = mkdtempSync(join(tmpdir(), "charter-not-git-"));
    try {
      const error: unknown = await resolveCommit(dir, "HEAD").catch((e: unknown) => e);
      expect(isCharterError(error) && error.code).toBe("NOT_FOUND");
      expect(isCharterError(error) && error.hint).toMatch(/--root/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
