import type { ProbotOctokit } from "probot";
import { ownerMentions } from "./owner-mentions.js";
import type { AgentManifest } from "../../schema-types/agent-manifest.generated.js";
import type { Evaluation } from "../../policy/result.js";

export interface MergedPullRequest {
  readonly owner: string;
  readonly repo: string;
  readonly number: number;
  readonly title: string;
  readonly mergedAt: string | null;
  readonly mergedBy: string | null;
  readonly mergeSha: string | null;
}

const DAY_MS = 86_400_000;

/**
 * Opens the retro-review issue for an emergency change that was merged: the owners of every
 * changed agent are asked to review it after the fact, by a due date. The issue carries a
 * marker naming the pull request and merge commit, so later steps can find it.
 */
export async function openRetroReview(
  octokit: ProbotOctokit,
  merged: MergedPullRequest,
  evaluation: Evaluation,
  owners: ReadonlyMap<string, AgentManifest["owners"]>,
  retroReviewDays: number,
): Promise<number> {
  const due = merged.mergedAt ? new Date(Date.parse(merged.mergedAt) + retroReviewDays * DAY_MS).toISOString().slice(0, 10) : "unknown";
  const mentions = ownerMentions(owners);
  const changes = evaluation.changeSet.changes.map((c) => `- \`${c.agent ?? "governance"}\` ${c.kind} (${c.risk}): ${c.summary}`).join("\n");
  const body = [
    `<!-- charter:retro-review pr=${merged.number} merge=${merged.mergeSha ?? "unknown"} due=${due} -->`,
    `**Emergency change #${merged.number} was merged** ${merged.mergedBy ? `by @${merged.mergedBy} ` : ""}${merged.mergedAt ? `at ${merged.mergedAt} ` : ""}through Charter's emergency lane, with reduced approval requirements.`,
    "",
    `**Reason given:** ${evaluation.emergency.reason ?? ""}`,
    "",
    "### What changed",
    changes || "- (no classified changes)",
    "",
    "### What is asked",
    `${mentions.join(", ") || "The agents' owners"}: review this change as you would have before merge and record the post-incident review here. Each changed agent needs one of its owners to comment \`/approve\` (the author of the change cannot); Charter then records the retro-approval in the evidence ledger. Due by **${due}**.`,
  ].join("\n");
  const { data } = await octokit.rest.issues.create({
    owner: merged.owner,
    repo: merged.repo,
    title: `Retro-review: emergency change #${merged.number} — ${merged.title}`.slice(0, 250),
    body,
  });
  return data.number;
}
