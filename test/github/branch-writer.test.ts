import { execFileSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { commitToBranch, readBranchHead } from "../../src/github/api/branch-writer.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

let fx: AppFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const BRANCH = "charter-evidence";

async function setup() {
  fx = await startCharter({ "README.md": "# agents\n" });
  const octokit = await fx.app.probot.auth(fx.sim.installationOf(fx.repo).id);
  return { f: fx, octokit, target: { owner: "acme", repo: "agents", branch: BRANCH } };
}

function git(f: AppFixture, ...args: string[]): string {
  return execFileSync("git", ["--git-dir", f.sim.repoPath(f.repo), ...args], { encoding: "utf8" }).trim();
}

describe("commitToBranch", () => {
  it("creates the branch with a parentless commit, then appends with compare-and-swap", async () => {
    const { f, octokit, target } = await setup();
    expect(await readBranchHead(octokit, "acme", "agents", BRANCH)).toBeNull();
    const first = await commitToBranch(octokit, target, { files: { "records/0.json": encode('{"seq":0}\n') }, message: "Genesis", expectedHead: null });
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(await readBranchHead(octokit, "acme", "agents", BRANCH)).toBe(first.commit);
    expect(git(f, "rev-list", "--parents", "-n", "1", first.commit)).toBe(first.commit);

    const second = await commitToBranch(octokit, target, { files: { "records/1.json": encode('{"seq":1}\n') }, message: "Record 1\n\nMerged #7", expectedHead: first.commit });
    expect(second.ok).toBe(true);
    if (!second.ok) return;
    expect(git(f, "show", `${second.commit}:records/1.json`)).toBe('{"seq":1}');
    expect(git(f, "show", `${second.commit}:records/0.json`)).toBe('{"seq":0}');
    expect(git(f, "log", "--format=%P", "-n", "1", second.commit)).toBe(first.commit);
    expect(f.sim.rejected).toEqual([]);
  });

  it("refuses a write computed against a stale head, so two writers never fork the log", async () => {
    const { f, octokit, target } = await setup();
    const genesis = await commitToBranch(octokit, target, { files: { "records/0.json": encode("0\n") }, message: "Genesis", expectedHead: null });
    if (!genesis.ok) throw new Error("genesis failed");
    const [a, b] = await Promise.all([
      commitToBranch(octokit, target, { files: { "records/1.json": encode("a\n") }, message: "A", expectedHead: genesis.commit }),
      commitToBranch(octokit, target, { files: { "records/1.json": encode("b\n") }, message: "B", expectedHead: genesis.commit }),
    ]);
    expect([a.ok, b.ok].sort()).toEqual([false, true]);
    expect([a, b].find((r) => !r.ok)).toEqual({ ok: false, reason: "conflict" });
    expect(git(f, "rev-list", "--count", BRANCH)).toBe("2");
  });

  it("refuses to create a branch someone else created first", async () => {
    const { octokit, target } = await setup();
    const [a, b] = await Promise.all([
      commitToBranch(octokit, target, { files: { "x.json": encode("a\n") }, message: "A", expectedHead: null }),
      commitToBranch(octokit, target, { files: { "x.json": encode("b\n") }, message: "B", expectedHead: null }),
    ]);
    expect([a.ok, b.ok].sort()).toEqual([false, true]);
  });
});
