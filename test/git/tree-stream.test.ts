import { afterEach, describe, expect, it } from "vitest";
import { streamTreeFileBatches, streamTreeFiles, type TreeItem } from "../../src/git/tree-stream.js";
import { type TempRepo, tempRepo } from "../helpers/temp-repo.js";

let repo: TempRepo | undefined;
afterEach(() => {
  repo?.remove();
  repo = undefined;
});

async function collect(stream: AsyncGenerator<TreeItem>): Promise<TreeItem[]> {
  const items: TreeItem[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

const decode = (item: TreeItem): string => (item.kind === "file" ? new TextDecoder().decode(item.bytes) : `<${item.kind}>`);

describe("streamTreeFiles", () => {
  it("streams every file under the prefixes in git's path order, with exact bytes, far past its read window", async () => {
    // 2,000 files: more than ten windows of reads, and past the point where cat-file's queue compacts.
    const files: Record<string, string> = { "outside.txt": "not under the prefix\n" };
    for (let i = 0; i < 2000; i++) files[`records/${String(Math.floor(i / 1000)).padStart(3, "0")}/${String(i).padStart(9, "0")}.json`] = `{"n":${i}}\n`;
    repo = tempRepo(files);
    const commit = repo.commitAll("many");
    const items = await collect(streamTreeFiles(repo.root, commit, ["records/"]));
    expect(items).toHaveLength(2000);
    items.forEach((item, i) => {
      expect(item.kind).toBe("file");
      expect(item.path).toBe(`records/${String(Math.floor(i / 1000)).padStart(3, "0")}/${String(i).padStart(9, "0")}.json`);
      expect(decode(item)).toBe(`{"n":${i}}\n`);
    });
  });

  it("hands on the same files in small batches, in order, with a link in the middle reported in place", async () => {
    const files: Record<string, string | { symlink: string }> = {};
    for (let i = 0; i < 1500; i++) files[`records/${String(i).padStart(4, "0")}.json`] = `${i}\n`;
    files["records/0700.link"] = { symlink: "0700.json" };
    repo = tempRepo(files);
    const commit = repo.commitAll("many");
    const batches: (readonly TreeItem[])[] = [];
    for await (const items of streamTreeFileBatches(repo.root, commit, ["records/"])) batches.push(items);
    expect(batches.every((items) => items.length > 0 && items.length <= 16)).toBe(true);
    const items = batches.flat();
    expect(items).toHaveLength(1501);
    expect(items[701]).toEqual({ kind: "unexpected", path: "records/0700.link" });
    const read = items.filter((item) => item.kind === "file");
    read.forEach((item, i) => {
      expect(item.path).toBe(`records/${String(i).padStart(4, "0")}.json`);
      expect(decode(item)).toBe(`${i}\n`);
    });
  });

  it("reports a symlink and a submodule under the prefix without reading them", async () => {
    repo = tempRepo({ "records/a.json": "a\n", "records/link.json": { symlink: "../secret" } });
    repo.commitAll("files");
    const commit = repo.git("rev-parse", "HEAD");
    repo.git("update-index", "--add", "--cacheinfo", `160000,${commit},records/sub`);
    repo.git("commit", "-q", "-m", "submodule");
    const items = await collect(streamTreeFiles(repo.root, repo.git("rev-parse", "HEAD"), ["records/"]));
    expect(items.map((i) => [i.path, i.kind])).toEqual([
      ["records/a.json", "file"],
      ["records/link.json", "unexpected"],
      ["records/sub", "unexpected"],
    ]);
  });

  it("stops cleanly when the reader stops early, and can be read again", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 600; i++) files[`records/${String(i).padStart(4, "0")}`] = `${i}\n`;
    repo = tempRepo(files);
    const commit = repo.commitAll("many");
    let seen = 0;
    for await (const item of streamTreeFiles(repo.root, commit, ["records/"])) {
      expect(decode(item)).toBe(`${seen}\n`);
      seen += 1;
      if (seen === 10) break;
    }
    expect(seen).toBe(10);
    expect(await collect(streamTreeFiles(repo.root, commit, ["records/"]))).toHaveLength(600);
  });

  it("fails with a clear error for a commit the clone does not have", async () => {
    repo = tempRepo({ "a.txt": "a\n" });
    repo.commitAll("a");
    await expect(collect(streamTreeFiles(repo.root, "0".repeat(40), ["records/"]))).rejects.toMatchObject({ code: "IO", message: expect.stringMatching(/git ls-tree failed/) as unknown });
  });
});
