import type { ProbotOctokit } from "probot";
import { POLICY_PATH } from "../../change/governed-paths.js";
import { parsePolicy } from "../../policy/load-policy.js";
import { readBlobTexts } from "../api/blob-texts.js";
import { laneOfEvent, evidenceLane } from "../ops/lanes.js";
import { DIRECT_PUSH_BACKFILL, type DirectPushBackfill } from "../push/handle-push.js";
import { findMissedEvents } from "./reconcile.js";
import type { KnownRepository, ScheduledTask } from "./schedule.js";
import type { TaskContext } from "./task-context.js";

/** How often each repository's ledger is reconciled with GitHub's list of merges. */
const RECONCILE_INTERVAL_SECONDS = 600;

/**
 * Reconciliation: merges and direct pushes whose webhook never arrived (GitHub does not
 * redeliver) are replayed to the handlers as if it had.
 */
export function reconcileTask(context: TaskContext): ScheduledTask {
  const { log } = context;
  return async (repository) => {
    if (!context.signingKey) return { nextInSeconds: RECONCILE_INTERVAL_SECONDS };
    const octokit = await context.authed(repository.installationId);
    const missed = await findMissedEvents(octokit, repository, context.now(), { provisioning: await provisioningConfigured(octokit, repository) });
    const fullName = `${repository.owner}/${repository.repo}`;
    if (missed.truncated.length > 0) {
      log.warn({ repository: fullName, paths: missed.truncated }, "charter: more governed commits since the ledger's last entry than one reconciliation reads; older ones are left to charter verify's completeness check");
    }
    for (const merge of missed.merges) {
      log.warn(
        { repository: fullName, pullRequest: merge.number, mergeSha: merge.mergeSha, missing: merge.missing },
        merge.missing === "change" ? "charter: merged pull request missing from the ledger; backfilling" : "charter: approved change not provisioned; finishing it",
      );
      const { data: repo } = await octokit.rest.repos.get({ owner: repository.owner, repo: repository.repo });
      const payload = { action: "closed", pull_request: { number: merge.number, merged: true }, repository: repo, installation: { id: repository.installationId } };
      // One replay per merge and per thing missing; a later reconciliation that still finds it
      // missing (its job dead-lettered, say) shows it in the log and in charter jobs dead.
      const deliveryId = `reconcile:${merge.missing}:${repository.repositoryId}:${String(merge.number)}:${merge.mergeSha}`;
      await context.replay(octokit, { key: laneOfEvent("pull_request", payload), deliveryId, event: "pull_request", payload });
    }
    for (const commit of missed.pushes) {
      log.warn({ repository: fullName, commit: commit.sha, author: commit.author }, "charter: direct push to governed paths missing from the ledger; backfilling");
      // One job per commit, keyed by its sha: replicas and reruns that find it store it once,
      // and it runs in order with the repository's other appends, as its push event would.
      const payload: DirectPushBackfill = {
        repository: { id: Number(repository.repositoryId), name: repository.repo, html_url: repository.repositoryUrl, owner: { login: repository.owner } },
        installation: { id: repository.installationId },
        commit,
      };
      const deliveryId = `reconcile:direct-push:${repository.repositoryId}:${commit.sha}`;
      await context.replay(octokit, { key: evidenceLane(repository), deliveryId, event: DIRECT_PUSH_BACKFILL, payload });
    }
    return { nextInSeconds: RECONCILE_INTERVAL_SECONDS };
  };
}

/** Whether the default branch's policy configures provisioning (1 GraphQL query). */
async function provisioningConfigured(octokit: ProbotOctokit, repository: KnownRepository): Promise<boolean> {
  const text = (await readBlobTexts(octokit, repository, "HEAD", [POLICY_PATH])).get(POLICY_PATH) ?? null;
  if (text === null) return false;
  const parsed = parsePolicy(new TextEncoder().encode(text));
  return parsed.ok && parsed.policy.provisioning !== undefined;
}
