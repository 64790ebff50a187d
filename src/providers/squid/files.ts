import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chown, open, readFile, rename, stat, unlink, utimes } from "node:fs/promises";
import { dirname, join } from "node:path";

/** A file's text, or undefined when it does not exist. */
export async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Writes next to the target, flushes, and renames over it: squid and its helper only ever read
 * a whole old or a whole new file. The file takes the directory's group and mode 0640, so that
 * squid (which reloads as its unprivileged user) can read it and other local users cannot.
 */
export async function writeAtomically(path: string, text: string, options: { readonly newMtime?: boolean } = {}): Promise<void> {
  const temporary = temporaryPath(path);
  await writeNew(temporary, text);
  try {
    if (options.newMtime === true) await bumpMtime(temporary, path);
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/**
 * basic_ncsa_auth re-reads its password file only when the file's modification time, in whole
 * seconds, changes: two writes within one second would leave the second unseen. Each write
 * therefore gets a modification time at least one second after the previous file's.
 */
async function bumpMtime(path: string, previous: string): Promise<void> {
  const before = await stat(previous).catch(() => undefined);
  const now = Math.floor(Date.now() / 1000);
  const seconds = before === undefined ? now : Math.max(now, Math.floor(before.mtimeMs / 1000) + 1);
  await utimes(path, seconds, seconds);
}

export function temporaryPath(path: string): string {
  return join(dirname(path), `.${randomBytes(6).toString("hex")}.charter-new`);
}

export async function writeNew(path: string, text: string): Promise<void> {
  const handle = await open(path, "wx", 0o640);
  try {
    await handle.writeFile(text);
    const dir = await stat(dirname(path));
    // Only root may give a file away; as the directory's owner the group already fits.
    await chown(path, dir.uid, dir.gid).catch(() => undefined);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface RunResult {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a short-lived program (squid -k …) to its end, collecting what it prints. */
export function runProgram(program: string, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.once("error", (error) => {
      clearTimeout(timer);
      resolve({ code: null, output: error.message });
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
