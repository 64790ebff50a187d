import { afterEach, describe, expect, it } from "vitest";
import { isCharterError } from "../../src/errors.js";
import { changedPaths } from "../../src/git/changed-paths.js";
import { type TempRepo, tempRepo } from "../helpers/temp-repo.js";

let repo: TempRepo | undefined;
afterEach(() => {
  repo?.remove();
  repo = undefined;
});

describe("changedPaths", () => {
  it("lists modified, added and deleted paths, and both sides of a rename", async () => {
    repo = tempRepo({ "agents/a/agent.yaml": "a\n", "agents/b/agent.yaml": "b\n", "agents/c/prompts/system.md": "a prompt long enough to be detected as renamed\n", "README.md": "r\n" });
    const base = repo.commitAll("base");
    repo.write({ "agents/a/agent.yaml": "a2\n", "agents/new/agent.yaml": "n\n", "agents/d/system.md": "a prompt long enough to be detected as renamed\n" });
    repo.git("rm", "-q", "agents/b/agent.yaml", "agents/c/prompts/system.md");
    const head = repo.commitAll("head");
    // Without --no-renames git would pair these and list only the new name.
    expect(repo.git("diff", "--name-status", "-M", base, head)).toContain("R100\tagents/c/prompts/system.md\tagents/d/system.md");
    expect(await changedPaths(repo.root, base, head)).toEqual(["agents/a/agent.yaml", "agents/b/agent.yaml", "agents/c/prompts/system.md", "agents/d/system.md", "agents/new/agent.yaml"]);
  });

  it("keeps names with spaces, quotes, newlines and non-ASCII characters intact", async () => {
    repo = tempRepo({ "a.md": "a\n" });
    const base = repo.commitAll("base");
    const names = ["agents/x/prömpt \"1\".md", "agents/x/line\nbreak.md", "agents/x/tab\there.md"];
    repo.write(Object.fromEntries(names.map((n) => [n, "x\n"])));
    const head = repo.commitAll("head");
    expect(await changedPaths(repo.root, base, head)).toEqual([...names].sort());
  });

  it("is empty for the same commit, and ignores the working tree", async () => {
    repo = tempRepo({ "a.md": "a\n" });
    const base = repo.commitAll("base");
    repo.write({ "a.md": "uncommitted\n" });
    expect(await changedPaths(repo.root, base, "HEAD")).toEqual([]);
  });

  it("refuses a revision that looks like an option", async () => {
    repo = tempRepo({ "a.md": "a\n" });
    repo.commitAll("base");
    const error: unknown = await changedPaths(repo.root, "--output=x", "HEAD").catch((e: unknown) => e);
    expect(isCharterError(error) && error.code).toBe("USAGE");
  });
});
