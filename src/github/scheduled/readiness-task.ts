import { parseDuration } from "../../manifest/duration.js";
import { evidenceTarget } from "../merge/evidence-writer.js";
import { evidenceLane } from "../ops/lanes.js";
import { auditIndexOpener } from "./access-review-run.js";
import { READINESS_DEFAULTS, type ReadinessTrail, runReadiness } from "./readiness-run.js";
import type { ScheduledTask } from "./schedule.js";
import type { TaskContext } from "./task-context.js";

/** How often the SOC 2 readiness report is recorded on the evidence branch; CHARTER_READINESS_INTERVAL. */
const DEFAULT_READINESS_INTERVAL = "7d";

/**
 * The periodic readiness record, appended in the repository's evidence lane: one per interval,
 * covering the interval that ends when it runs. Replicas sharing the job queue run it once per
 * interval between them (the schedule's claims), and a second run within the same interval
 * finds the record by its idempotency key and adds nothing.
 */
export function readinessTask(context: TaskContext, env: Readonly<Record<string, string | undefined>>, trail: ReadinessTrail | undefined): ScheduledTask {
  const openAuditIndex = auditIndexOpener(env);
  const seconds = parseDuration(env["CHARTER_READINESS_INTERVAL"]?.trim() || DEFAULT_READINESS_INTERVAL) ?? parseDuration(DEFAULT_READINESS_INTERVAL) ?? 604_800;
  return async (repository) => {
    if (!context.signingKey) return { nextInSeconds: seconds };
    const signingKey = context.signingKey;
    const octokit = await context.authed(repository.installationId);
    const target = evidenceTarget(repository, signingKey);
    const appended = await context.queue.run(evidenceLane(repository), () =>
      runReadiness(octokit, target, { openIndex: openAuditIndex, now: context.now, periodSeconds: seconds, trail, queryBudgetMs: READINESS_DEFAULTS.queryBudgetMs, respondWithinMs: READINESS_DEFAULTS.respondWithinMs, retroDays: READINESS_DEFAULTS.retroDays }),
    );
    if (appended?.status === "appended") context.log.info({ repository: `${repository.owner}/${repository.repo}`, evidence: appended }, "charter: readiness recorded");
    return { nextInSeconds: seconds };
  };
}
