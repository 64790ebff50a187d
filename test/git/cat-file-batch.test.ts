import { afterEach, describe, expect, it } from "vitest";
import { CatFileBatch } from "../../src/git/cat-file-batch.js";
import { type TempRepo, tempRepo } from "../helpers/temp-repo.js";

let repo: TempRepo | undefined;
let batch: CatFileBatch | undefined;
afterEach(async () => {
  await batch?.close();
  batch = undefined;
  repo?.remove();
  repo = undefined;
});

const text = (bytes: Uint8Array | null): string | null => (bytes === null ? null : new TextDecoder().decode(bytes));

describe("CatFileBatch.readMany", () => {
  it("answers many reads in the order asked, small and large blobs alike, and null for what git does not have", async () => {
    // A 300 KB blob arrives in several chunks of git's output, the small ones many to a chunk.
    const large = "L".repeat(300_000);
    const files: Record<string, string> = { "large.txt": large, "empty.txt": "" };
    for (let i = 0; i < 500; i++) files[`small/${String(i).padStart(3, "0")}.txt`] = `small ${i}\n`;
    repo = tempRepo(files);
    const commit = repo.commitAll("blobs");
    const ids = new Map(
      repo
        .git("ls-tree", "-r", commit)
        .split("\n")
        .map((line) => [line.split("\t")[1] ?? "", line.split(" ")[2]?.split("\t")[0] ?? ""] as const),
    );
    const id = (path: string): string => ids.get(path) ?? "";
    const smallIds = Array.from({ length: 500 }, (_, i) => id(`small/${String(i).padStart(3, "0")}.txt`));
    const missing = "0123456789abcdef0123456789abcdef01234567";
    batch = new CatFileBatch(repo.root);
    const [first, second] = await Promise.all([
      batch.readMany([...smallIds.slice(0, 250), id("large.txt"), missing, id("empty.txt")]),
      batch.readMany([...smallIds.slice(250), id("large.txt")]),
    ]);
    expect(first).toHaveLength(253);
    expect(first.slice(0, 250).map(text)).toEqual(Array.from({ length: 250 }, (_, i) => `small ${i}\n`));
    expect(text(first[250] ?? null)).toBe(large);
    expect(first[251]).toBeNull();
    expect(text(first[252] ?? null)).toBe("");
    expect(second.map(text)).toEqual([...Array.from({ length: 250 }, (_, i) => `small ${i + 250}\n`), large]);
    // Single reads still interleave with batches.
    expect(text(await batch.read(smallIds[7] ?? ""))).toBe("small 7\n");
    expect(await batch.readMany([])).toEqual([]);
  });

  it("refuses anything but object ids before asking git, and any read once closed", async () => {
    repo = tempRepo({ "a.txt": "a\n" });
    const commit = repo.commitAll("a");
    batch = new CatFileBatch(repo.root);
    await expect(batch.readMany([`${commit}:a.txt`])).rejects.toMatchObject({ code: "INTERNAL" });
    const blob = repo.git("rev-parse", `${commit}:a.txt`);
    expect((await batch.readMany([blob, blob])).map(text)).toEqual(["a\n", "a\n"]);
    await batch.close();
    await expect(batch.readMany([blob])).rejects.toMatchObject({ code: "IO", message: expect.stringMatching(/git cat-file exited/) as unknown });
  });
});
