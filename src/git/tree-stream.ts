import { spawn } from "node:child_process";
import { CharterError } from "../errors.js";
import { CatFileBatch } from "./cat-file-batch.js";
import { firstLine, gitEnvironment } from "./run-git.js";

export type TreeItem =
  | { readonly kind: "file"; readonly path: string; readonly bytes: Uint8Array }
  /** A symlink, submodule or anything but a regular file: reported, never read. */
  | { readonly kind: "unexpected"; readonly path: string };

// Files per read asked of git cat-file (one write, one promise), and reads in flight: enough to
// keep git busy while the caller works through the oldest, and a few thousand records at most.
const BATCH = 256;
const IN_FLIGHT = 8;
// Files handed on at a time, with a turn of the event loop between: git can only run a pipe's
// 64 KiB (some 25 records) ahead of a reader that is not reading, so a reader busy with a whole
// batch at once left git waiting, then waited for git, instead of both working at once.
const HAND_ON = 16;

interface Listed {
  readonly path: string;
  /** The blob to read, or null for anything but a regular file. */
  readonly object: string | null;
}

interface InFlight {
  readonly listed: readonly Listed[];
  readonly read: Promise<(Buffer | null)[]>;
}

/**
 * Every file under the prefixes of one commit, in git's path order, read as it is listed: one
 * `git ls-tree -r` streams the listing and one `git cat-file --batch` the contents, with at most
 * BATCH × IN_FLIGHT reads in flight, so a million files cost the memory of a few thousand. The
 * listing is paused while the reads in flight are enough; stopping early ends both processes.
 */
export async function* streamTreeFiles(repoRoot: string, commit: string, prefixes: readonly string[]): AsyncGenerator<TreeItem> {
  for await (const items of streamTreeFileBatches(repoRoot, commit, prefixes)) yield* items;
}

/**
 * streamTreeFiles a few files at a time, for a reader of every file of a large tree: handing
 * them on one at a time cost more promises than reading them.
 */
export async function* streamTreeFileBatches(repoRoot: string, commit: string, prefixes: readonly string[]): AsyncGenerator<readonly TreeItem[]> {
  const listing = spawn("git", ["ls-tree", "-r", "-z", "--full-tree", commit, "--", ...prefixes], { cwd: repoRoot, env: gitEnvironment(), stdio: ["ignore", "pipe", "pipe"], windowsHide: true });
  let stderr = "";
  listing.stderr.on("data", (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    listing.on("error", (error: NodeJS.ErrnoException) => {
      reject(error.code === "ENOENT" ? new CharterError("IO", "git is not installed or not on PATH", { hint: "Install git; charter verify reads the branch with it.", cause: error }) : error);
    });
    listing.on("close", (code) => {
      resolve(code);
    });
  });
  // Awaited once the listing is read; a failure to start must not go unhandled meanwhile.
  exited.catch(() => undefined);
  const batch = new CatFileBatch(repoRoot);
  const inFlight: InFlight[] = [];
  let listed: Listed[] = [];
  const send = (): void => {
    const objects: string[] = [];
    for (const l of listed) if (l.object !== null) objects.push(l.object);
    inFlight.push({ listed, read: batch.readMany(objects) });
    listed = [];
  };
  const take = async (): Promise<TreeItem[]> => {
    const next = inFlight.shift();
    if (!next) throw new CharterError("INTERNAL", "tree stream has no reads in flight");
    const answers = await next.read;
    const items: TreeItem[] = [];
    let a = 0;
    for (const { path, object } of next.listed) {
      if (object === null) {
        items.push({ kind: "unexpected", path });
        continue;
      }
      const bytes = answers[a++];
      if (!bytes) throw new CharterError("IO", `git cannot read ${path} at ${commit}`, { hint: "The clone is missing objects; fetch the branch again." });
      items.push({ kind: "file", path, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
    }
    return items;
  };
  try {
    let rest = Buffer.alloc(0);
    for await (const chunk of listing.stdout as AsyncIterable<Buffer>) {
      const data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
      let from = 0;
      for (let nul = data.indexOf(0, from); nul >= 0; nul = data.indexOf(0, from)) {
        listed.push(entry(data.toString("utf8", from, nul)));
        from = nul + 1;
        if (listed.length >= BATCH) {
          send();
          if (inFlight.length >= IN_FLIGHT) yield* handOn(await take());
        }
      }
      rest = Buffer.from(data.subarray(from));
    }
    const code = await exited;
    if (code !== 0) throw new CharterError("IO", `git ls-tree failed: ${firstLine(stderr) || `exit ${String(code)}`}`);
    if (listed.length > 0) send();
    while (inFlight.length > 0) yield* handOn(await take());
  } finally {
    if (listing.exitCode === null) listing.kill();
    // Reads still in flight when the caller stopped early are answered or fail with the process; nobody waits for them.
    for (const f of inFlight) f.read.catch(() => undefined);
    await batch.close();
  }
}

/** The items in runs of HAND_ON, letting the event loop read git's output between runs. */
async function* handOn(items: readonly TreeItem[]): AsyncGenerator<readonly TreeItem[]> {
  for (let i = 0; i < items.length; i += HAND_ON) {
    if (i > 0) {
      await new Promise((resolve) => {
        setImmediate(resolve);
      });
    }
    yield items.slice(i, i + HAND_ON);
  }
}

/** "<mode> SP <type> SP <object> TAB <path>": a regular file is read, anything else reported. */
function entry(line: string): Listed {
  const tab = line.indexOf("\t");
  const [mode, type, object] = line.slice(0, tab).split(" ");
  const path = line.slice(tab + 1);
  if (type !== "blob" || (mode !== "100644" && mode !== "100755") || !object) return { path, object: null };
  return { path, object };
}
