import type { ProbotOctokit } from "probot";
import { affectedAgentDirectories } from "../change/affected-agents.js";
import { governanceKind } from "../change/governance-changes.js";
import type { ExceptionBody } from "../evidence/record.js";
import { type AppendOutcome, appendRecords, type EvidenceTarget } from "./evidence-writer.js";

export interface PushedCommit {
  readonly id: string;
  readonly added?: readonly string[];
  readonly modified?: readonly string[];
  readonly removed?: readonly string[];
}

export interface DefaultBranchPush {
  readonly after: string;
  readonly pusher: string;
  readonly commits: readonly PushedCommit[];
}

/** Paths whose change needs an approved pull request: agents and the governance files. */
export function isGoverned(path: string): boolean {
  return path.startsWith("agents/") || governanceKind(path) !== undefined;
}

/**
 * Finds commits pushed to the default branch that change governed paths without having come
 * from a merged pull request, and records them as a direct-push exception with an issue to the
 * owners. Commits that arrived through a merged pull request are that pull request's to record.
 *
 * Requests: one lookup of associated pull requests per governed commit in the push, then (only
 * when there is an exception) one issue and one append.
 */
export async function recordDirectPush(octokit: ProbotOctokit, target: EvidenceTarget, push: DefaultBranchPush, now: () => Date): Promise<AppendOutcome | undefined> {
  const bypassing: PushedCommit[] = [];
  for (const commit of push.commits) {
    const paths = [...(commit.added ?? []), ...(commit.modified ?? []), ...(commit.removed ?? [])];
    if (!paths.some(isGoverned)) continue;
    const { data: pulls } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner: target.owner, repo: target.repo, commit_sha: commit.id, per_page: 100 });
    if (pulls.some((pr) => pr.merged_at !== null)) continue;
    bypassing.push(commit);
  }
  if (bypassing.length === 0) return undefined;

  const paths = bypassing.flatMap((c) => [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])]).filter(isGoverned);
  const agents = affectedAgentDirectories(paths).map((dir) => dir.slice(dir.lastIndexOf("/") + 1));
  const shas = bypassing.map((c) => c.id);
  const reason = `${push.pusher} pushed ${shas.length} commit${shas.length === 1 ? "" : "s"} changing ${agents.length > 0 ? `agents (${agents.join(", ")})` : "governance files"} directly to the default branch, without a pull request`;
  const { data: issue } = await octokit.rest.issues.create({
    owner: target.owner,
    repo: target.repo,
    title: `Exception: governed files changed by a direct push (${push.after.slice(0, 12)})`,
    body: [
      `<!-- charter:exception direct-push after=${push.after} -->`,
      `**${reason}.**`,
      "",
      `Commits: ${shas.map((s) => `\`${s}\``).join(", ")}.`,
      `Files: ${[...new Set(paths)].map((p) => `\`${p}\``).join(", ")}.`,
      "",
      "Review the change after the fact and revert it if it should not stand; to prevent this, protect the default branch so that changes arrive through pull requests with the Charter check required. The exception is recorded in the evidence ledger.",
    ].join("\n"),
  });
  const clock = (): string => now().toISOString();
  const body: ExceptionBody = {
    kind: "direct-push",
    repository: { id: target.repositoryId, fullName: `${target.owner}/${target.repo}` },
    commits: shas,
    pullRequest: null,
    reason: `${reason}. Provisioning of the affected agents is held: credentials follow only approved changes.`,
    agents,
    issue: issue.number,
  };
  return appendRecords(octokit, target, {
    idempotencyKey: `github/${target.repositoryId}/push/${push.after}`,
    records: [() => ({ kind: "exception", body, observedAt: clock() })],
    observedAt: clock,
    message: (seq) => `Evidence ${seq}: direct push ${push.after.slice(0, 12)} to ${target.owner}/${target.repo}`,
  });
}
