import type { ApplicationFunction, Context, Probot } from "probot";
import { DeliveryLog } from "./delivery-log.js";
import { ControlsObserver } from "./controls.js";
import { KeyedQueue } from "./keyed-queue.js";
import { runDrift } from "./drift-run.js";
import { RepositorySchedule } from "./schedule.js";
import { handleRetroComment } from "./retro-approval.js";
import { handleMerged, handlePush, type HandlerEnvironment } from "./handlers.js";
import { checkPullRequest, type PullRequestRef } from "./pull-request-check.js";

export interface CharterAppOptions {
  /** This app's id, to recognise its own check runs among those of other apps. */
  readonly appId?: number | undefined;
  /** The evidence ledger's signer key (CHARTER_SIGNING_KEY); without it no evidence is written. */
  readonly signingKey?: string | undefined;
  /** The clock for records' observedAt; informational only. */
  readonly now?: () => Date;
  /** Where provider secrets are read from; the process environment by default. */
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /** How often scheduled work (drift detection) is looked at; 0 turns the timer off. Default one minute. */
  readonly scheduleIntervalMs?: number;
  /** Receives the app's schedule, so that an operator's process (or a test) can run it at will. */
  readonly onSchedule?: (schedule: RepositorySchedule) => void;
}

const DEFAULT_SCHEDULE_INTERVAL_MS = 60_000;
const DEFAULT_DRIFT_INTERVAL_SECONDS = 3600;

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
    const now = options.now ?? (() => new Date());
    const env: HandlerEnvironment = {
      appId: options.appId,
      signingKey: options.signingKey,
      now,
      queue,
      controls: new ControlsObserver(now),
      provisioning: { env: options.environment ?? process.env, now },
    };

    const schedule = new RepositorySchedule(
      {
        drift: async (repository) => {
          if (!env.signingKey) return { nextInSeconds: DEFAULT_DRIFT_INTERVAL_SECONDS };
          const octokit = await app.auth(repository.installationId);
          const target = { owner: repository.owner, repo: repository.repo, repositoryId: repository.repositoryId, signerKey: env.signingKey, repositoryUrl: repository.repositoryUrl };
          const run = await queue.run(`${repository.owner}/${repository.repo}:evidence`, () => runDrift(octokit, target, env.provisioning));
          if (run.findings && run.findings.length > 0) {
            app.log.warn({ repository: `${repository.owner}/${repository.repo}`, findings: run.findings.length, issues: run.issues, evidence: run.evidence }, "charter: drift from the approved state");
          }
          return { nextInSeconds: run.intervalSeconds ?? DEFAULT_DRIFT_INTERVAL_SECONDS };
        },
      },
      now,
      app.log,
    );
    const interval = options.scheduleIntervalMs ?? DEFAULT_SCHEDULE_INTERVAL_MS;
    if (interval > 0) schedule.start(interval);
    options.onSchedule?.(schedule);

    // Every event names its repository and installation: that is how the schedule learns which
    // repositories to look after.
    app.onAny((context) => {
      const payload = context.payload as { repository?: { id: number; name: string; html_url: string; owner: { login: string } | null }; installation?: { id: number } };
      const { repository, installation } = payload;
      if (repository?.owner && installation) {
        schedule.note({ owner: repository.owner.login, repo: repository.name, repositoryId: String(repository.id), installationId: installation.id, repositoryUrl: repository.html_url });
      }
      return Promise.resolve();
    });

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

    app.on("pull_request.closed", async (context) => {
      if (!context.payload.pull_request.merged || !deliveries.claim(context.id)) return;
      await handleMerged(context, env);
    });

    app.on("issue_comment.created", async (context) => {
      if (!deliveries.claim(context.id)) return;
      await handleRetroComment(context, env);
    });

    app.on("push", async (context) => {
      if (!deliveries.claim(context.id)) return;
      await handlePush(context, env);
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
