import { CharterError } from "../errors.js";
import { gitOutput, splitNul } from "./run-git.js";

/**
 * Every path that differs between two commits, sorted as git sorts them. With --no-renames a
 * rename is a deletion plus an addition, so both the old and the new path are listed: an agent
 * moved out of its directory still counts as a change to that directory. -z keeps names with
 * newlines or quotes intact.
 */
export async function changedPaths(repoRoot: string, base: string, head: string): Promise<string[]> {
  for (const rev of [base, head]) {
    if (rev === "" || rev.startsWith("-") || /[\0\n\r]/.test(rev)) {
      throw new CharterError("USAGE", `${JSON.stringify(rev)} is not a revision`, { hint: "Pass a branch, tag or commit SHA." });
    }
  }
  const output = await gitOutput(repoRoot, ["diff", "--name-only", "-z", "--no-renames", "--no-relative", "--no-ext-diff", base, head, "--"]);
  return [...new Set(splitNul(output))];
}
