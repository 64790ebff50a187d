// Which pull requests a commit belongs to, as GitHub answers both in REST
// (repos/list-pull-requests-associated-with-commit) and in GraphQL (Commit.associatedPullRequests).

import type { SimCore } from "./core.js";
import type { PullRequest, Repository } from "./state.js";

/**
 * Whether `sha` belongs to `pull`: one of its own commits, or for a merged pull request one of
 * the commits the merge put on the base branch (the merge commit, the squash commit or the
 * rebased copies), so a push event's commit leads back to its pull request.
 */
async function pullContains(core: SimCore, pull: PullRequest, sha: string): Promise<boolean> {
  const git = core.git(pull.issue.repo);
  await core.refreshBase(pull);
  if ((await git.commitsBetween(pull.baseSha, pull.headSha)).includes(sha)) return true;
  return pull.merged !== null && (await git.commitsBetween(pull.baseSha, pull.merged.commitSha)).includes(sha);
}

/**
 * GitHub: "Lists the merged pull request that introduced the commit to the repository. If the
 * commit is not present in the default branch, it will return merged and open pull requests
 * associated with the commit." Closed, unmerged pull requests are never listed. GitHub documents
 * no order; this lists by number. `sha` must be a full commit sha of the repository.
 */
export async function associatedPullRequests(core: SimCore, repo: Repository, sha: string): Promise<PullRequest[]> {
  const git = core.git(repo);
  const defaultHead = await core.branchHead(repo, repo.defaultBranch);
  const onDefault = defaultHead !== null && (await git.isAncestor(sha, defaultHead));
  const candidates = core.state
    .pullRequestsOf(repo)
    .filter((pull) => pull.merged !== null || (!onDefault && pull.issue.state === "open"))
    .sort((a, b) => a.issue.number - b.issue.number);
  const associated: PullRequest[] = [];
  for (const pull of candidates) {
    if (await pullContains(core, pull, sha)) associated.push(pull);
  }
  return associated;
}
