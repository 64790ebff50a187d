import { posix } from "node:path";
import { CharterError } from "../errors.js";
import type { ManifestBlob } from "../manifest/inventory-identities.js";
import { MANIFEST_FILE_NAMES } from "../manifest/lints/location.js";
import type { RepoEntry, RepoReader } from "../manifest/repo-reader.js";
import { CatFileBatch } from "./cat-file-batch.js";
import { firstLine, gitOutput, runGit, splitNul } from "./run-git.js";

interface TreeEntry {
  readonly mode: string;
  readonly type: string;
  readonly objectId: string;
  /** Undefined for trees and submodules, which ls-tree gives no size. */
  readonly size: number | undefined;
}

type Listing = ReadonlyMap<string, TreeEntry>;

// git's mode for a symbolic link; its blob holds the target.
const SYMLINK_MODE = "120000";
// A symlink's target is a path; a larger "target" is an attack on memory, not a link.
const MAX_SYMLINK_TARGET = 4096;
// Pathspecs per ls-tree call, well under the operating system's limit on argument length.
const PATHSPECS_PER_CALL = 500;
const LS_TREE_LINE = /^(\d{6}) ([a-z]+) ([0-9a-f]+) +(\d+|-)\t([\s\S]*)$/;

/**
 * Resolves a revision (branch, tag, SHA, HEAD~2…) to a commit id. An unknown revision is a
 * NOT_FOUND error with a hint, and a revision that looks like an option is refused before git
 * sees it.
 */
export async function resolveCommit(repoRoot: string, ref: string): Promise<string> {
  if (ref === "" || ref.startsWith("-") || /[\0\n\r]/.test(ref)) {
    throw new CharterError("USAGE", `${JSON.stringify(ref)} is not a revision`, { hint: "Pass a branch, tag or commit SHA, e.g. --base main." });
  }
  const result = await runGit(repoRoot, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  if (result.code === 0) return result.stdout.toString("utf8").trim();
  if (result.code === 1) {
    throw new CharterError("NOT_FOUND", `unknown revision "${ref}": no such commit in this repository`, {
      hint: "Check the spelling, or fetch it first (git fetch origin <branch>); a branch, tag or commit SHA works.",
    });
  }
  if (/not a git repository/i.test(result.stderr)) {
    throw new CharterError("NOT_FOUND", "not a git repository", { hint: "Run charter inside a clone, or pass --root <clone>." });
  }
  throw new CharterError("IO", `git rev-parse failed: ${firstLine(result.stderr)}`);
}

/**
 * Repository paths as the core sends them: relative, forward slashes, no "." or ".." segments.
 * Paths come from manifests in pull requests. A newline would end a line in git's protocols and
 * a leading "-" would read as an option, so such paths are refused outright (git never sees them).
 */
function acceptable(path: string): boolean {
  if (path === "" || path.startsWith("-") || path.startsWith("/") || /[\0\n\r]/.test(path)) return false;
  return path.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..");
}

/**
 * A RepoReader over one commit of a local clone, through git's own commands: for `charter diff`
 * and any other reading of history without a checkout.
 *
 * Cost does not grow with the repository: only the directories holding the requested paths are
 * listed (`git ls-tree -l <commit> -- <dir>/`, sizes included, cached per directory), and blobs are
 * read through one long-lived `git cat-file --batch` process. Files larger than the limit are
 * reported from their listed size without being read. Call close() when done.
 */
export class CommitReader implements RepoReader {
  private readonly listings = new Map<string, Promise<Listing>>();
  private batch: CatFileBatch | undefined;
  private closed = false;
  /** git processes started for listings, and blobs read: for tests and benchmarks. */
  readonly stats = { listCalls: 0, blobsRead: 0 };

  private constructor(
    readonly repoRoot: string,
    readonly commit: string,
  ) {}

  /** A reader at `ref`, resolved once: later moves of a branch do not change what it reads. */
  static async open(repoRoot: string, ref: string): Promise<CommitReader> {
    return new CommitReader(repoRoot, await resolveCommit(repoRoot, ref));
  }

  async read(paths: readonly string[], maxBytes: number): Promise<ReadonlyMap<string, RepoEntry>> {
    if (this.closed) throw new CharterError("INTERNAL", "read from a closed CommitReader");
    const wanted = [...new Set(paths)].filter(acceptable);
    await this.list(wanted.map((p) => posix.dirname(p)));
    const entries = await Promise.all(wanted.map(async (path) => [path, await this.entry(path, maxBytes)] as const));
    const found = new Map(entries);
    const out = new Map<string, RepoEntry>();
    for (const path of paths) out.set(path, found.get(path) ?? { kind: "missing" });
    return out;
  }

  /**
   * Every manifest of the inventory at this commit (`<root>/<id>/agent.yaml`), with its blob id:
   * two listings of the tree (the root, then its directories in batches), no blob read.
   */
  async inventoryManifests(root: string): Promise<ManifestBlob[]> {
    if (this.closed) throw new CharterError("INTERNAL", "read from a closed CommitReader");
    await this.list([root]);
    const top = await this.listings.get(root);
    const dirs = [...(top ?? new Map<string, TreeEntry>())].filter(([name, e]) => e.type === "tree" && acceptable(`${root}/${name}`)).map(([name]) => `${root}/${name}`);
    await this.list(dirs);
    const out: ManifestBlob[] = [];
    for (const dir of dirs) {
      for (const [name, e] of (await this.listings.get(dir)) ?? new Map<string, TreeEntry>()) {
        if (e.type === "blob" && e.mode !== SYMLINK_MODE && MANIFEST_FILE_NAMES.includes(name)) out.push({ path: `${dir}/${name}`, oid: e.objectId });
      }
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.batch?.close();
  }

  private async entry(path: string, maxBytes: number): Promise<RepoEntry> {
    const listing = await this.listings.get(posix.dirname(path));
    const entry = listing?.get(posix.basename(path));
    if (!entry) return { kind: "missing" };
    // Submodules ("commit") are directories in a checkout; their content is not in this repository.
    if (entry.type === "tree" || entry.type === "commit") return { kind: "directory" };
    if (entry.type !== "blob") return { kind: "missing" };
    const size = entry.size ?? 0;
    if (entry.mode === SYMLINK_MODE) {
      if (size > MAX_SYMLINK_TARGET) return { kind: "too-large", size };
      const bytes = await this.blob(entry.objectId);
      return bytes ? { kind: "symlink", target: bytes.toString("utf8") } : { kind: "missing" };
    }
    if (size > maxBytes) return { kind: "too-large", size };
    const bytes = await this.blob(entry.objectId);
    return bytes ? { kind: "file", bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) } : { kind: "missing" };
  }

  private blob(objectId: string): Promise<Buffer | null> {
    this.batch ??= new CatFileBatch(this.repoRoot);
    this.stats.blobsRead++;
    return this.batch.read(objectId);
  }

  /**
   * Lists the directories not listed yet. One call takes directories of one depth only: given a
   * directory and its subdirectory together, ls-tree descends into the subdirectory and leaves
   * out the subdirectory's own entry, which would then look missing.
   */
  private async list(dirs: readonly string[]): Promise<void> {
    const fresh = [...new Set(dirs)].filter((d) => !this.listings.has(d));
    const byDepth = new Map<number, string[]>();
    for (const dir of fresh) {
      const depth = dir === "." ? 0 : dir.split("/").length;
      byDepth.set(depth, [...(byDepth.get(depth) ?? []), dir]);
    }
    const calls: Promise<void>[] = [];
    for (const group of byDepth.values()) {
      for (let i = 0; i < group.length; i += PATHSPECS_PER_CALL) {
        const chunk = group.slice(i, i + PATHSPECS_PER_CALL);
        const listed = this.lsTree(chunk);
        for (const dir of chunk) {
          const listing = listed.then((all) => all.get(dir) ?? new Map<string, TreeEntry>());
          // The failure is reported once, through `calls`; the cached copies must not count as unhandled.
          listing.catch(() => undefined);
          this.listings.set(dir, listing);
        }
        calls.push(listed.then(() => undefined));
      }
    }
    await Promise.all(calls);
  }

  private async lsTree(dirs: readonly string[]): Promise<Map<string, Map<string, TreeEntry>>> {
    this.stats.listCalls++;
    // The root is listed without a pathspec; "--full-tree" keeps paths relative to the top
    // whatever the working directory.
    const pathspecs = dirs.filter((d) => d !== ".").map((d) => `${d}/`);
    const args = ["ls-tree", "-l", "-z", "--full-tree", this.commit, "--", ...pathspecs];
    const output = await gitOutput(this.repoRoot, pathspecs.length === 0 ? args.slice(0, -1) : args);
    const out = new Map<string, Map<string, TreeEntry>>();
    for (const record of splitNul(output)) {
      const m = LS_TREE_LINE.exec(record);
      if (!m) throw new CharterError("INTERNAL", `unexpected git ls-tree output: ${JSON.stringify(record.slice(0, 200))}`);
      const [, mode = "", type = "", objectId = "", size = "-", path = ""] = m;
      const dir = posix.dirname(path);
      let listing = out.get(dir);
      if (!listing) out.set(dir, (listing = new Map<string, TreeEntry>()));
      listing.set(posix.basename(path), { mode, type, objectId, size: size === "-" ? undefined : Number(size) });
    }
    return out;
  }
}
