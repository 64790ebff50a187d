import { spawn } from "node:child_process";
import { CharterError } from "../errors.js";
import { CatFileBatch } from "./cat-file-batch.js";
import { firstLine, gitEnvironment } from "./run-git.js";

export type TreeItem =
  | { readonly kind: "file"; readonly path: string; readonly bytes: Uint8Array }
  /** A symlink, submodule or anything but a regular file: reported, never read. */
  | { readonly kind: "unexpected"; readonly path: string };

// Reads asked of git cat-file and not yet handed on: enough to keep git busy while the caller works.
const WINDOW = 256;
// A full window is drained to this before refilling, so reads are asked for (and written to git)
// in runs of a hundred or so rather than one at a time.
const REFILL_AT = WINDOW / 2;

/**
 * Every file under the prefixes of one commit, in git's path order, read as it is listed: one
 * `git ls-tree -r` streams the listing and one `git cat-file --batch` the contents, with at most
 * WINDOW reads in flight, so a million files cost the memory of a few hundred. The listing is
 * paused while the window is full; stopping early ends both processes.
 */
export async function* streamTreeFiles(repoRoot: string, commit: string, prefixes: readonly string[]): AsyncGenerator<TreeItem> {
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
  const window: { path: string; read: Promise<Buffer | null> | null }[] = [];
  const take = async (): Promise<TreeItem> => {
    const next = window.shift();
    if (!next) throw new CharterError("INTERNAL", "tree stream window is empty");
    if (next.read === null) return { kind: "unexpected", path: next.path };
    const bytes = await next.read;
    if (bytes === null) throw new CharterError("IO", `git cannot read ${next.path} at ${commit}`, { hint: "The clone is missing objects; fetch the branch again." });
    return { kind: "file", path: next.path, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  };
  try {
    let rest = Buffer.alloc(0);
    for await (const chunk of listing.stdout as AsyncIterable<Buffer>) {
      let data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
      for (let nul = data.indexOf(0); nul >= 0; nul = data.indexOf(0)) {
        window.push(entry(data.subarray(0, nul).toString("utf8"), batch));
        data = data.subarray(nul + 1);
        if (window.length >= WINDOW) while (window.length > REFILL_AT) yield await take();
      }
      rest = Buffer.from(data);
    }
    const code = await exited;
    if (code !== 0) throw new CharterError("IO", `git ls-tree failed: ${firstLine(stderr) || `exit ${String(code)}`}`);
    while (window.length > 0) yield await take();
  } finally {
    if (listing.exitCode === null) listing.kill();
    // Reads still in flight when the caller stopped early are answered or fail with the process; nobody waits for them.
    for (const w of window) w.read?.catch(() => undefined);
    await batch.close();
  }
}

/** "<mode> SP <type> SP <object> TAB <path>": a regular file is read, anything else reported. */
function entry(line: string, batch: CatFileBatch): { path: string; read: Promise<Buffer | null> | null } {
  const tab = line.indexOf("\t");
  const [mode, type, object] = line.slice(0, tab).split(" ");
  const path = line.slice(tab + 1);
  if (type !== "blob" || (mode !== "100644" && mode !== "100755") || !object) return { path, read: null };
  return { path, read: batch.read(object) };
}
