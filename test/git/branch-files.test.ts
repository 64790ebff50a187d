import { afterEach, describe, expect, it } from "vitest";
import { readBranchFiles } from "../../src/git/branch-files.js";
import { type TempRepo, tempRepo } from "../helpers/temp-repo.js";

let repo: TempRepo | undefined;
afterEach(() => repo?.remove());

describe("readBranchFiles", () => {
  it("reads every file under the prefixes at a branch, byte for byte", async () => {
    repo = tempRepo({ "records/000/000001.json": '{"seq":1}\n', "records/000/000000.json": '{"seq":0}\n', checkpoint: "log\n1\n", "README.md": "# x\n" });
    repo.commitAll("first");
    repo.git("branch", "evidence");
    repo.write({ "records/000/000002.json": "later\n" });
    repo.commitAll("second, on main only");
    const read = await readBranchFiles(repo.root, "evidence", ["records/", "checkpoint"]);
    expect(read.files.map((f) => [f.path, new TextDecoder().decode(f.bytes)])).toEqual([
      ["checkpoint", "log\n1\n"],
      ["records/000/000000.json", '{"seq":0}\n'],
      ["records/000/000001.json", '{"seq":1}\n'],
    ]);
    expect(read.unexpected).toEqual([]);
    expect(read.commit).toBe(repo.git("rev-parse", "evidence"));
  });

  it("reports a symlink among the records instead of reading it", async () => {
    repo = tempRepo({ "records/0.json": "0\n", "records/1.json": { symlink: "0.json" } });
    repo.commitAll("links");
    const read = await readBranchFiles(repo.root, "HEAD", ["records/"]);
    expect(read.files.map((f) => f.path)).toEqual(["records/0.json"]);
    expect(read.unexpected).toEqual(["records/1.json"]);
  });

  it("names an unknown branch clearly", async () => {
    repo = tempRepo({ "a.txt": "a\n" });
    repo.commitAll("a");
    await expect(readBranchFiles(repo.root, "charter-evidence", ["records/"])).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
