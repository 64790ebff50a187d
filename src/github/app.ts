import { type ApplicationFunction, type ApplicationFunctionOptions, Context, type Probot, type ProbotOctokit } from "probot";
import type { Job, JobQueue } from "../jobs/job-queue.js";
import { IdentityCache } from "../manifest/inventory-identities.js";
import { handleMerged } from "./merge/handle-merged.js";
import { ControlsObserver } from "./merge/controls.js";
import { handleRetroComment } from "./merge/retro-approval.js";
import { DeliveryLog } from "./ops/delivery-log.js";
import { EventRouter } from "./ops/event-router.js";
import type { HandlerEnvironment } from "./merge/handler-environment.js";
import { KeyedQueue } from "./ops/keyed-queue.js";
import { laneOfEvent, pullRequestLane } from "./ops/lanes.js";
import { type CharterMetrics, createCharterMetrics } from "./ops/metrics.js";
import { observeOctokit } from "./ops/octokit-metrics.js";
import { operationsHandler } from "./ops/operations-routes.js";
import { checkPullRequest, type PullRequestRef } from "./pull-request/pull-request-check.js";
import { DIRECT_PUSH_BACKFILL, handleDirectPushBackfill, handlePush } from "./push/handle-push.js";
import { accessReviewTask } from "./scheduled/access-review-task.js";
import { readinessTask } from "./scheduled/readiness-task.js";
import { discoverRepositories } from "./scheduled/discover-repositories.js";
import { driftTask } from "./scheduled/drift-task.js";
import { reconcileTask } from "./scheduled/reconcile-task.js";
import { RepositorySchedule } from "./scheduled/schedule.js";
import type { ReplayedEvent, TaskContext } from "./scheduled/task-context.js";
import { ALERT_ISSUE_JOB, ALERT_WEBHOOK_JOB, deliverWebhook, escalateIssue, type EscalationPayload } from "./trail/alert-escalation.js";
import { runTrail } from "./trail/run-trail.js";
import type { TrailRuntime } from "./trail/trail-runtime.js";

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
  /**
   * The durable job queue. With it, a webhook is stored as a job before GitHub gets its answer
   * and workers run the handlers, with retries; without it (tests, trials) handlers run inline
   * while GitHub waits, and a crash loses the event.
   */
  readonly jobs?: JobQueue;
  /** Jobs run at once by this process's workers. Default 4. */
  readonly workers?: number;
  /** Attempts before a job is dead-lettered. Default 8. */
  readonly maxAttempts?: number;
  /** Where metrics are counted; one registry per app by default. */
  readonly metrics?: CharterMetrics;
  /** The action trail: its receivers are served beside the webhooks and its periodic work runs here. */
  readonly trail?: TrailRuntime;
}

interface WebhookPayload {
  readonly action?: string;
  readonly installation?: { readonly id: number };
  readonly repository?: { readonly id: number; readonly name: string; readonly html_url: string; readonly owner: { readonly login: string } | null };
  readonly pull_request?: { readonly number: number; readonly merged?: boolean };
  readonly issue?: { readonly number: number };
}

const DEFAULT_SCHEDULE_INTERVAL_MS = 60_000;

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

/** Wires GitHub events to Charter's handlers, inline or through the durable job queue. */
export function createCharterApp(options: CharterAppOptions = {}): ApplicationFunction {
  return async (app: Probot, appOptions?: ApplicationFunctionOptions) => {
    const deliveries = new DeliveryLog();
    const queue = new KeyedQueue();
    const now = options.now ?? (() => new Date());
    const env: HandlerEnvironment = {
      appId: options.appId,
      signingKey: options.signingKey,
      now,
      queue,
      controls: new ControlsObserver(now, options.appId),
      provisioning: { env: options.environment ?? process.env, now },
      identities: new IdentityCache(),
      ...(options.trail?.repository ? { backtest: { store: options.trail.store, manifests: options.trail.context.manifests, repository: options.trail.repository } } : {}),
    };

    const router = routes(env);
    const jobs = options.jobs;
    const metrics = options.metrics ?? createCharterMetrics();
    if (jobs) metrics.observeQueue(jobs);
    // /healthz, /readyz and /metrics beside the webhook route (absent when loaded without a server).
    appOptions?.addHandler(
      operationsHandler({
        metrics,
        metricsToken: env.provisioning.env["CHARTER_METRICS_TOKEN"],
        ready: async () => {
          const checks: Record<string, string> = { "signing key": env.signingKey ? "configured" : "missing: no evidence is written" };
          let ok = true;
          if (jobs) {
            try {
              const stats = await jobs.stats();
              checks["job queue"] = `reachable (${String(stats.queued)} queued, ${String(stats.dead)} dead)`;
            } catch {
              ok = false;
              checks["job queue"] = "unreachable";
            }
          } else {
            checks["job queue"] = "none: webhooks are handled inline";
          }
          return { ok, checks };
        },
      }),
    );
    const authed = async (installationId: number): Promise<ProbotOctokit> => {
      const octokit = await app.auth(installationId);
      observeOctokit(octokit, metrics);
      return octokit;
    };
    const detection = options.trail?.detection ?? null;
    if (detection !== null) {
      router.onInternal(ALERT_ISSUE_JOB, async (context) => {
        const payload = context.payload as unknown as EscalationPayload;
        const repository = payload.repository;
        if (repository === undefined) return;
        const calls = await escalateIssue(context.octokit, detection.alerts, { owner: repository.owner.login, repo: repository.name, repositoryUrl: repository.html_url }, payload.escalationKey);
        if (calls > 0) context.log.info({ calls }, "charter: alert escalated to its GitHub issue");
      });
    }
    if (options.trail !== undefined) runTrail(app, options.trail, authed, env.signingKey, appOptions, jobs);

    // A merge or push whose webhook never arrived (GitHub does not redeliver) is handled as if it
    // had: through the job queue when there is one, else directly.
    const replay = async (octokit: ProbotOctokit, event: ReplayedEvent): Promise<void> => {
      if (jobs) {
        await jobs.enqueue({ key: event.key, deliveryId: event.deliveryId, event: event.event, payload: event.payload });
        return;
      }
      await router.dispatch(new Context({ id: event.deliveryId, name: event.event, payload: event.payload } as never, octokit, app.log.child({ delivery: event.deliveryId })));
    };
    const tasks: TaskContext = { signingKey: env.signingKey, now, log: app.log, authed, queue, replay };
    const schedule = new RepositorySchedule(
      {
        reconcile: reconcileTask(tasks),
        "access-review": accessReviewTask(tasks, env.provisioning.env),
        drift: driftTask(tasks, env.provisioning, metrics),
        readiness: readinessTask(tasks, env.provisioning.env, options.trail),
      },
      now,
      app.log,
      // With a queue, replicas sharing it run each repository's task once per interval between them.
      jobs,
    );
    const interval = options.scheduleIntervalMs ?? DEFAULT_SCHEDULE_INTERVAL_MS;
    if (interval > 0) {
      schedule.start(interval);
      // On start, every repository the app is installed on is reconciled right away, so that
      // merges during a restart or an outage are recorded without waiting for their next event.
      void discoverRepositories(app)
        .then(async (repositories) => {
          for (const repository of repositories) schedule.note(repository);
          // Forced: the shared schedule may say another replica reconciled minutes ago, but
          // what this start must catch up on is what happened while nothing was listening.
          await schedule.tick({ force: ["reconcile"] });
        })
        .catch((error: unknown) => {
          app.log.error({ err: error }, "charter: could not list the app's installations to reconcile on start");
        });
    }
    options.onSchedule?.(schedule);

    // Every event names its repository and installation: that is how the schedule learns which
    // repositories to look after.
    const note = (payload: WebhookPayload): void => {
      const { repository, installation } = payload;
      if (repository?.owner && installation) {
        schedule.note({ owner: repository.owner.login, repo: repository.name, repositoryId: String(repository.id), installationId: installation.id, repositoryUrl: repository.html_url });
      }
    };

    if (jobs === undefined) {
      app.onAny(async (event) => {
        // Probot hands every handler a Context; onAny's declared type leaves that out.
        const context = event as unknown as Context;
        metrics.webhooksReceived.inc({ event: context.name });
        observeOctokit(context.octokit, metrics);
        note(context.payload as WebhookPayload);
        if (!deliveries.claim(context.id)) {
          context.log.info({ delivery: context.id }, "charter: delivery already handled");
          return;
        }
        await router.dispatch(context);
      });
      return;
    }

    // Durable mode: GitHub's request is answered only after the job is committed, so an
    // accepted webhook survives any crash that follows. A redelivery finds its id stored.
    app.onAny(async (event) => {
      const context = event as unknown as Context;
      const payload = context.payload as WebhookPayload;
      metrics.webhooksReceived.inc({ event: context.name });
      note(payload);
      if (!router.wants(context.name, payload.action)) return;
      const stored = await jobs.enqueue({ key: laneOfEvent(context.name, payload), deliveryId: context.id, event: context.name, payload });
      context.log.info({ delivery: context.id, event: context.name, stored }, stored ? "charter: webhook stored as a job" : "charter: delivery already stored");
    });

    const run = async (job: Job): Promise<void> => {
      const payload = job.payload as WebhookPayload;
      if (job.event === ALERT_WEBHOOK_JOB) {
        // No GitHub in it: the alert webhook needs no installation.
        if (detection?.webhook) await deliverWebhook(detection.alerts, detection.webhook, (job.payload as EscalationPayload).escalationKey);
        return;
      }
      const installation = payload.installation?.id;
      const log = app.log.child({
        delivery: job.deliveryId,
        event: job.event,
        job: job.id,
        attempt: job.attempt,
        repository: payload.repository ? `${payload.repository.owner?.login ?? ""}/${payload.repository.name}` : undefined,
        pullRequest: payload.pull_request?.number,
        issue: payload.issue?.number,
      });
      if (installation === undefined) {
        log.warn("charter: job without an installation; nothing to do");
        return;
      }
      const octokit = await authed(installation);
      const context = new Context({ id: job.deliveryId, name: job.event, payload } as never, octokit, log);
      try {
        await router.dispatch(context);
      } catch (error) {
        // The queue retries or dead-letters the job; the reason belongs in the log beside it.
        log.warn({ err: error }, "charter: job failed");
        throw error;
      }
    };
    await jobs.start(run, {
      concurrency: options.workers ?? 4,
      maxAttempts: options.maxAttempts ?? 8,
      onSettled: (job, outcome, ms) => {
        metrics.onJobSettled(job, outcome, ms);
        const level = outcome === "dead" ? "error" : outcome === "retry" ? "warn" : "info";
        app.log[level]({ delivery: job.deliveryId, event: job.event, job: job.id, attempt: job.attempt, outcome, ms }, `charter: job ${outcome}`);
      },
    });
  };
}

/** What Charter does for each event; the same whichever way the event arrives. */
function routes(env: HandlerEnvironment): EventRouter {
  const router = new EventRouter();
  const { queue, appId } = env;

  const check = async (context: Context, refs: readonly PullRequestRef[]): Promise<void> => {
    for (const ref of refs) {
      const key = pullRequestLane(ref);
      const report = await queue.run(key, () => checkPullRequest(context.octokit, ref, env));
      context.log.info(
        { delivery: context.id, pullRequest: key, sha: report.headSha, conclusion: report.outcome.conclusion, requests: report.requests },
        "charter: check run published",
      );
    }
  };

  router.on(PULL_REQUEST_EVENTS, async (context) => {
    const { repository, pull_request } = context.payload;
    await check(context, [{ owner: repository.owner.login, repo: repository.name, number: pull_request.number }]);
  });

  router.on("pull_request.closed", async (context) => {
    if (!context.payload.pull_request.merged) return;
    await handleMerged(context, env);
  });

  router.on("issue_comment.created", async (context) => {
    await handleRetroComment(context, env);
  });

  router.on("push", async (context) => {
    await handlePush(context, env);
  });

  router.onInternal(DIRECT_PUSH_BACKFILL, async (context) => {
    await handleDirectPushBackfill(context, env);
  });

  router.on(REVIEW_EVENTS, async (context) => {
    const { repository, pull_request } = context.payload;
    await check(context, [{ owner: repository.owner.login, repo: repository.name, number: pull_request.number }]);
  });

  // Another check finishing may satisfy (or fail) a rule's required checks. Charter's own
  // check run completing must not trigger another evaluation of itself.
  router.on("check_run.completed", async (context) => {
    const { repository, check_run } = context.payload;
    if (check_run.name === "Charter" && (appId === undefined || check_run.app?.id === appId)) return;
    await check(context, check_run.pull_requests.map((pr) => ({ owner: repository.owner.login, repo: repository.name, number: pr.number })));
  });

  router.on("check_run.rerequested", async (context) => {
    const { repository, check_run } = context.payload;
    if (check_run.name !== "Charter") return;
    await check(context, check_run.pull_requests.map((pr) => ({ owner: repository.owner.login, repo: repository.name, number: pr.number })));
  });

  router.on("check_suite.rerequested", async (context) => {
    const { repository, check_suite } = context.payload;
    await check(context, check_suite.pull_requests.map((pr) => ({ owner: repository.owner.login, repo: repository.name, number: pr.number })));
  });
  return router;
}
