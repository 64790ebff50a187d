import type { ApplicationFunction, Context, Probot } from "probot";
import { DeliveryLog } from "./delivery-log.js";
import { KeyedQueue } from "./keyed-queue.js";
import { checkPullRequest, type PullRequestRef } from "./pull-request-check.js";
import { openRetroReview } from "./retro-review.js";

export interface CharterAppOptions {
  /** This app's id, to recognise its own check runs among those of other apps. */
  readonly appId?: number | undefined;
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
      if (!evaluation?.emergency.active) return;
      const issue = await openRetroReview(
        context.octokit,
        { ...ref, title: report.pullRequest.title, mergedAt: report.pullRequest.merged_at, mergedBy: report.pullRequest.merged_by?.login ?? null, mergeSha: report.pullRequest.merge_commit_sha },
        evaluation,
        report.owners,
        report.retroReviewDays,
      );
      context.log.info({ delivery: context.id, pullRequest: ref.number, issue }, "charter: retro-review issue opened for an emergency change");
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
