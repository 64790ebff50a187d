import type { ApplicationFunctionOptions, Probot, ProbotOctokit } from "probot";
import type { JobQueue } from "../../jobs/job-queue.js";
import { type AlertTarget, deliverWebhook, escalateIssue, sweepEscalations } from "./alert-escalation.js";
import type { TrailRuntime } from "./trail-runtime.js";

/**
 * Serves the trail's receivers and runs its periodic work (following logs, sealing, anchoring on
 * the trail repository's evidence branch) once a second, one round at a time.
 */
export function runTrail(app: Probot, trail: TrailRuntime, authed: (installationId: number) => Promise<ProbotOctokit>, signingKey: string | undefined, appOptions: ApplicationFunctionOptions | undefined, jobs: JobQueue | undefined): void {
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
