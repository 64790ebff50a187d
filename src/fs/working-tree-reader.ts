import { lstatSync, openSync, readlinkSync, readSync, closeSync, fstatSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import type { RepoEntry, RepoReader } from "../manifest/repo-reader.js";

/**
 * Reads files from a directory on disk (a checkout's working tree). Symlinks are reported as
 * links, never followed here: the core decides whether a link's target is acceptable.
 * Synchronous file calls are used on purpose: for thousands of small files they are several
 * times faster than promise-based ones, and the CLI has nothing else to do meanwhile.
 */
export class WorkingTreeReader implements RepoReader {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  read(paths: readonly string[], maxBytes: number): Promise<ReadonlyMap<string, RepoEntry>> {
    const out = new Map<string, RepoEntry>();
    for (const path of paths) out.set(path, this.readOne(path, maxBytes));
    return Promise.resolve(out);
  }

  private throughSymlink(rel: string): boolean {
    const parts = rel.split(sep);
    let current = this.root;
    for (const part of parts.slice(0, -1)) {
      current = join(current, part);
      try {
        if (lstatSync(current).isSymbolicLink()) return true;
      } catch {
        return false;
      }
    }
    return false;
  }

  private readOne(path: string, maxBytes: number): RepoEntry {
    const absolute = join(this.root, path);
    // Paths come from manifests; refuse anything that would leave the root textually.
    const rel = relative(this.root, absolute);
    if (rel.startsWith("..") || rel.startsWith(sep) || rel === "") return { kind: "missing" };
    // A symlinked directory part-way along the path would lead somewhere the core never
    // approved; git and GitHub do not follow such links either, so neither does this reader.
    if (this.throughSymlink(rel)) return { kind: "missing" };
    let stat;
    try {
      stat = lstatSync(absolute);
    } catch {
      return { kind: "missing" };
    }
    if (stat.isSymbolicLink()) return { kind: "symlink", target: readlinkSync(absolute) };
    if (stat.isDirectory()) return { kind: "directory" };
    if (!stat.isFile()) return { kind: "missing" };
    if (stat.size > maxBytes) return { kind: "too-large", size: stat.size };
    return readBounded(absolute, maxBytes);
  }
}

/** Reads at most maxBytes + 1 bytes, so a file that grows between stat and read stays bounded. */
function readBounded(absolute: string, maxBytes: number): RepoEntry {
  const fd = openSync(absolute, "r");
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.allocUnsafe(Math.min(size, maxBytes + 1));
    let filled = 0;
    while (filled < buffer.length) {
      const n = readSync(fd, buffer, filled, buffer.length - filled, filled);
      if (n === 0) break;
      filled += n;
    }
    if (filled > maxBytes) return { kind: "too-large", size: Math.max(size, filled) };
    return { kind: "file", bytes: buffer.subarray(0, filled) };
  } finally {
    closeSync(fd);
  }
}
