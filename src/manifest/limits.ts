/**
 * Ceilings applied to every file Charter parses. Pull request content is attacker-controlled:
 * without these a single manifest could exhaust memory (alias expansion), the stack (nesting)
 * or the API budget (huge prompt files).
 */
export interface Limits {
  /** Largest manifest file, in bytes. Real manifests are a few KiB. */
  readonly maxManifestBytes: number;
  /** Largest prompt file, in bytes. */
  readonly maxPromptBytes: number;
  /** Deepest nesting of mappings and sequences. The schema itself needs 5. */
  readonly maxDepth: number;
  /** Alias references per document (billion-laughs defence, together with maxNodes). */
  readonly maxAliases: number;
  /** Values produced when the document is expanded, aliases included. */
  readonly maxNodes: number;
  /** How many symlinks are followed in a row before giving up. */
  readonly maxSymlinkHops: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxManifestBytes: 256 * 1024,
  maxPromptBytes: 1024 * 1024,
  maxDepth: 32,
  maxAliases: 50,
  maxNodes: 20_000,
  maxSymlinkHops: 8,
};
