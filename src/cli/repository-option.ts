import { statSync } from "node:fs";
import { resolve } from "node:path";
import { CharterError } from "../errors.js";
import { findRepositoryRoot } from "../fs/find-manifests.js";

type Flag = "--root" | "--repo";

/**
 * The directory a command works in: the one its --root or --repo names (relative to the working
 * directory), which must exist, or else the nearest directory above the working directory that
 * holds .git (the working directory itself when there is none). Reports a mistyped path as such,
 * never as whatever fails first when it is used.
 */
export function workingRoot(cwd: string, option: string | undefined, flag: Flag): string {
  if (option === undefined) return findRepositoryRoot(cwd);
  const path = resolve(cwd, option);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    throw new CharterError("NOT_FOUND", `${flag} ${option}: no such directory`, { hint: `Check the path; ${flag} names the directory of a clone.` });
  }
  if (!isDirectory) throw new CharterError("USAGE", `${flag} ${option} is not a directory`, { hint: `${flag} names the directory of a clone, not a file in it.` });
  return path;
}

/**
 * A working root that is a git repository (a clone, a work tree or a bare repository), for the
 * commands that read commits. Outside one, says so, naming the directory and the option.
 */
export async function gitRepository(cwd: string, option: string | undefined, flag: Flag): Promise<string> {
  const root = workingRoot(cwd, option, flag);
  // Imported here, not at the top: validate uses workingRoot alone and should not load
  // node:child_process to check a file.
  const { runGit } = await import("../git/run-git.js");
  const result = await runGit(root, ["rev-parse", "--git-dir"]);
  if (result.code !== 0) {
    const where = option === undefined ? `${root} is not inside a git repository` : `${flag} ${option} is not a git repository`;
    throw new CharterError("NOT_FOUND", where, { hint: option === undefined ? `Run charter inside a clone, or pass ${flag} DIR.` : `Pass the directory of a clone (git clone URL DIR).` });
  }
  return root;
}
