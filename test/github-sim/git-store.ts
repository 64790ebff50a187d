// Real bare git repositories on disk, one per simulated repository. Objects are written in
// process (they are plain zlib-deflated files, so one commit of 3000 files costs no process
// spawns); reads go through a persistent `git cat-file --batch`; ref updates, diffs and merges
// use the git CLI so that git itself enforces compare-and-swap and computes what GitHub would.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { GitObjectReader } from "./git-object-reader.js";

export type TreeEntryMode = "100644" | "100755" | "120000" | "40000" | "160000";

export interface TreeEntry {
  readonly mode: TreeEntryMode;
  readonly type: "blob" | "tree" | "commit";
  readonly sha: string;
  readonly name: string;
}

export interface GitIdentity {
  readonly name: string;
  readonly email: string;
  readonly date: Date;
}

export interface CommitObject {
  readonly sha: string;
  readonly tree: string;
  readonly parents: string[];
  readonly author: GitIdentity;
  readonly committer: GitIdentity;
  readonly message: string;
}

/** What a scenario or an API call wants at a path: content, a symlink, an existing object, or deletion. */
export type FileChange =
  | string
  | Uint8Array
  | null
  | { readonly symlink: string }
  | { readonly content: string | Uint8Array; readonly executable?: boolean }
  | { readonly mode: TreeEntryMode; readonly sha: string };

export interface DiffEntry {
  readonly status: "added" | "removed" | "modified" | "renamed" | "changed";
  readonly path: string;
  readonly previousPath: string | null;
  readonly oldSha: string | null;
  readonly newSha: string | null;
  readonly additions: number;
  readonly deletions: number;
}

/** A change that cannot be applied to a tree; its message is what GitHub would answer. */
export class GitTreeError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = "GitTreeError";
  }
}

const ZERO_SHA = "0".repeat(40);
const FULL_SHA = /^[0-9a-f]{40}$/;
/** From this many new blobs on, one pack beats loose files. */
const PACK_THRESHOLD = 16;
const PACK_TYPES = { commit: 1, tree: 2, blob: 3 } as const;

function objectSha(type: "blob" | "tree" | "commit", content: Buffer): string {
  return createHash("sha1").update(`${type} ${content.length}\0`).update(content).digest("hex");
}

/** A version 2 pack of blobs, undeltified: header, one zlib stream per object, SHA-1 trailer. */
function buildPack(blobs: readonly Buffer[]): Buffer {
  const header = Buffer.alloc(12);
  header.write("PACK", 0, "ascii");
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(blobs.length, 8);
  const parts: Buffer[] = [header];
  for (const data of blobs) {
    // Object header: type in bits 4-6 of the first byte, size as a little-endian base-128 varint.
    const bytes: number[] = [];
    let size = data.length;
    let byte = (PACK_TYPES.blob << 4) | (size & 0x0f);
    size = Math.floor(size / 16);
    while (size > 0) {
      bytes.push(byte | 0x80);
      byte = size & 0x7f;
      size = Math.floor(size / 128);
    }
    bytes.push(byte);
    parts.push(Buffer.from(bytes), deflateSync(data));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, createHash("sha1").update(body).digest()]);
}

function runGit(gitDir: string, args: string[], okCodes: number[] = [0]): Promise<{ stdout: string; code: number }> {
  return new Promise((resolve, reject) => {
    execFile("git", ["--git-dir", gitDir, ...args], { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      if (okCodes.includes(code)) resolve({ stdout, code });
      else reject(new Error(`github-sim: git ${args.join(" ")} failed (${code}): ${stderr.trim()}`));
    });
  });
}

function runGitWithInput(gitDir: string, args: string[], input: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile("git", ["--git-dir", gitDir, ...args], (error, stdout, stderr) => {
      if (error) reject(new Error(`github-sim: git ${args.join(" ")} failed: ${stderr.trim()}`));
      else resolve(stdout);
    });
    child.stdin?.end(input);
  });
}

function identityLine(identity: GitIdentity): string {
  return `${identity.name} <${identity.email}> ${Math.floor(identity.date.getTime() / 1000)} +0000`;
}

function parseIdentity(line: string): GitIdentity {
  const match = /^(.*) <(.*)> (\d+) ([+-]\d{4})$/.exec(line);
  if (!match) throw new Error(`github-sim: unparseable git identity: ${line}`);
  return { name: match[1] ?? "", email: match[2] ?? "", date: new Date(Number(match[3]) * 1000) };
}

function parseCommit(sha: string, data: Buffer): CommitObject {
  const text = data.toString("utf8");
  const split = text.indexOf("\n\n");
  const headers = text.slice(0, split < 0 ? text.length : split).split("\n");
  const message = split < 0 ? "" : text.slice(split + 2);
  let tree = "";
  const parents: string[] = [];
  let author: GitIdentity | undefined;
  let committer: GitIdentity | undefined;
  for (const header of headers) {
    const space = header.indexOf(" ");
    const key = header.slice(0, space);
    const value = header.slice(space + 1);
    if (key === "tree") tree = value;
    else if (key === "parent") parents.push(value);
    else if (key === "author") author = parseIdentity(value);
    else if (key === "committer") committer = parseIdentity(value);
  }
  if (!author || !committer) throw new Error(`github-sim: commit ${sha} lacks author or committer`);
  return { sha, tree, parents, author, committer, message };
}

function parseTree(data: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const nul = data.indexOf(0, space);
    const mode = data.subarray(offset, space).toString("ascii") as TreeEntryMode;
    const name = data.subarray(space + 1, nul).toString("utf8");
    const sha = data.subarray(nul + 1, nul + 21).toString("hex");
    const type = mode === "40000" ? "tree" : mode === "160000" ? "commit" : "blob";
    entries.push({ mode, type, sha, name });
    offset = nul + 21;
  }
  return entries;
}

/** Git orders tree entries bytewise, comparing a subtree's name as if it ended in "/". */
function compareEntries(a: TreeEntry, b: TreeEntry): number {
  const left = Buffer.from(a.type === "tree" ? `${a.name}/` : a.name);
  const right = Buffer.from(b.type === "tree" ? `${b.name}/` : b.name);
  return Buffer.compare(left, right);
}

function normalizePath(path: string): string[] {
  const parts = path.split("/").filter((part) => part.length > 0);
  if (parts.length === 0 || parts.some((part) => part === "." || part === ".." || part === ".git")) {
    throw new GitTreeError(`Invalid path: ${path}`, path);
  }
  return parts;
}

export class GitRepository {
  private readonly reader: GitObjectReader;
  private readonly treeCache = new Map<string, TreeEntry[]>();
  private readonly commitCache = new Map<string, CommitObject>();
  /** Answers about pairs of commit shas never change; refs are never cached. */
  private readonly pairCache = new Map<string, Promise<unknown>>();
  /** Objects known to be on disk already, so rewriting the same content costs nothing. */
  private readonly written = new Set<string>();
  private readonly madeDirs = new Set<string>();

  constructor(readonly gitDir: string) {
    this.reader = new GitObjectReader(gitDir);
  }

  close(): Promise<void> {
    return this.reader.close();
  }

  readObject(expression: string): ReturnType<GitObjectReader["read"]> {
    return this.reader.read(expression);
  }

  /** A branch name, full ref or (abbreviated) sha, resolved to a commit sha. */
  async resolveCommit(revision: string): Promise<string | null> {
    if (revision.startsWith("-")) return null;
    const object = await this.reader.read(`${revision}^{commit}`);
    return object?.sha ?? null;
  }

  async readCommit(sha: string): Promise<CommitObject | null> {
    const cached = this.commitCache.get(sha);
    if (cached) return cached;
    const object = await this.reader.read(sha);
    if (object?.type !== "commit") return null;
    const commit = parseCommit(object.sha, object.data);
    this.commitCache.set(object.sha, commit);
    return commit;
  }

  async readTree(sha: string): Promise<TreeEntry[] | null> {
    const cached = this.treeCache.get(sha);
    if (cached) return cached;
    const object = await this.reader.read(sha);
    if (object?.type !== "tree") return null;
    const entries = parseTree(object.data);
    this.treeCache.set(object.sha, entries);
    return entries;
  }

  async readBlob(sha: string): Promise<Buffer | null> {
    const object = await this.reader.read(sha);
    return object?.type === "blob" ? object.data : null;
  }

  /** The tree entry at `path` in `treeSha`, walking cached trees; null when absent. */
  async entryAt(treeSha: string, path: string): Promise<TreeEntry | null> {
    const parts = path.split("/").filter((part) => part.length > 0);
    let current: TreeEntry = { mode: "40000", type: "tree", sha: treeSha, name: "" };
    for (const part of parts) {
      if (current.type !== "tree") return null;
      const entries = await this.readTree(current.sha);
      const next = entries?.find((entry) => entry.name === part);
      if (!next) return null;
      current = next;
    }
    return current;
  }

  /** Every blob and submodule under a tree, with full paths, depth first in git order. */
  async walkTree(treeSha: string, prefix = ""): Promise<(TreeEntry & { path: string })[]> {
    const entries = (await this.readTree(treeSha)) ?? [];
    const out: (TreeEntry & { path: string })[] = [];
    for (const entry of entries) {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      out.push({ ...entry, path });
      if (entry.type === "tree") out.push(...(await this.walkTree(entry.sha, path)));
    }
    return out;
  }

  async writeObject(type: "blob" | "tree" | "commit", content: Buffer): Promise<string> {
    const header = Buffer.from(`${type} ${content.length}\0`);
    const full = Buffer.concat([header, content]);
    const sha = objectSha(type, content);
    if (this.written.has(sha)) return sha;
    const dir = join(this.gitDir, "objects", sha.slice(0, 2));
    const file = join(dir, sha.slice(2));
    const exists = await stat(file).then(
      () => true,
      () => false,
    );
    if (!exists) {
      if (!this.madeDirs.has(dir)) {
        await mkdir(dir, { recursive: true });
        this.madeDirs.add(dir);
      }
      // Write then rename, so a concurrent reader never sees half an object.
      const temp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
      await writeFile(temp, deflateSync(full));
      await rename(temp, file);
    }
    this.written.add(sha);
    return sha;
  }

  async writeBlob(content: string | Uint8Array): Promise<string> {
    const [sha = ""] = await this.writeBlobs([Buffer.from(content)]);
    return sha;
  }

  private async writeTreeEntries(entries: TreeEntry[]): Promise<string> {
    const sorted = [...entries].sort(compareEntries);
    const parts = sorted.map((entry) =>
      Buffer.concat([Buffer.from(`${entry.mode} ${entry.name}\0`), Buffer.from(entry.sha, "hex")]),
    );
    const sha = await this.writeObject("tree", Buffer.concat(parts));
    this.treeCache.set(sha, sorted);
    return sha;
  }

  /** Mode and blob bytes for a change, or an existing object's mode and sha. */
  private static contentOf(
    change: Exclude<FileChange, null>,
  ): { mode: TreeEntryMode; data: Buffer } | { mode: TreeEntryMode; sha: string } {
    if (typeof change === "string" || change instanceof Uint8Array) return { mode: "100644", data: Buffer.from(change) };
    if ("symlink" in change) return { mode: "120000", data: Buffer.from(change.symlink) };
    if ("content" in change) {
      return { mode: change.executable === true ? "100755" : "100644", data: Buffer.from(change.content) };
    }
    return { mode: change.mode, sha: change.sha };
  }

  /**
   * Writes many blobs at once. Past a handful, one pack through `git index-pack` is far cheaper
   * than a loose file per object (a 3000-file pull request would otherwise be 3000 file writes).
   */
  async writeBlobs(contents: readonly Buffer[]): Promise<string[]> {
    const shas = contents.map((data) => objectSha("blob", data));
    const fresh = new Map<string, Buffer>();
    contents.forEach((data, index) => {
      const sha = shas[index] ?? "";
      if (!this.written.has(sha)) fresh.set(sha, data);
    });
    if (fresh.size >= PACK_THRESHOLD) {
      await runGitWithInput(this.gitDir, ["index-pack", "--stdin"], buildPack([...fresh.values()]));
      for (const sha of fresh.keys()) this.written.add(sha);
    } else {
      await Promise.all([...fresh.values()].map((data) => this.writeObject("blob", data)));
    }
    return shas;
  }

  /**
   * Applies path changes to a base tree (null: empty tree) and writes the new trees bottom-up.
   * Deleting a path that is not there is an error, as in GitHub's createCommitOnBranch.
   */
  async buildTree(baseTree: string | null, changes: ReadonlyMap<string, FileChange>): Promise<string> {
    const resolved = new Map<string, { mode: TreeEntryMode; sha: string } | null>();
    const toWrite: { path: string; mode: TreeEntryMode; data: Buffer }[] = [];
    for (const [path, change] of changes) {
      const normalized = normalizePath(path).join("/");
      if (change === null) {
        resolved.set(normalized, null);
        continue;
      }
      const content = GitRepository.contentOf(change);
      if ("sha" in content) resolved.set(normalized, content);
      else toWrite.push({ path: normalized, ...content });
    }
    const shas = await this.writeBlobs(toWrite.map((item) => item.data));
    toWrite.forEach((item, index) => resolved.set(item.path, { mode: item.mode, sha: shas[index] ?? "" }));
    return this.applyToTree(baseTree, resolved, "");
  }

  private async applyToTree(
    baseTree: string | null,
    changes: ReadonlyMap<string, { mode: TreeEntryMode; sha: string } | null>,
    prefix: string,
  ): Promise<string> {
    const entries = new Map<string, TreeEntry>();
    for (const entry of baseTree ? ((await this.readTree(baseTree)) ?? []) : []) entries.set(entry.name, entry);
    const nested = new Map<string, Map<string, { mode: TreeEntryMode; sha: string } | null>>();
    for (const [path, change] of changes) {
      const slash = path.indexOf("/");
      if (slash < 0) {
        const existing = entries.get(path);
        if (change === null) {
          if (!existing || existing.type === "tree") {
            throw new GitTreeError(`The path ${prefix}${path} does not exist`, `${prefix}${path}`);
          }
          entries.delete(path);
        } else {
          if (existing?.type === "tree" && change.mode !== "40000") {
            throw new GitTreeError(`The path ${prefix}${path} is a directory`, `${prefix}${path}`);
          }
          const type = change.mode === "40000" ? "tree" : change.mode === "160000" ? "commit" : "blob";
          entries.set(path, { name: path, mode: change.mode, sha: change.sha, type });
        }
        continue;
      }
      const head = path.slice(0, slash);
      const group = nested.get(head) ?? new Map<string, { mode: TreeEntryMode; sha: string } | null>();
      group.set(path.slice(slash + 1), change);
      nested.set(head, group);
    }
    for (const [name, group] of nested) {
      const existing = entries.get(name);
      if (existing && existing.type !== "tree") {
        throw new GitTreeError(`The path ${prefix}${name} is a file, not a directory`, `${prefix}${name}`);
      }
      const sha = await this.applyToTree(existing?.sha ?? null, group, `${prefix}${name}/`);
      const subtree = (await this.readTree(sha)) ?? [];
      // Git stores no empty trees: a directory whose last file was deleted disappears.
      if (subtree.length === 0) entries.delete(name);
      else entries.set(name, { name, mode: "40000", type: "tree", sha });
    }
    return this.writeTreeEntries([...entries.values()]);
  }

  async writeCommit(commit: {
    tree: string;
    parents: readonly string[];
    message: string;
    author: GitIdentity;
    committer: GitIdentity;
  }): Promise<string> {
    const lines = [`tree ${commit.tree}`, ...commit.parents.map((parent) => `parent ${parent}`)];
    lines.push(`author ${identityLine(commit.author)}`, `committer ${identityLine(commit.committer)}`);
    const message = commit.message.endsWith("\n") ? commit.message : `${commit.message}\n`;
    return this.writeObject("commit", Buffer.from(`${lines.join("\n")}\n\n${message}`));
  }

  /** Builds a commit of `files` on top of `parent` (null: a root commit). */
  async commitFiles(options: {
    parent: string | null;
    files: Readonly<Record<string, FileChange>> | ReadonlyMap<string, FileChange>;
    message: string;
    author: GitIdentity;
    committer?: GitIdentity;
  }): Promise<string> {
    const parentCommit = options.parent ? await this.readCommit(options.parent) : null;
    if (options.parent && !parentCommit) throw new Error(`github-sim: no commit ${options.parent}`);
    const changes = options.files instanceof Map ? options.files : new Map(Object.entries(options.files));
    const tree = await this.buildTree(parentCommit?.tree ?? null, changes);
    return this.writeCommit({
      tree,
      parents: options.parent ? [options.parent] : [],
      message: options.message,
      author: options.author,
      committer: options.committer ?? options.author,
    });
  }

  /** Full ref name → sha, for refs under `prefix` ("refs/heads/", "refs/"). */
  async listRefs(prefix = "refs/"): Promise<Map<string, string>> {
    const { stdout } = await runGit(this.gitDir, ["for-each-ref", "--format=%(objectname) %(refname)", prefix]);
    const refs = new Map<string, string>();
    for (const line of stdout.split("\n")) {
      const space = line.indexOf(" ");
      if (space > 0) refs.set(line.slice(space + 1), line.slice(0, space));
    }
    return refs;
  }

  async readRef(ref: string): Promise<string | null> {
    const { stdout, code } = await runGit(this.gitDir, ["rev-parse", "--verify", "--quiet", ref], [0, 1]);
    return code === 0 ? stdout.trim() : null;
  }

  /**
   * Compare-and-swap ref update, enforced by git: `expected` null means the ref must not exist.
   * Returns false when the ref did not hold the expected value.
   */
  async updateRef(ref: string, sha: string, expected: string | null): Promise<boolean> {
    const { code } = await runGit(this.gitDir, ["update-ref", ref, sha, expected ?? ZERO_SHA], [0, 1, 128]);
    return code === 0;
  }

  async forceRef(ref: string, sha: string): Promise<void> {
    await runGit(this.gitDir, ["update-ref", ref, sha]);
  }

  private cachedForShas<T>(kind: string, a: string, b: string, compute: () => Promise<T>): Promise<T> {
    if (!FULL_SHA.test(a) || !FULL_SHA.test(b)) return compute();
    const key = `${kind}:${a}:${b}`;
    let cached = this.pairCache.get(key) as Promise<T> | undefined;
    if (!cached) {
      cached = compute();
      this.pairCache.set(key, cached);
      cached.catch(() => this.pairCache.delete(key));
    }
    return cached;
  }

  mergeBase(a: string, b: string): Promise<string | null> {
    return this.cachedForShas("merge-base", a, b, async () => {
      const { stdout, code } = await runGit(this.gitDir, ["merge-base", a, b], [0, 1]);
      return code === 0 ? stdout.trim() : null;
    });
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const { code } = await runGit(this.gitDir, ["merge-base", "--is-ancestor", ancestor, descendant], [0, 1]);
    return code === 0;
  }

  /** Commits reachable from `head` but not from `base`, oldest first (what a PR or compare lists). */
  commitsBetween(base: string, head: string): Promise<string[]> {
    return this.cachedForShas("rev-list", base, head, async () => {
      const { stdout } = await runGit(this.gitDir, ["rev-list", "--reverse", "--topo-order", head, `^${base}`]);
      return stdout.split("\n").filter((line) => line.length > 0);
    });
  }

  /**
   * `git log` from `head`, newest first as git orders it: commit shas, optionally only those
   * touching `path` (git's default history simplification) and committed within [since, until].
   * Refs move, so this is never cached.
   */
  async log(head: string, options: { path?: string; since?: Date; until?: Date; skip: number; limit: number }): Promise<string[]> {
    const args = ["log", "--format=%H", `--skip=${String(options.skip)}`, `--max-count=${String(options.limit)}`];
    // Unix seconds: git's date parser misreads ISO 8601 with milliseconds. Commit dates are whole
    // seconds, so the bounds are widened to whole seconds without changing what they admit.
    if (options.since) args.push(`--since=@${String(Math.floor(options.since.getTime() / 1000))}`);
    if (options.until) args.push(`--until=@${String(Math.ceil(options.until.getTime() / 1000))}`);
    args.push(head, "--");
    // GitHub's path is a path, never pathspec magic.
    if (options.path) args.push(`:(literal)${options.path}`);
    const { stdout } = await runGit(this.gitDir, args);
    return stdout.split("\n").filter((line) => line.length > 0);
  }

  /** A tree-to-tree diff with rename detection, as GitHub shows in a pull request's files. */
  diff(base: string, head: string): Promise<DiffEntry[]> {
    return this.cachedForShas("diff", base, head, async () => {
      const common = ["diff-tree", "-r", "-z", "-M", "--no-commit-id"];
      const [raw, numstat] = await Promise.all([
        runGit(this.gitDir, [...common, "--raw", base, head]),
        runGit(this.gitDir, [...common, "--numstat", base, head]),
      ]);
      const counts = parseNumstat(numstat.stdout);
      return parseRaw(raw.stdout).map((entry, index) => ({ ...entry, ...(counts[index] ?? { additions: 0, deletions: 0 }) }));
    });
  }

  /** Three-way merge of two commits by git itself; null tree when it conflicts. */
  async mergeTrees(ours: string, theirs: string): Promise<string | null> {
    const { stdout, code } = await runGit(this.gitDir, ["merge-tree", "--write-tree", ours, theirs], [0, 1]);
    return code === 0 ? (stdout.split("\n")[0] ?? "").trim() : null;
  }
}

function parseRaw(output: string): Omit<DiffEntry, "additions" | "deletions">[] {
  const fields = output.split("\0");
  const entries: Omit<DiffEntry, "additions" | "deletions">[] = [];
  let index = 0;
  while (index < fields.length) {
    const meta = fields[index];
    if (!meta?.startsWith(":")) break;
    const [, oldMode = "", newMode = "", oldSha = "", newSha = "", statusCode = ""] =
      /^:(\d+) (\d+) ([0-9a-f]+) ([0-9a-f]+) ([A-Z])\d*$/.exec(meta) ?? [];
    const letter = statusCode;
    if (letter === "R" || letter === "C") {
      entries.push({
        status: "renamed",
        previousPath: fields[index + 1] ?? "",
        path: fields[index + 2] ?? "",
        oldSha,
        newSha,
      });
      index += 3;
      continue;
    }
    const path = fields[index + 1] ?? "";
    index += 2;
    const status =
      letter === "A" ? "added" : letter === "D" ? "removed" : letter === "T" || oldMode !== newMode ? "changed" : "modified";
    entries.push({
      status,
      path,
      previousPath: null,
      oldSha: letter === "A" ? null : oldSha,
      newSha: letter === "D" ? null : newSha,
    });
  }
  return entries;
}

function parseNumstat(output: string): { additions: number; deletions: number }[] {
  const fields = output.split("\0");
  const counts: { additions: number; deletions: number }[] = [];
  let index = 0;
  while (index < fields.length) {
    const field = fields[index] ?? "";
    if (field.length === 0) break;
    const [added = "0", deleted = "0", path = ""] = field.split("\t");
    // Binary files report "-"; GitHub counts them as zero lines.
    counts.push({ additions: added === "-" ? 0 : Number(added), deletions: deleted === "-" ? 0 : Number(deleted) });
    // A rename's numstat has an empty path followed by the old and new names as two fields.
    index += path === "" ? 3 : 1;
  }
  return counts;
}

/** Owns the temp directory that holds every simulated repository. */
export class GitStore {
  private readonly repositories = new Map<string, GitRepository>();

  constructor(readonly root: string) {}

  async init(owner: string, name: string, defaultBranch: string): Promise<GitRepository> {
    const gitDir = join(this.root, owner.toLowerCase(), `${name.toLowerCase()}.git`);
    await mkdir(gitDir, { recursive: true });
    await runGit(gitDir, ["init", "--quiet", "--bare", `--initial-branch=${defaultBranch}`]);
    // People who open the repository to look around can commit without configuring anything.
    await runGit(gitDir, ["config", "user.name", "GitHub Simulator"]);
    await runGit(gitDir, ["config", "user.email", "github-sim@example.invalid"]);
    // No background auto-gc: it races the removal of the simulator's directory (ENOTEMPTY).
    await runGit(gitDir, ["config", "gc.auto", "0"]);
    await runGit(gitDir, ["config", "maintenance.auto", "false"]);
    const repository = new GitRepository(gitDir);
    this.repositories.set(gitDir, repository);
    return repository;
  }

  async close(): Promise<void> {
    await Promise.all([...this.repositories.values()].map((repository) => repository.close()));
    this.repositories.clear();
  }
}
