import { changedPaths } from "./changed-paths.js";
import { CommitReader } from "./commit-reader.js";

export interface CommitPair {
  readonly base: CommitReader;
  readonly head: CommitReader;
  /** Paths that differ between base and head. */
  readonly paths: readonly string[];
}

/**
 * Opens readers at two revisions of a clone and the paths that changed between them, runs
 * `use`, and closes the readers (each holds a git process) whatever happens.
 */
export async function withCommitPair<T>(repoRoot: string, baseRef: string, headRef: string, use: (pair: CommitPair) => Promise<T>): Promise<T> {
  const readers: CommitReader[] = [];
  try {
    const base = await CommitReader.open(repoRoot, baseRef);
    readers.push(base);
    const head = await CommitReader.open(repoRoot, headRef);
    readers.push(head);
    return await use({ base, head, paths: await changedPaths(repoRoot, base.commit, head.commit) });
  } finally {
    await Promise.all(readers.map((r) => r.close()));
  }
}
