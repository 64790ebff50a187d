import { DEFAULT_LIMITS, type Limits } from "../../src/manifest/limits.js";
import type { RepoEntry, RepoReader } from "../../src/manifest/repo-reader.js";
import { validateManifests, type ValidationReport } from "../../src/manifest/validate.js";

/**
 * A RepoReader over an in-memory map: the seam the core defines, filled with plain data.
 * Symlinks are entries of kind "symlink"; tests of the on-disk reader use real files.
 */
class MapReader implements RepoReader {
  constructor(private readonly files: Readonly<Record<string, string | Uint8Array | RepoEntry>>) {}

  read(paths: readonly string[], maxBytes: number): Promise<ReadonlyMap<string, RepoEntry>> {
    const out = new Map<string, RepoEntry>();
    for (const path of paths) {
      const value = this.files[path];
      let entry: RepoEntry;
      if (value === undefined) entry = { kind: "missing" };
      else if (typeof value === "string") entry = { kind: "file", bytes: new TextEncoder().encode(value) };
      else if (value instanceof Uint8Array) entry = { kind: "file", bytes: value };
      else entry = value;
      if (entry.kind === "file" && entry.bytes.byteLength > maxBytes) entry = { kind: "too-large", size: entry.bytes.byteLength };
      out.set(path, entry);
    }
    return Promise.resolve(out);
  }
}

export async function validateFiles(
  files: Readonly<Record<string, string | Uint8Array | RepoEntry>>,
  limits: Limits = DEFAULT_LIMITS,
): Promise<ValidationReport> {
  const manifests = Object.keys(files).filter((p) => /\/agent\.ya?ml$/.test(p));
  return validateManifests(manifests, new MapReader(files), limits);
}
