import type { ApplicationFunction, Context, Probot } from "probot";
import { DeliveryLog } from "./delivery-log.js";
import { KeyedQueue } from "./keyed-queue.js";
import { checkPullRequest, type PullRequestRef } from "./pull-request-check.js";
import { recordDirectPush } from "./direct-push.js";
import { recordMerge } from "./record-merge.js";
import { openRetroReview } from "./retro-review.js";
import { POLICY_PATH } from "../policy/load-policy.js";

export interface CharterAppOptions {
  /** This app's id, to recognise its own check runs among those of other apps. */
  readonly appId?: number | undefined;
  /** The evidence ledger's signer key (CHARTER_SIGNING_KEY); without it no evidence is written. */
  readonly signingKey?: string | undefined;
  /** The clock for records' observedAt; informational only. */
  readonly now?: () => Date;
}

type PullRequestEvent =
  | "pull_request.opened"
  | "pull_request.synchronize"
  | "pull_request.reopened"
  | "pull_request.ready_for_review"
  | "pull_request.edited"
  | "pull_request.labeled"
  | "pull_request.unlabeled";

const PULL_REQUEST_EVENTS: PullRequestEvent[] = [
  "pull_request.opened",
  "pull_request.synchronize",
  "pull_request.reopened",
  "pull_request.ready_for_review",
  "pull_request.edited",
  "pull_request.labeled",
  "pull_request.unlabeled",
];

type ReviewEvent = "pull_request_review.submitted" | "pull_request_review.edited" | "pull_request_review.dismissed";
const REVIEW_EVENTS: ReviewEvent[] = ["pull_request_review.submitted", "pull_request_review.edited", "pull_request_review.dismissed"];

/** Wires GitHub events to Charter's handlers. Nothing else lives here. */
export function createCharterApp(options: CharterAppOptions = {}): ApplicationFunction {
  return (app: Probot) => {
    const deliveries = new DeliveryLog();
    const queue = new KeyedQueue();

    const check = async (context: Context, refs: readonly PullRequestRef[]): Promise<void> => {
      if (!deliveries.claim(context.id)) {
        context.log.info({ delivery: context.id }, "charter: delivery already handled");
        return;
      }
      for (const ref of refs) {
        const key = `${ref.owner}/${ref.repo}#${ref.number}`;
        const report = await queue.run(key, () => checkPullRequest(context.octokit, ref, options.appId));
        context.log.info(
          { delivery: context.id, pullRequest: key, sha: report.headSha, conclusion: report.outcome.conclusion, requests: report.requests },
          "charter: check run published",
        );
      }
    };

    app.on(PULL_REQUEST_EVENTS, async (context) => {
      const { repository, pull_request } = context.payload;
      await check(context, [{ owner: repository.owner.login, repo: repository.name, number: pull_request.number }]);
    });

    // A merged emergency change gets its retro-review issue. The pull request is re-read and
    // re-evaluated rather than trusting the webhook's copy.
    app.on("pull_request.closed", async (context) => {
      const { repository, pull_request } = context.payload;
      if (!pull_request.merged) return;
      if (!deliveries.claim(context.id)) return;
      const ref = { owner: repository.owner.login, repo: repository.name, number: pull_request.number };
      const report = await queue.run(`${ref.owner}/${ref.repo}#${ref.number}`, () => checkPullRequest(context.octokit, ref, options.appId));
      const evaluation = report.evaluation;
      if (!evaluation) return;
      if (options.signingKey && evaluation.changeSet.changes.length > 0) {
        const signingKey = options.signingKey;
        // One append at a time per repository in this process: the compare-and-swap then only
        // ever races other replicas.
        const outcome = await queue.run(`${ref.owner}/${ref.repo}:evidence`, () =>
          recordMerge(context.octokit, { ...ref, repositoryId: String(repository.id), signerKey: signingKey }, report, options.now ?? (() => new Date())),
        );
        context.log.info({ delivery: context.id, pullRequest: ref.number, evidence: outcome }, "charter: merge recorded in the evidence ledger");
      }
      if (!evaluation.emergency.active) return;
      const issue = await openRetroReview(
        context.octokit,
        { ...ref, title: report.pullRequest.title, mergedAt: report.pullRequest.merged_at, mergedBy: report.pullRequest.merged_by?.login ?? null, mergeSha: report.pullRequest.merge_commit_sha },
        evaluation,
        report.owners,
        report.retroReviewDays,
      );
      context.log.info({ delivery: context.id, pullRequest: ref.number, issue }, "charter: retro-review issue opened for an emergency change");
    });

    // The rules live on the base branch: when a push changes them, every open pull request
    // into that branch is judged again under the new rules.
    app.on("push", async (context) => {
      const { repository, ref, commits } = context.payload;
      if (!ref.startsWith("refs/heads/") || context.payload.deleted) return;
      const owner = repository.owner?.login;
      if (!owner) return;
      if (!deliveries.claim(context.id)) return;
      const branch = ref.slice("refs/heads/".length);

      // Changes to agents that reached the default branch without a merged pull request are
      // exceptions: recorded, and reported to the owners.
      if (options.signingKey && branch === repository.default_branch) {
        const signingKey = options.signingKey;
        const outcome = await queue.run(`${owner}/${repository.name}:evidence`, () =>
          recordDirectPush(
            context.octokit,
            { owner, repo: repository.name, repositoryId: String(repository.id), signerKey: signingKey },
            { after: context.payload.after, pusher: context.payload.pusher.name, commits },
            options.now ?? (() => new Date()),
          ),
        );
        if (outcome) context.log.warn({ delivery: context.id, branch, evidence: outcome }, "charter: direct push to governed paths recorded as an exception");
      }

      // The rules live on the base branch: when a push changes them, every open pull request
      // into that branch is judged again under the new rules.
      if (!policyTouched(commits)) return;
      const open = await context.octokit.paginate(context.octokit.rest.pulls.list, { owner, repo: repository.name, state: "open", base: branch, per_page: 100 });
      context.log.info({ delivery: context.id, branch, pullRequests: open.length }, "charter: policy changed; re-evaluating open pull requests");
      for (const pr of open) {
        const key = `${owner}/${repository.name}#${pr.number}`;
        await queue.run(key, () => checkPullRequest(context.octokit, { owner, repo: repository.name, number: pr.number }, options.appId));
      }
    });

    app.on(REVIEW_EVENTS, async (context) => {
      const { repository, pull_request } = context.payload;
      await check(context, [{ owner: repository.owner.login, repo: repository.name, number: pull_request.number }]);
    });

    // Another check finishing may satisfy (or fail) a rule's required checks. Charter's own
    // check run completing must not trigger another evaluation of itself.
    app.on("check_run.completed", async (context) => {
      const { repository, check_run } = context.payload;
      if (check_run.name === "Charter" && (options.appId === undefined || check_run.app?.id === options.appId)) return;
      await check(context, check_run.pull_requests.map((pr) => ({ owner: repository.owner.login, repo: repository.name, number: pr.number })));
    });

    app.on("check_run.rerequested", async (context) => {
      const { repository, check_run } = context.payload;
      if (check_run.name !== "Charter") return;
      await check(context, check_run.pull_requests.map((pr) => ({ owner: repository.owner.login, repo: repository.name, number: pr.number })));
    });

    app.on("check_suite.rerequested", async (context) => {
      const { repository, check_suite } = context.payload;
      await check(context, check_suite.pull_requests.map((pr) => ({ owner: repository.owner.login, repo: repository.name, number: pr.number })));
    });
  };
}

/**
 * Whether a push touched the policy file. GitHub lists at most 20 commits in a push payload;
 * a longer push is assumed to have touched it, so no change of rules goes unnoticed.
 */
function policyTouched(commits: readonly { added?: string[]; modified?: string[]; removed?: string[] }[]): boolean {
  if (commits.length >= 20) return true;
  return commits.some((c) => [...(c.added ?? []), ...(c.modified ?? []), ...(c.removed ?? [])].includes(POLICY_PATH));
}
