import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { CharterError } from "../errors.js";

/**
 * Where the auditor's trust file lives: --trust-file, else CHARTER_TRUST_FILE, else
 * $XDG_CONFIG_HOME/charter/known-logs, else ~/.config/charter/known-logs. It is the auditor's,
 * never the repository's: nothing on the evidence branch can change it.
 */
export function trustFilePath(option: string | undefined, cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  if (option !== undefined) return resolve(cwd, option);
  const explicit = env["CHARTER_TRUST_FILE"];
  if (explicit) return resolve(cwd, explicit);
  const config = env["XDG_CONFIG_HOME"] || join(homedir(), ".config");
  return join(config, "charter", "known-logs");
}

export async function readTrustFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw new CharterError("IO", `cannot read the trust file ${path}: ${(error as Error).message}`, { hint: "Check its permissions, or name another with --trust-file." });
  }
}

/** Replaces the file in one rename, so a crash leaves the old file or the new one, never half of one. */
export async function writeTrustFile(path: string, text: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const temporary = `${path}.${String(process.pid)}.tmp`;
    await writeFile(temporary, text, { mode: 0o600 });
    await rename(temporary, path);
  } catch (error) {
    throw new CharterError("IO", `cannot write the trust file ${path}: ${(error as Error).message}`, { hint: "Check its directory's permissions, or name another with --trust-file." });
  }
}
