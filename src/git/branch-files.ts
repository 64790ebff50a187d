import { CatFileBatch } from "./cat-file-batch.js";
import { resolveCommit } from "./commit-reader.js";
import { gitOutput, splitNul } from "./run-git.js";

export interface BranchFiles {
  /** The commit the files were read at. */
  readonly commit: string;
  /** Every file under the requested prefixes, in git's path order, with its exact bytes. */
  readonly files: readonly { readonly path: string; readonly bytes: Uint8Array }[];
}

/**
 * Reads whole subtrees of one commit of a local clone: for verifying an evidence branch, which
 * must look at every record. One `git ls-tree -r` lists them, one `git cat-file --batch`
 * process reads them. Only regular files are returned; anything else under the prefixes
 * (a symlink, a submodule) is reported so that the verifier can refuse it.
 */
export async function readBranchFiles(repoRoot: string, ref: string, prefixes: readonly string[]): Promise<BranchFiles & { readonly unexpected: readonly string[] }> {
  const commit = await resolveCommit(repoRoot, ref);
  const listing = splitNul(await gitOutput(repoRoot, ["ls-tree", "-r", "-z", "--full-tree", commit, "--", ...prefixes]));
  const batch = new CatFileBatch(repoRoot);
  try {
    const files: { path: string; bytes: Uint8Array }[] = [];
    const unexpected: string[] = [];
    const reads: Promise<void>[] = [];
    for (const line of listing) {
      // "<mode> SP <type> SP <object> TAB <path>"
      const tab = line.indexOf("\t");
      const [mode, type, object] = line.slice(0, tab).split(" ");
      const path = line.slice(tab + 1);
      if (type !== "blob" || (mode !== "100644" && mode !== "100755") || !object) {
        unexpected.push(path);
        continue;
      }
      const entry: { path: string; bytes: Uint8Array } = { path, bytes: new Uint8Array() };
      files.push(entry);
      reads.push(
        batch.read(object).then((bytes) => {
          entry.bytes = bytes ?? new Uint8Array();
        }),
      );
    }
    await Promise.all(reads);
    return { commit, files, unexpected };
  } finally {
    await batch.close();
  }
}
