import type { ProbotOctokit } from "probot";
import { affectedAgentDirectories } from "../../change/affected-agents.js";
import { isGoverned } from "../../change/governed-paths.js";
import type { ExceptionBody } from "../../evidence/record.js";
import { readBranchHead } from "../api/branch-writer.js";
import { type AppendOutcome, appendRecords, EVIDENCE_BRANCH, type EvidenceTarget, markersAt } from "../merge/evidence-writer.js";

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

/**
 * A commit on the default branch that changed governed paths without a merged pull request,
 * found by the reconciler in the branch's history rather than in a push event.
 */
export interface UnrecordedCommit {
  readonly sha: string;
  /** Its first parent, whose tree it is compared with; null for a root commit. */
  readonly parent: string | null;
  /** The commit's author as git records it: who pushed it is not known without the push event. */
  readonly author: string;
  readonly committedAt: string;
  /** The governed paths (directories or files) under which the branch's history listed it. */
  readonly governedRoots: readonly string[];
}


/**
 * The marker of one commit recorded in a direct-push exception. Every such exception marks each
 * of its commits, whichever way it was found, so that a push recorded from its webhook is not
 * recorded again by the reconciler, nor a backfilled commit again by a late webhook.
 */
export function directPushKey(repositoryId: string, sha: string): string {
  return `github/${repositoryId}/direct-push/${sha.toLowerCase()}`;
}

/**
 * Finds commits pushed to the default branch that change governed paths without having come
 * from a merged pull request, and records them as a direct-push exception with an issue to the
 * owners. Commits that arrived through a merged pull request are that pull request's to record.
 *
 * Requests: one lookup of associated pull requests per governed commit in the push, then (only
 * when there is an exception) the evidence branch's head and one query for the commits' markers,
 * one issue and one append.
 */
export async function recordDirectPush(octokit: ProbotOctokit, target: EvidenceTarget, push: DefaultBranchPush, now: () => Date): Promise<AppendOutcome | undefined> {
  const bypassing: { sha: string; paths: string[] }[] = [];
  for (const commit of push.commits) {
    const paths = [...(commit.added ?? []), ...(commit.modified ?? []), ...(commit.removed ?? [])].filter(isGoverned);
    if (paths.length === 0) continue;
    const { data: pulls } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner: target.owner, repo: target.repo, commit_sha: commit.id, per_page: 100 });
    if (pulls.some((pr) => pr.merged_at !== null)) continue;
    bypassing.push({ sha: commit.id, paths });
  }
  if (bypassing.length === 0) return undefined;
  return recordException(octokit, target, now, {
    idempotencyKey: `github/${target.repositoryId}/push/${push.after}`,
    commits: bypassing,
    tag: `after=${push.after}`,
    shortName: push.after.slice(0, 12),
    reason: (commits, changed) => `${push.pusher} pushed ${commits.length} commit${commits.length === 1 ? "" : "s"} changing ${changed} directly to the default branch, without a pull request`,
    foundBy: null,
  });
}

/**
 * Records a commit the reconciler found on the default branch, changing governed paths without
 * a merged pull request and recorded by no exception (its push event never arrived, or arrived
 * while Charter was down): the same exception and issue a push event would have produced, for
 * this one commit, saying it was found by reconciliation.
 *
 * Requests: 1 compare with its parent for the files it changed, then as for a push: the head,
 * one query for its marker, one issue and one append (3 requests).
 */
export async function backfillDirectPush(octokit: ProbotOctokit, target: EvidenceTarget, commit: UnrecordedCommit, now: () => Date): Promise<AppendOutcome> {
  let paths: string[] = [];
  if (commit.parent !== null) {
    // GitHub lists up to 300 files; a commit changing more is still recorded, by its governed roots.
    const { data } = await octokit.rest.repos.compareCommits({ owner: target.owner, repo: target.repo, base: commit.parent, head: commit.sha });
    paths = (data.files ?? []).flatMap((f) => (f.previous_filename ? [f.previous_filename, f.filename] : [f.filename])).filter(isGoverned);
  }
  if (paths.length === 0) paths = [...commit.governedRoots];
  return recordException(octokit, target, now, {
    idempotencyKey: directPushKey(target.repositoryId, commit.sha),
    commits: [{ sha: commit.sha, paths }],
    tag: `commit=${commit.sha}`,
    shortName: commit.sha.slice(0, 12),
    reason: (_, changed) => `${commit.author} committed ${commit.sha.slice(0, 12)} changing ${changed} directly on the default branch, without a pull request; found by reconciliation, as no push event recorded it`,
    foundBy: "reconciliation",
  });
}

interface DirectPushException {
  readonly idempotencyKey: string;
  /** Each commit with the governed paths it changed. */
  readonly commits: readonly { readonly sha: string; readonly paths: readonly string[] }[];
  /** Names the exception in its issue's hidden marker. */
  readonly tag: string;
  readonly shortName: string;
  readonly reason: (commits: readonly string[], changed: string) => string;
  readonly foundBy: "reconciliation" | null;
}

/**
 * The exception both paths share. Commits an exception already marks are left out first, so
 * that neither a redelivered push nor a reconciliation racing a late webhook opens a second
 * issue; the append's own marker check settles what still races between replicas.
 */
async function recordException(octokit: ProbotOctokit, target: EvidenceTarget, now: () => Date, exception: DirectPushException): Promise<AppendOutcome> {
  let requests = 1;
  const head = await readBranchHead(octokit, target.owner, target.repo, target.branch ?? EVIDENCE_BRANCH);
  let commits = exception.commits;
  if (head !== null) {
    const marked = await markersAt(octokit, target, head, commits.map((c) => directPushKey(target.repositoryId, c.sha)));
    requests++;
    commits = commits.filter((c) => !marked.has(directPushKey(target.repositoryId, c.sha)));
  }
  if (commits.length === 0) return { status: "duplicate", requests };

  const paths = [...new Set(commits.flatMap((c) => c.paths))];
  const agents = affectedAgentDirectories(paths).map((dir) => dir.slice(dir.lastIndexOf("/") + 1));
  const shas = commits.map((c) => c.sha);
  const reason = exception.reason(shas, agents.length > 0 ? `agents (${agents.join(", ")})` : "governance files");
  const { data: issue } = await octokit.rest.issues.create({
    owner: target.owner,
    repo: target.repo,
    title: `Exception: governed files changed by a direct push (${exception.shortName})`,
    body: [
      `<!-- charter:exception direct-push ${exception.tag} -->`,
      `**${reason}.**`,
      "",
      `Commits: ${shas.map((s) => `\`${s}\``).join(", ")}.`,
      `Files: ${paths.map((p) => `\`${p}\``).join(", ")}.`,
      "",
      ...(exception.foundBy === "reconciliation"
        ? ["Charter found this commit in the default branch's history: GitHub's push event for it never reached Charter, or arrived while Charter could not handle it.", ""]
        : []),
      "Review the change after the fact and revert it if it should not stand; to prevent this, protect the default branch so that changes arrive through pull requests with the Charter check required. The exception is recorded in the evidence ledger.",
    ].join("\n"),
  });
  requests++;
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
  const outcome = await appendRecords(octokit, target, {
    idempotencyKey: exception.idempotencyKey,
    alsoMarks: shas.map((sha) => directPushKey(target.repositoryId, sha)).filter((key) => key !== exception.idempotencyKey),
    records: [() => ({ kind: "exception", body, observedAt: clock() })],
    observedAt: clock,
    message: (seq) => `Evidence ${seq}: direct push ${exception.shortName} to ${target.owner}/${target.repo}${exception.foundBy === "reconciliation" ? " (found by reconciliation)" : ""}`,
  });
  return { ...outcome, requests: outcome.requests + requests };
}
