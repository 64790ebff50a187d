import { parseDuration } from "../../manifest/duration.js";
import { evidenceTarget } from "../merge/evidence-writer.js";
import { evidenceLane } from "../ops/lanes.js";
import { auditIndexOpener, runAccessReview } from "./access-review-run.js";
import type { ScheduledTask } from "./schedule.js";
import type { TaskContext } from "./task-context.js";

/** How often the access review (CC6.2) is snapshotted into the ledger; CHARTER_ACCESS_REVIEW_INTERVAL. */
const DEFAULT_ACCESS_REVIEW_INTERVAL = "30d";

/** The periodic access review, appended to the ledger in the repository's evidence lane. */
export function accessReviewTask(context: TaskContext, env: Readonly<Record<string, string | undefined>>): ScheduledTask {
  const openAuditIndex = auditIndexOpener(env);
  const accessReviewSeconds = parseDuration(env["CHARTER_ACCESS_REVIEW_INTERVAL"]?.trim() || DEFAULT_ACCESS_REVIEW_INTERVAL) ?? parseDuration(DEFAULT_ACCESS_REVIEW_INTERVAL) ?? 2_592_000;
  return async (repository) => {
    if (!context.signingKey) return { nextInSeconds: accessReviewSeconds };
    const signingKey = context.signingKey;
    const octokit = await context.authed(repository.installationId);
    const target = evidenceTarget(repository, signingKey);
    const appended = await context.queue.run(evidenceLane(repository), () =>
      runAccessReview(octokit, target, { openIndex: openAuditIndex, now: context.now, periodSeconds: accessReviewSeconds }),
    );
    if (appended?.status === "appended") context.log.info({ repository: `${repository.owner}/${repository.repo}`, evidence: appended }, "charter: access review recorded");
    return { nextInSeconds: accessReviewSeconds };
  };
}
