import type { Context } from "probot";
import { POLICY_PATH } from "../../change/governed-paths.js";
import type { ControlsStatus } from "../../evidence/site/site-state.js";
import { type ControlsObserver, type ControlsTarget, warnAboutControls } from "./controls.js";
import { backfillDirectPush, recordDirectPush, type UnrecordedCommit } from "../push/direct-push.js";
import { idempotencyKey } from "../../evidence/ledger.js";
import { EVIDENCE_BRANCH, evidenceTarget, findRecorded } from "./evidence-writer.js";
import { provisionChange, type ProvisioningEnvironment } from "./provision-merge.js";
import type { KeyedQueue } from "../ops/keyed-queue.js";
import { evidenceLane, pullRequestLane } from "../ops/lanes.js";
import type { IdentityCache } from "../../manifest/inventory-identities.js";
import { checkPullRequest, type PullRequestRef } from "../pull-request/pull-request-check.js";
import { recordMerge } from "./record-merge.js";
import { openRetroReview } from "./retro-review.js";

/** What every handler shares: configuration and the per-key queue that orders work. */
export interface HandlerEnvironment {
  readonly appId: number | undefined;
  readonly signingKey: string | undefined;
  readonly now: () => Date;
  readonly queue: KeyedQueue;
  readonly controls: ControlsObserver;
  readonly provisioning: ProvisioningEnvironment;
  /** Agent identities by manifest blob id, shared by every check this process makes. */
  readonly identities: IdentityCache;
}

/**
 * A merged pull request: re-read and re-evaluated (never the webhook's copy), its decision frozen
 * into the evidence ledger, and for an emergency change a retro-review issue.
 */
export async function handleMerged(context: Context<"pull_request.closed">, env: HandlerEnvironment): Promise<void> {
  const { repository, pull_request } = context.payload;
  const ref: PullRequestRef = { owner: repository.owner.login, repo: repository.name, number: pull_request.number };
  const report = await env.queue.run(pullRequestLane(ref), () => checkPullRequest(context.octokit, ref, env));
  const evaluation = report.evaluation;
  if (!evaluation) return;
  const signingKey = env.signingKey;
  if (signingKey && evaluation.changeSet.changes.length > 0) {
    const controls = await observeControlsSafely(context, env, { owner: ref.owner, repo: ref.repo, defaultBranch: repository.default_branch, evidenceBranch: EVIDENCE_BRANCH });
    const target = evidenceTarget(repository, signingKey);
    const mergeSha = report.pullRequest.merge_commit_sha;
    const assessment = evaluation.decision === "approved" && mergeSha ? report.assessment : undefined;
    // The record and the provisioning that follows it run as one turn of the repository's
    // evidence queue: drift detection, which takes the same turn, must never see an approved
    // change whose credentials have not been provisioned yet and report it as drift.
    const { outcome, provisioned } = await env.queue.run(evidenceLane(ref), async () => {
      const outcome = await recordMerge(context.octokit, target, report, env.now, controls);
      context.log.info({ delivery: context.id, pullRequest: ref.number, evidence: outcome }, "charter: merge recorded in the evidence ledger");
      if (assessment === undefined || !mergeSha) return { outcome, provisioned: undefined };
      const change = outcome.status === "appended" ? { seq: outcome.seq, sha256: outcome.sha256 } : await findRecorded(context.octokit, target, idempotencyKey(repository.id, ref.number, mergeSha));
      const provisioned =
        change === null
          ? undefined
          : await provisionChange(context.octokit, target, assessment, mergeSha, { seq: change.seq, sha256: change.sha256 }, env.provisioning, { changeJustAppended: outcome.status === "appended" });
      return { outcome, provisioned };
    });
    if (provisioned) context.log.info({ delivery: context.id, pullRequest: ref.number, evidence: provisioned, change: outcome.status }, "charter: approved manifests provisioned");
  }
  if (!evaluation.emergency.active) return;
  const pr = report.pullRequest;
  const issue = await openRetroReview(
    context.octokit,
    { ...ref, title: pr.title, mergedAt: pr.merged_at, mergedBy: pr.merged_by?.login ?? null, mergeSha: pr.merge_commit_sha },
    evaluation,
    report.owners,
    report.retroReviewDays,
  );
  context.log.info({ delivery: context.id, pullRequest: ref.number, issue }, "charter: retro-review issue opened for an emergency change");
}

/**
 * Whether the check is required and the evidence branch protected, for the branch's README, with
 * a warning issue when not. Reading them must never stop a merge from being recorded.
 */
async function observeControlsSafely(context: Context, env: HandlerEnvironment, target: ControlsTarget): Promise<ControlsStatus | undefined> {
  try {
    const { status, fresh } = await env.controls.observe(context.octokit, target);
    if (fresh) {
      const issue = await warnAboutControls(context.octokit, target, status);
      if (issue !== null) context.log.warn({ delivery: context.id, issue, controls: status }, "charter: controls around the evidence are off; warning issue opened");
    }
    return status;
  } catch (error) {
    context.log.warn({ delivery: context.id, err: error }, "charter: could not read the controls around the evidence");
    return undefined;
  }
}

/**
 * A push to a branch: governed files pushed to the default branch without a merged pull request
 * are recorded as an exception; a change to the policy re-evaluates every open pull request into
 * that branch, since the rules live on the base branch.
 */
export async function handlePush(context: Context<"push">, env: HandlerEnvironment): Promise<void> {
  const { repository, ref, commits } = context.payload;
  const owner = repository.owner?.login;
  if (!owner || !ref.startsWith("refs/heads/") || context.payload.deleted) return;
  const branch = ref.slice("refs/heads/".length);

  const signingKey = env.signingKey;
  if (signingKey && branch === repository.default_branch) {
    const outcome = await env.queue.run(evidenceLane({ owner, repo: repository.name }), () =>
      recordDirectPush(
        context.octokit,
        evidenceTarget({ ...repository, owner: { login: owner } }, signingKey),
        { after: context.payload.after, pusher: context.payload.pusher.name, commits },
        env.now,
      ),
    );
    if (outcome?.status === "appended") context.log.warn({ delivery: context.id, branch, evidence: outcome }, "charter: direct push to governed paths recorded as an exception");
  }

  if (!policyTouched(commits)) return;
  const open = await context.octokit.paginate(context.octokit.rest.pulls.list, { owner, repo: repository.name, state: "open", base: branch, per_page: 100 });
  context.log.info({ delivery: context.id, branch, pullRequests: open.length }, "charter: policy changed; re-evaluating open pull requests");
  for (const pr of open) {
    await env.queue.run(pullRequestLane({ owner, repo: repository.name, number: pr.number }), () => checkPullRequest(context.octokit, { owner, repo: repository.name, number: pr.number }, env));
  }
}

/** The job the reconciler stores for a direct push no exception records. */
export const DIRECT_PUSH_BACKFILL = "charter.direct-push-backfill";

export interface DirectPushBackfill {
  readonly repository: { readonly id: number; readonly name: string; readonly html_url: string; readonly owner: { readonly login: string } };
  readonly installation: { readonly id: number };
  readonly commit: UnrecordedCommit;
}

/**
 * A commit the reconciler found on the default branch, changing governed paths without a merged
 * pull request or an exception: recorded as the exception its lost push event would have given.
 */
export async function handleDirectPushBackfill(context: Context, env: HandlerEnvironment): Promise<void> {
  const { repository, commit } = context.payload as unknown as DirectPushBackfill;
  const signingKey = env.signingKey;
  if (!signingKey) return;
  const owner = repository.owner.login;
  const outcome = await env.queue.run(evidenceLane({ owner, repo: repository.name }), () =>
    backfillDirectPush(context.octokit, evidenceTarget(repository, signingKey), commit, env.now),
  );
  if (outcome.status === "appended") context.log.warn({ delivery: context.id, commit: commit.sha, evidence: outcome }, "charter: direct push found by reconciliation recorded as an exception");
  else context.log.info({ delivery: context.id, commit: commit.sha }, "charter: direct push already recorded");
}

/**
 * Whether a push touched the policy file. GitHub lists at most 20 commits in a push payload;
 * a longer push is assumed to have touched it, so no change of rules goes unnoticed.
 */
function policyTouched(commits: readonly { added?: string[]; modified?: string[]; removed?: string[] }[]): boolean {
  if (commits.length >= 20) return true;
  return commits.some((c) => [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])].includes(POLICY_PATH));
}
