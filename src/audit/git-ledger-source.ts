import { CharterError } from "../errors.js";
import { objectPath } from "../evidence/ledger.js";
import { CatFileBatch } from "../git/cat-file-batch.js";
import { resolveCommit } from "../git/commit-reader.js";
import { runGit, splitNul } from "../git/run-git.js";
import type { LedgerSource } from "./ledger-source.js";

interface TreeEntry {
  readonly name: string;
  readonly type: string;
  readonly object: string;
}

const VERIFY_HINT = "Run charter verify: the evidence branch is not laid out as Charter writes it.";

/**
 * The ledger on an evidence branch of a local clone, read without listing it whole: records
 * live in directories of at most 1,000 (records/<seq / 1e6>/<seq / 1000 % 1000>/<seq>.json), so
 * the size comes from the last directory of each level, and reading the records after seq N
 * lists only the directories from N's onwards. An update of a million-record ledger that
 * gained ten records runs a handful of git commands. Blobs are read through one
 * `git cat-file --batch` process by object id.
 */
export async function gitLedgerSource(repoRoot: string, ref: string): Promise<LedgerSource> {
  const commit = await resolveCommit(repoRoot, ref);
  const buckets = new Map<string, Map<number, string>>();
  let batch: CatFileBatch | undefined;
  const blobs = (): CatFileBatch => (batch ??= new CatFileBatch(repoRoot));

  const listTree = async (path: string): Promise<TreeEntry[]> => {
    const result = await runGit(repoRoot, ["ls-tree", "-z", `${commit}:${path}`]);
    // The tree does not exist: an empty ledger has no records directory yet.
    if (result.code !== 0) return [];
    return splitNul(result.stdout).map((line) => {
      const tab = line.indexOf("\t");
      const [, type = "", object = ""] = line.slice(0, tab).split(" ");
      return { name: line.slice(tab + 1), type, object };
    });
  };
  const directories = async (path: string, width: RegExp): Promise<number[]> =>
    (await listTree(path)).filter((e) => e.type === "tree" && width.test(e.name)).map((e) => Number(e.name)).sort((a, b) => a - b);
  const bucket = async (top: number, middle: number): Promise<Map<number, string>> => {
    const key = `${pad(top, 3)}/${pad(middle, 3)}`;
    let files = buckets.get(key);
    if (!files) {
      files = new Map();
      for (const e of await listTree(`records/${key}`)) {
        const match = /^(\d{9,})\.json$/.exec(e.name);
        if (!match || e.type !== "blob") continue;
        files.set(Number(match[1]), e.object);
      }
      buckets.set(key, files);
    }
    return files;
  };

  return {
    commit,
    async size() {
      const top = (await directories("records", /^\d{3,}$/)).at(-1);
      if (top === undefined) return 0;
      const middle = (await directories(`records/${pad(top, 3)}`, /^\d{3}$/)).at(-1);
      if (middle === undefined) return 0;
      const last = Math.max(-1, ...(await bucket(top, middle)).keys());
      return last + 1;
    },
    async read(from, count) {
      const ids: string[] = [];
      for (let seq = from; seq < from + count; seq++) {
        const object = (await bucket(Math.floor(seq / 1_000_000), Math.floor(seq / 1000) % 1000)).get(seq);
        if (object === undefined) throw new CharterError("INVALID_RECORD", `record ${seq} is missing from ${ref}`, { hint: VERIFY_HINT });
        ids.push(object);
      }
      const reader = blobs();
      return Promise.all(
        ids.map(async (id, i) => {
          const bytes = await reader.read(id);
          if (bytes === null) throw new CharterError("INVALID_RECORD", `record ${from + i} cannot be read from ${ref}`, { hint: VERIFY_HINT });
          return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        }),
      );
    },
    async objects(hashes) {
      const out = new Map<string, Uint8Array>();
      const reader = blobs();
      for (let i = 0; i < hashes.length; i += 200) {
        const chunk = hashes.slice(i, i + 200);
        const byPath = new Map(chunk.map((h) => [objectPath(h), h]));
        const result = await runGit(repoRoot, ["ls-tree", "-z", commit, "--", ...byPath.keys()]);
        if (result.code !== 0) continue;
        const reads: Promise<void>[] = [];
        for (const line of splitNul(result.stdout)) {
          const tab = line.indexOf("\t");
          const [, type, object = ""] = line.slice(0, tab).split(" ");
          const hash = byPath.get(line.slice(tab + 1));
          if (hash === undefined || type !== "blob") continue;
          reads.push(
            reader.read(object).then((bytes) => {
              if (bytes !== null) out.set(hash, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
            }),
          );
        }
        await Promise.all(reads);
      }
      return out;
    },
    async close() {
      await batch?.close();
    },
  };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}
