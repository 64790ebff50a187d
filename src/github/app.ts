import { type ApplicationFunction, type ApplicationFunctionOptions, Context, type Probot, type ProbotOctokit } from "probot";
import type { Job, JobQueue } from "../jobs/job-queue.js";
import { readBlobTexts } from "./api/blob-texts.js";
import { EventRouter } from "./ops/event-router.js";
import { type CharterMetrics, createCharterMetrics } from "./ops/metrics.js";
import { observeOctokit } from "./ops/octokit-metrics.js";
import { operationsHandler } from "./ops/operations-routes.js";
import { DeliveryLog } from "./ops/delivery-log.js";
import { ControlsObserver } from "./merge/controls.js";
import { evidenceTarget } from "./merge/evidence-writer.js";
import { KeyedQueue } from "./ops/keyed-queue.js";
import { evidenceLane, laneOfEvent, pullRequestLane } from "./ops/lanes.js";
import { runDrift } from "./scheduled/drift-run.js";
import { findMissedEvents } from "./scheduled/reconcile.js";
import { auditIndexOpener, runAccessReview } from "./scheduled/access-review-run.js";
import { parseDuration } from "../manifest/duration.js";
import { parsePolicy } from "../policy/load-policy.js";
import { POLICY_PATH } from "../change/governed-paths.js";
import { type KnownRepository, RepositorySchedule } from "./scheduled/schedule.js";
import { handleRetroComment } from "./merge/retro-approval.js";
import { DIRECT_PUSH_BACKFILL, type DirectPushBackfill, handleDirectPushBackfill, handleMerged, handlePush, type HandlerEnvironment } from "./merge/handle-merged.js";
import { checkPullRequest, type PullRequestRef } from "./pull-request/pull-request-check.js";
import { IdentityCache } from "../manifest/inventory-identities.js";
import type { TrailRuntime } from "./trail/trail-runtime.js";
import { ALERT_ISSUE_JOB, ALERT_WEBHOOK_JOB, type AlertTarget, deliverWebhook, escalateIssue, type EscalationPayload, sweepEscalations } from "./trail/alert-escalation.js";

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
/** How often each repository's ledger is reconciled with GitHub's list of merges. */
const RECONCILE_INTERVAL_SECONDS = 600;
/** How often the access review (CC6.2) is snapshotted into the ledger; CHARTER_ACCESS_REVIEW_INTERVAL. */
const DEFAULT_ACCESS_REVIEW_INTERVAL = "30d";
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

    // A merge whose webhook never arrived (GitHub does not redeliver) is handled as if it had:
    // through the job queue when there is one, else directly.
    const replayMerge = async (repository: KnownRepository, octokit: ProbotOctokit, number: number, mergeSha: string, missing: string): Promise<void> => {
      const { data: repo } = await octokit.rest.repos.get({ owner: repository.owner, repo: repository.repo });
      const payload = { action: "closed", pull_request: { number, merged: true }, repository: repo, installation: { id: repository.installationId } };
      // One replay per merge and per thing missing; a later reconciliation that still finds it
      // missing (its job dead-lettered, say) shows it in the log and in charter jobs dead.
      const deliveryId = `reconcile:${missing}:${repository.repositoryId}:${String(number)}:${mergeSha}`;
      if (jobs) {
        await jobs.enqueue({ key: laneOfEvent("pull_request", payload), deliveryId, event: "pull_request", payload });
        return;
      }
      await router.dispatch(new Context({ id: deliveryId, name: "pull_request", payload } as never, octokit, app.log.child({ delivery: deliveryId })));
    };

    const openAuditIndex = auditIndexOpener(env.provisioning.env);
    const accessReviewSeconds = parseDuration(env.provisioning.env["CHARTER_ACCESS_REVIEW_INTERVAL"]?.trim() || DEFAULT_ACCESS_REVIEW_INTERVAL) ?? parseDuration(DEFAULT_ACCESS_REVIEW_INTERVAL) ?? 2_592_000;
    const schedule = new RepositorySchedule(
      {
        reconcile: async (repository) => {
          if (!env.signingKey) return { nextInSeconds: RECONCILE_INTERVAL_SECONDS };
          const octokit = await authed(repository.installationId);
          const missed = await findMissedEvents(octokit, repository, now(), { provisioning: await provisioningConfigured(octokit, repository) });
          const fullName = `${repository.owner}/${repository.repo}`;
          if (missed.truncated.length > 0) {
            app.log.warn({ repository: fullName, paths: missed.truncated }, "charter: more governed commits since the ledger's last entry than one reconciliation reads; older ones are left to charter verify's completeness check");
          }
          for (const merge of missed.merges) {
            app.log.warn(
              { repository: fullName, pullRequest: merge.number, mergeSha: merge.mergeSha, missing: merge.missing },
              merge.missing === "change" ? "charter: merged pull request missing from the ledger; backfilling" : "charter: approved change not provisioned; finishing it",
            );
            await replayMerge(repository, octokit, merge.number, merge.mergeSha, merge.missing);
          }
          for (const commit of missed.pushes) {
            app.log.warn({ repository: fullName, commit: commit.sha, author: commit.author }, "charter: direct push to governed paths missing from the ledger; backfilling");
            // One job per commit, keyed by its sha: replicas and reruns that find it store it once,
            // and it runs in order with the repository's other appends, as its push event would.
            const payload: DirectPushBackfill = {
              repository: { id: Number(repository.repositoryId), name: repository.repo, html_url: repository.repositoryUrl, owner: { login: repository.owner } },
              installation: { id: repository.installationId },
              commit,
            };
            const deliveryId = `reconcile:direct-push:${repository.repositoryId}:${commit.sha}`;
            if (jobs) await jobs.enqueue({ key: evidenceLane(repository), deliveryId, event: DIRECT_PUSH_BACKFILL, payload });
            else await router.dispatch(new Context({ id: deliveryId, name: DIRECT_PUSH_BACKFILL, payload } as never, octokit, app.log.child({ delivery: deliveryId })));
          }
          return { nextInSeconds: RECONCILE_INTERVAL_SECONDS };
        },
        "access-review": async (repository) => {
          if (!env.signingKey) return { nextInSeconds: accessReviewSeconds };
          const octokit = await authed(repository.installationId);
          const target = evidenceTarget(repository, env.signingKey);
          const appended = await queue.run(evidenceLane(repository), () =>
            runAccessReview(octokit, target, { openIndex: openAuditIndex, now, periodSeconds: accessReviewSeconds }),
          );
          if (appended?.status === "appended") app.log.info({ repository: `${repository.owner}/${repository.repo}`, evidence: appended }, "charter: access review recorded");
          return { nextInSeconds: accessReviewSeconds };
        },
        drift: async (repository) => {
          if (!env.signingKey) return { nextInSeconds: DEFAULT_DRIFT_INTERVAL_SECONDS };
          const octokit = await authed(repository.installationId);
          const target = evidenceTarget(repository, env.signingKey);
          const run = await queue.run(evidenceLane(repository), () => runDrift(octokit, target, env.provisioning));
          metrics.driftFindings.set({ repository: `${repository.owner}/${repository.repo}` }, run.findings?.length ?? 0);
          if (run.findings && run.findings.length > 0) {
            app.log.warn({ repository: `${repository.owner}/${repository.repo}`, findings: run.findings.length, issues: run.issues, evidence: run.evidence }, "charter: drift from the approved state");
          }
          return { nextInSeconds: run.intervalSeconds ?? DEFAULT_DRIFT_INTERVAL_SECONDS };
        },
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

/**
 * Serves the trail's receivers and runs its periodic work (following logs, sealing, anchoring on
 * the trail repository's evidence branch) once a second, one round at a time.
 */
function runTrail(app: Probot, trail: TrailRuntime, authed: (installationId: number) => Promise<ProbotOctokit>, signingKey: string | undefined, appOptions: ApplicationFunctionOptions | undefined, jobs: JobQueue | undefined): void {
  const log = (level: "info" | "warn", fields: Record<string, unknown>, message: string): void => {
    app.log[level](fields, message);
  };
  appOptions?.addHandler(trail.handler(log));
  let target: { installationId: number; owner: string; repo: string; repositoryId: string; repositoryUrl: string } | null = null;
  let running = false;
  const round = async (): Promise<void> => {
    let octokit: ProbotOctokit | null = null;
    if (trail.repository !== null) {
      try {
        if (target === null) {
          const appOctokit = await app.auth();
          const { data: installation } = await appOctokit.rest.apps.getRepoInstallation({ owner: trail.repository.owner, repo: trail.repository.repo });
          const client = await authed(installation.id);
          const { data: repo } = await client.rest.repos.get({ owner: trail.repository.owner, repo: trail.repository.repo });
          target = { installationId: installation.id, owner: trail.repository.owner, repo: trail.repository.repo, repositoryId: String(repo.id), repositoryUrl: repo.html_url };
        }
        octokit = await authed(target.installationId);
      } catch (error) {
        log("warn", { err: (error as Error).message, repository: `${trail.repository.owner}/${trail.repository.repo}` }, "charter: the trail repository cannot be reached; the trail keeps ingesting and anchors later");
      }
    }
    await trail.tick(octokit, target === null ? null : { owner: target.owner, repo: target.repo, repositoryId: target.repositoryId, repositoryUrl: target.repositoryUrl }, signingKey, log);
    if (trail.detection !== null) await escalate(trail.detection, octokit === null ? null : target, octokit);
  };
  // Alerts reach people through the durable queue (retried, shared by replicas); without one, directly and best effort.
  const escalate = async (detection: NonNullable<TrailRuntime["detection"]>, to: AlertTarget | null, octokit: ProbotOctokit | null): Promise<void> => {
    if (jobs !== undefined) {
      await sweepEscalations(detection.alerts, jobs, to, detection.webhook !== null);
      return;
    }
    if (to !== null && octokit !== null) for (const p of await detection.alerts.pending("issue")) await escalateIssue(octokit, detection.alerts, to, p.key);
    if (detection.webhook !== null) for (const p of await detection.alerts.pending("webhook")) await deliverWebhook(detection.alerts, detection.webhook, p.key);
  };
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    round()
      .catch((error: unknown) => {
        log("warn", { err: error instanceof Error ? error.message : String(error) }, "charter: trail round failed; retried next second");
      })
      .finally(() => {
        running = false;
      });
  }, trail.intervals.followMs);
  timer.unref();
}

/** Whether the default branch's policy configures provisioning (1 GraphQL query). */
async function provisioningConfigured(octokit: ProbotOctokit, repository: KnownRepository): Promise<boolean> {
  const text = (await readBlobTexts(octokit, repository, "HEAD", [POLICY_PATH])).get(POLICY_PATH) ?? null;
  if (text === null) return false;
  const parsed = parsePolicy(new TextEncoder().encode(text));
  return parsed.ok && parsed.policy.provisioning !== undefined;
}

/** Every repository of every installation of this app (2 requests per installation). */
async function discoverRepositories(app: Probot): Promise<KnownRepository[]> {
  const appOctokit = await app.auth();
  const installations = await appOctokit.paginate(appOctokit.rest.apps.listInstallations, { per_page: 100 });
  const out: KnownRepository[] = [];
  for (const installation of installations) {
    const octokit = await app.auth(installation.id);
    const repositories = await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
    for (const repo of repositories) {
      out.push({ owner: repo.owner.login, repo: repo.name, repositoryId: String(repo.id), installationId: installation.id, repositoryUrl: repo.html_url });
    }
  }
  return out;
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
