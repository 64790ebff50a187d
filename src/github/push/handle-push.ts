import type { Context } from "probot";
import { POLICY_PATH } from "../../change/governed-paths.js";
import { backfillDirectPush, recordDirectPush, type UnrecordedCommit } from "./direct-push.js";
import { evidenceTarget } from "../merge/evidence-writer.js";
import { evidenceLane, pullRequestLane } from "../ops/lanes.js";
import type { HandlerEnvironment } from "../merge/handler-environment.js";
import { checkPullRequest } from "../pull-request/pull-request-check.js";

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
