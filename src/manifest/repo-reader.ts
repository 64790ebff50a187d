/**
 * How the core reads files without knowing where they live: the working tree, a git commit, or
 * the GitHub API at a ref. Paths are repository-relative with forward slashes.
 */
export type RepoEntry =
  | { readonly kind: "file"; readonly bytes: Uint8Array }
  /** A file whose bytes the reader cannot deliver as text (the GitHub API does not return them). */
  | { readonly kind: "binary" }
  | { readonly kind: "symlink"; readonly target: string }
  | { readonly kind: "directory" }
  | { readonly kind: "missing" }
  | { readonly kind: "too-large"; readonly size: number };

export interface RepoReader {
  /**
   * Reads many paths in one go, so that adapters can batch (one GraphQL query instead of one
   * request per file). Files larger than maxBytes come back as "too-large", unread.
   */
  read(paths: readonly string[], maxBytes: number): Promise<ReadonlyMap<string, RepoEntry>>;
}
