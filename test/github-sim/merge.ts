// Merging a pull request the three ways GitHub offers, with GitHub's refusals. The base branch
// moves by compare-and-swap, so a merge racing another push fails like it does on GitHub.

import type { SimCore } from "./core.js";
import type { FileChange } from "./git-store.js";
import { HttpError } from "./http.js";
import type { Account, PullRequest } from "./state.js";
import { pullRequestPayload } from "./webhook-payloads.js";

export type MergeMethod = "merge" | "squash" | "rebase";

export interface MergeOptions {
  readonly method?: MergeMethod;
  /** The head sha the caller expects; GitHub answers 409 when the head moved. */
  readonly sha?: string;
  readonly commitTitle?: string;
  readonly commitMessage?: string;
}

/** Replays each pull request commit onto `onto`, applying its file changes; null on conflict. */
async function rebaseCommits(core: SimCore, pull: PullRequest, onto: string, commits: readonly string[]): Promise<string | null> {
  const git = core.git(pull.issue.repo);
  let tip = onto;
  for (const sha of commits) {
    const commit = await git.readCommit(sha);
    const parent = commit ? await git.readCommit(commit.parents[0] ?? "") : null;
    const tipCommit = await git.readCommit(tip);
    if (!commit || !parent || !tipCommit) return null;
    const changes = new Map<string, FileChange>();
    for (const entry of await git.diff(parent.sha, commit.sha)) {
      const touched = entry.previousPath ? [entry.previousPath, entry.path] : [entry.path];
      for (const path of touched) {
        // A file the base changed differently since the fork is a conflict GitHub would refuse.
        const [onBase, onParent, wanted] = await Promise.all([
          git.entryAt(tipCommit.tree, path),
          git.entryAt(parent.tree, path),
          git.entryAt(commit.tree, path),
        ]);
        const same = (a: typeof onBase, b: typeof onBase) => a?.sha === b?.sha && a?.mode === b?.mode;
        if (!same(onBase, onParent) && !same(onBase, wanted)) return null;
        changes.set(path, wanted ? { mode: wanted.mode, sha: wanted.sha } : null);
      }
    }
    for (const [path, change] of changes) {
      if (change === null && !(await git.entryAt(tipCommit.tree, path))) changes.delete(path);
    }
    const tree = await git.buildTree(tipCommit.tree, changes);
    tip = await git.writeCommit({
      tree,
      parents: [tip],
      message: commit.message,
      author: commit.author,
      committer: core.githubIdentity(),
    });
  }
  return tip;
}

/** Merges `pull` into its base branch. Returns the sha the base branch now points at. */
export async function mergePullRequest(core: SimCore, pull: PullRequest, by: Account, options: MergeOptions = {}) {
  const repo = pull.issue.repo;
  const git = core.git(repo);
  if (pull.merged || pull.issue.state !== "open") throw new HttpError(405, "Pull Request is not mergeable");
  if (pull.draft) throw new HttpError(405, "Pull Request is still a draft");
  if (options.sha !== undefined && options.sha !== pull.headSha) {
    throw new HttpError(409, "Head branch was modified. Review and try the merge again.");
  }
  const method = options.method ?? "merge";
  return core.lock(repo, async () => {
    const baseTip = await git.readRef(`refs/heads/${pull.baseRef}`);
    if (!baseTip) throw new HttpError(405, "Base branch was deleted");
    const number = pull.issue.number;
    const commits = await git.commitsBetween(baseTip, pull.headSha);
    let result: string | null;
    if (method === "rebase") {
      result = await rebaseCommits(core, pull, baseTip, commits);
    } else {
      const tree = await git.mergeTrees(baseTip, pull.headSha);
      if (tree === null) {
        result = null;
      } else {
        const title =
          options.commitTitle ??
          (method === "merge"
            ? `Merge pull request #${number} from ${repo.owner.login}/${pull.headRef}`
            : `${pull.issue.title} (#${number})`);
        const bodies = await Promise.all(commits.map(async (sha) => (await git.readCommit(sha))?.message.trim() ?? ""));
        const body = options.commitMessage ?? (method === "merge" ? pull.issue.title : bodies.map((m) => `* ${m}`).join("\n\n"));
        result = await git.writeCommit({
          tree,
          parents: method === "merge" ? [baseTip, pull.headSha] : [baseTip],
          message: body ? `${title}\n\n${body}` : title,
          author: core.identity(by),
          committer: core.githubIdentity(),
        });
      }
    }
    if (result === null) throw new HttpError(405, "Pull Request is not mergeable");
    if (!(await git.updateRef(`refs/heads/${pull.baseRef}`, result, baseTip))) {
      throw new HttpError(409, "Base branch was modified. Review and try the merge again.");
    }
    const now = core.state.now();
    pull.baseSha = baseTip;
    pull.merged = { at: now, by, commitSha: result };
    pull.issue.state = "closed";
    pull.issue.closedAt = now;
    pull.issue.closedBy = by;
    pull.issue.updatedAt = now;
    return { sha: result, baseBefore: baseTip, message: "Pull Request successfully merged" };
  });
}

/** What GitHub sends after a merge: a push to the base branch and pull_request.closed with merged: true. */
export async function announceMerge(
  core: SimCore,
  pull: PullRequest,
  merge: { sha: string; baseBefore: string },
  by: Account,
) {
  const pushes = await core.branchMoved(pull.issue.repo, pull.baseRef, merge.baseBefore, merge.sha, by);
  const closed = await core.deliver("pull_request", await pullRequestPayload(core, pull, "closed", by));
  return { closed, pushes };
}
