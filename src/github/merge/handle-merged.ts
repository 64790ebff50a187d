import type { Context } from "probot";
import type { ControlsStatus } from "../../evidence/site/site-state.js";
import { type ControlsTarget, warnAboutControls } from "./controls.js";
import { idempotencyKey } from "../../evidence/ledger.js";
import { EVIDENCE_BRANCH, evidenceTarget, findRecorded } from "./evidence-writer.js";
import { provisionChange } from "./provision-merge.js";
import { evidenceLane, pullRequestLane } from "../ops/lanes.js";
import type { HandlerEnvironment } from "./handler-environment.js";
import { checkPullRequest, type PullRequestRef } from "../pull-request/pull-request-check.js";
import { recordMerge } from "./record-merge.js";
import { openRetroReview } from "./retro-review.js";

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
