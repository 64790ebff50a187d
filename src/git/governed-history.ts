import { GOVERNED_PATHSPECS } from "../change/governed-paths.js";
import { isCharterError } from "../errors.js";
import type { GovernedCommit } from "../evidence/completeness.js";
import { resolveCommit } from "./commit-reader.js";
import { gitOutput, runGit } from "./run-git.js";


/**
 * The default branch's first-parent history after `since` (exclusive), oldest first, keeping
 * only commits that changed governed paths relative to their first parent: a merge commit counts
 * for what its pull request brought in.
 */
export async function governedHistory(repoRoot: string, branch: string, since: string): Promise<GovernedCommit[]> {
  const head = await resolveCommit(repoRoot, branch);
  const output = await gitOutput(repoRoot, ["log", "--first-parent", "-m", "--reverse", "--format=%x00%H", "--name-only", `${since}..${head}`, "--", ...GOVERNED_PATHSPECS]);
  const commits: GovernedCommit[] = [];
  for (const chunk of output.toString("utf8").split("\0").slice(1)) {
    const [sha = "", ...paths] = chunk.split("\n").filter((line) => line.trim() !== "");
    if (sha) commits.push({ sha, paths });
  }
  return commits;
}

/** The default branch of a clone: origin/HEAD when known, else main or master. */
export async function defaultBranch(repoRoot: string): Promise<string | null> {
  const symbolic = await runGit(repoRoot, ["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"]);
  if (symbolic.code === 0) return symbolic.stdout.toString("utf8").trim().replace(/^refs\/remotes\//, "");
  // A bare clone's HEAD is the remote's default branch (in a work tree it is only what is checked out).
  const bare = await runGit(repoRoot, ["rev-parse", "--is-bare-repository"]);
  if (bare.stdout.toString("utf8").trim() === "true") {
    const head = await runGit(repoRoot, ["symbolic-ref", "--quiet", "HEAD"]);
    if (head.code === 0) return head.stdout.toString("utf8").trim().replace(/^refs\/heads\//, "");
  }
  for (const candidate of ["origin/main", "main", "origin/master", "master"]) {
    try {
      await resolveCommit(repoRoot, candidate);
      return candidate;
    } catch (error) {
      if (!isCharterError(error)) throw error;
    }
  }
  return null;
}

/** The first parent of a commit, or null for a root commit. */
export async function firstParent(repoRoot: string, commit: string): Promise<string | null> {
  const result = await runGit(repoRoot, ["rev-parse", "--verify", "--quiet", `${commit}^1`]);
  return result.code === 0 ? result.stdout.toString("utf8").trim() : null;
}

/** The default branch's first-parent commits after `since` that changed one path, oldest first. */
export async function commitsChanging(repoRoot: string, branch: string, since: string, path: string): Promise<string[]> {
  const head = await resolveCommit(repoRoot, branch);
  const output = await gitOutput(repoRoot, ["log", "--first-parent", "-m", "--reverse", "--format=%H", `${since}..${head}`, "--", path]);
  return output.toString("utf8").split("\n").filter((line) => /^[0-9a-f]{40,64}$/.test(line));
}

/** A file's bytes at a commit, or null when the commit does not have it. */
export async function fileAt(repoRoot: string, commit: string, path: string): Promise<Uint8Array | null> {
  const result = await runGit(repoRoot, ["cat-file", "blob", `${commit}:${path}`]);
  return result.code === 0 ? Uint8Array.from(result.stdout) : null;
}
