import { evidenceTarget } from "../merge/evidence-writer.js";
import type { ProvisioningEnvironment } from "../merge/provision-merge.js";
import type { CharterMetrics } from "../ops/metrics.js";
import { evidenceLane } from "../ops/lanes.js";
import { runDrift } from "./drift-run.js";
import type { ScheduledTask } from "./schedule.js";
import type { TaskContext } from "./task-context.js";

const DEFAULT_DRIFT_INTERVAL_SECONDS = 3600;

/** Drift detection: the providers' actual state against the approved one, in the evidence lane. */
export function driftTask(context: TaskContext, provisioning: ProvisioningEnvironment, metrics: CharterMetrics): ScheduledTask {
  return async (repository) => {
    if (!context.signingKey) return { nextInSeconds: DEFAULT_DRIFT_INTERVAL_SECONDS };
    const signingKey = context.signingKey;
    const octokit = await context.authed(repository.installationId);
    const target = evidenceTarget(repository, signingKey);
    const run = await context.queue.run(evidenceLane(repository), () => runDrift(octokit, target, provisioning));
    metrics.driftFindings.set({ repository: `${repository.owner}/${repository.repo}` }, run.findings?.length ?? 0);
    if (run.findings && run.findings.length > 0) {
      context.log.warn({ repository: `${repository.owner}/${repository.repo}`, findings: run.findings.length, issues: run.issues, evidence: run.evidence }, "charter: drift from the approved state");
    }
    return { nextInSeconds: run.intervalSeconds ?? DEFAULT_DRIFT_INTERVAL_SECONDS };
  };
}
