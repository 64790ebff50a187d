import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CharterError } from "../errors.js";
import { firstLine, runGit } from "./run-git.js";

/** Whether a --repo value names a remote (https, ssh, git or file URL, or scp-like user@host:path) rather than a directory. */
export function isRemoteSpec(spec: string): boolean {
  return /^(?:https?|ssh|git|file):\/\//.test(spec) || /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/.test(spec);
}

/**
 * Runs `fn` on a bare mirror of a remote repository in a temporary directory, removed
 * afterwards. A bare clone holds every branch as refs/heads/*, which is what verification needs:
 * the evidence branch and the default branch's full history. The URL is passed to git as one
 * argument after `--`, so it can never be read as an option.
 */
export async function withRemoteClone<T>(url: string, fn: (root: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "charter-clone-"));
  try {
    const target = join(dir, "repo.git");
    const result = await runGit(dir, ["clone", "--quiet", "--bare", "--", url, target]);
    if (result.code !== 0) {
      throw new CharterError("NOT_FOUND", `could not clone ${url}: ${firstLine(result.stderr) || "git failed"}`, {
        hint: "Check the address and your access to it, or clone it yourself and pass the directory with --repo.",
      });
    }
    return await fn(target);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
