import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runGit } from "../../src/git/run-git.js";
import { tempRepo } from "../helpers/temp-repo.js";
import { runCli } from "./run-cli.js";

/** Every command that reads a repository, with the option that names it. */
const GIT_COMMANDS: readonly (readonly [readonly string[], "--root" | "--repo"])[] = [
  [["diff", "--base", "HEAD"], "--root"],
  [["evaluate", "--base", "HEAD", "--head", "HEAD", "--pr", "snapshot.json"], "--root"],
  [["evidence", "export"], "--repo"],
  [["evidence", "show", "1"], "--repo"],
  [["verify"], "--repo"],
  [["audit", "changes"], "--repo"],
  [["plan"], "--root"],
  [["sync"], "--root"],
  [["drift"], "--root"],
];

describe("where a command looks for its repository", () => {
  const plain = mkdtempSync(join(tmpdir(), "charter-plain-"));
  writeFileSync(join(plain, "snapshot.json"), "{}");
  writeFileSync(join(plain, "a-file"), "x\n");
  const missing = join(plain, "no-such-dir");
  afterAll(() => { rmSync(plain, { recursive: true, force: true }); });

  it.each(GIT_COMMANDS.map(([args, flag]) => [args.join(" "), args, flag] as const))("charter %s: a missing directory is named as missing, not as a missing git", async (_name, args, flag) => {
    const result = await runCli([...args, flag, missing], plain);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`charter: ${flag} ${missing}: no such directory\nCheck the path; ${flag} names the directory of a clone.\n`);
  });

  it.each(GIT_COMMANDS.map(([args, flag]) => [args.join(" "), args, flag] as const))("charter %s: outside a git repository, says so", async (_name, args, flag) => {
    const outside = await runCli(args, plain);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toBe(`charter: ${plain} is not inside a git repository\nRun charter inside a clone, or pass ${flag} DIR.\n`);

    const named = await runCli([...args, flag, "."], plain);
    expect(named.code).toBe(2);
    expect(named.stderr).toMatch(new RegExp(`^charter: ${flag} \\. is not a git repository\\n`));

    const file = await runCli([...args, flag, "a-file"], plain);
    expect(file.code).toBe(2);
    expect(file.stderr).toMatch(new RegExp(`^charter: ${flag} a-file is not a directory\\n`));
  });

  it("charter validate outside a repository says where it looked", async () => {
    const result = await runCli(["validate"], plain);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/is not inside a git repository and has no agents\/ directory/);
    expect((await runCli(["validate", "--root", missing], plain)).stderr).toContain(`--root ${missing}: no such directory`);
  });

  it("a relative --root is taken from the command's working directory", async () => {
    const repo = tempRepo({ "agents/a/agent.yaml": "not: valid\n" });
    const head = repo.commitAll("one");
    try {
      const result = await runCli(["diff", "--base", "HEAD", "--root", ".", "--format", "json"], repo.root);
      expect(result.code).toBe(0);
      expect((JSON.parse(result.stdout) as { head: { commit: string } }).head.commit).toBe(head);
    } finally {
      repo.remove();
    }
  });

  it("an address that cannot be cloned is explained by git's reason, not its closing advice", async () => {
    const result = await runCli(["verify", "--repo", `file://${missing}`], plain);
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toBe(`charter: could not clone file://${missing}: '${missing}' does not appear to be a git repository`);
  });

  it("git started in a directory that does not exist reports the directory", async () => {
    await expect(runGit(missing, ["status"])).rejects.toMatchObject({ code: "NOT_FOUND", message: `charter: ${missing}: no such directory` });
  });
});
