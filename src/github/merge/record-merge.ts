import type { ProbotOctokit } from "probot";
import { ownerMentions } from "./owner-mentions.js";
import { changeRecordBody } from "../../evidence/change-record.js";
import { inventoryEntryOf, type InventoryUpdate } from "../../evidence/site/inventory.js";
import type { ControlsStatus } from "../../evidence/site/site-state.js";
import { CharterError } from "../../errors.js";
import { DEFAULT_LIMITS } from "../../manifest/limits.js";
import type { ChangeBody } from "../../evidence/record.js";
import type { ResultNode } from "../../policy/result.js";
import { alreadyRecorded, type AppendOutcome, appendChangeRecord, type EvidenceTarget } from "./evidence-writer.js";
import type { CheckReport } from "../pull-request/pull-request-check.js";

/**
 * Freezes a merged pull request's evaluation into a change record on the evidence branch. The
 * report comes from re-reading the pull request and re-evaluating it at merge, never from the
 * webhook body; the approved files are read through the check's own cached reader.
 */
export async function recordMerge(octokit: ProbotOctokit, target: EvidenceTarget, report: CheckReport, now: () => Date, controls?: ControlsStatus): Promise<AppendOutcome> {
  const { pullRequest: pr, evaluation, assessment, headReader } = report;
  if (!evaluation || !assessment || !headReader || !pr.merged_at || !pr.merge_commit_sha) {
    throw new CharterError("INTERNAL", `pull request #${pr.number} has no evaluation or merge commit to record`);
  }
  const paths = assessment.head.agents.flatMap((a) => [a.file, ...a.prompts.map((p) => p.path)]);
  const entries = await headReader.read(paths, DEFAULT_LIMITS.maxPromptBytes);
  const contents = new Map<string, Uint8Array>();
  for (const [path, entry] of entries) if (entry.kind === "file") contents.set(path, entry.bytes);
  const { body, copies } = changeRecordBody({
    pullRequest: {
      repository: { id: target.repositoryId, fullName: `${target.owner}/${target.repo}` },
      number: pr.number,
      url: pr.html_url,
      title: pr.title,
      body: pr.body ?? "",
      author: pr.user.login,
      mergedBy: pr.merged_by?.login ?? "unknown",
      mergedAt: pr.merged_at,
      baseSha: pr.base.sha,
      headSha: pr.head.sha,
      mergeSha: pr.merge_commit_sha,
    },
    evaluation,
    base: assessment.base.agents,
    head: assessment.head.agents,
    contents,
  });
  const clock = (): string => now().toISOString();
  // The inventory follows what the merge put in force: each changed agent's manifest at the
  // merge, or its removal when the manifest was deleted.
  const headIds = new Set(assessment.head.agents.map((a) => a.id));
  const inventory: InventoryUpdate[] = [
    ...assessment.head.agents.map((a) => ({ id: a.id, entry: inventoryEntryOf(a.manifest, a.file, a.manifestSha256) })),
    ...assessment.base.agents.filter((a) => !headIds.has(a.id)).map((a) => ({ id: a.id, entry: null })),
  ];
  const site = { inventory, ...(controls === undefined ? {} : { controls }) };
  if (evaluation.decision === "approved") return appendChangeRecord(octokit, target, body, copies, clock, [], site);

  // Merged although Charter's check was not satisfied: an administrator bypassed it. The owners
  // are told in an issue, and an exception record stands beside the change record, in the same
  // commit. The issue is opened only once: a redelivery finds the merge already recorded.
  if (await alreadyRecorded(octokit, target, body.idempotencyKey)) return { status: "duplicate", requests: 2 };
  const missing = firstMissing(evaluation.root) ?? `the decision was ${evaluation.decision}`;
  const reason = `Merged by ${body.mergedBy} while Charter's check was ${evaluation.decision}: ${missing}`;
  const issue = await openBypassIssue(octokit, target, body, reason, report.owners);
  return appendChangeRecord(octokit, target, body, copies, clock, [
    (changeSeq) => ({
      kind: "exception",
      observedAt: clock(),
      body: {
        kind: "admin-bypass",
        repository: { ...body.repository },
        commits: [body.mergeSha],
        pullRequest: { ...body.pullRequest },
        reason: `${reason} (change record ${changeSeq}). Provisioning of the affected agents is held: credentials follow only approved changes.`,
        agents: [...body.changes.agents],
        issue,
      },
    }),
  ], site);
}

function firstMissing(node: ResultNode): string | undefined {
  if (node.status === "blocked" || node.status === "pending") {
    for (const child of node.children) {
      const found = firstMissing(child);
      if (found) return found;
    }
    const own = node.missing[0]?.detail ?? (node.children.length === 0 ? node.summary : undefined);
    return own?.replace(/\.$/, "");
  }
  return undefined;
}

async function openBypassIssue(octokit: ProbotOctokit, target: EvidenceTarget, body: ChangeBody, reason: string, owners: CheckReport["owners"]): Promise<number> {
  const mentions = ownerMentions(owners);
  const { data } = await octokit.rest.issues.create({
    owner: target.owner,
    repo: target.repo,
    title: `Exception: #${body.pullRequest.number} was merged without Charter's approval`.slice(0, 250),
    body: [
      `<!-- charter:exception admin-bypass pr=${body.pullRequest.number} merge=${body.mergeSha} -->`,
      `**${reason}.**`,
      "",
      `Pull request: ${body.pullRequest.url} (merge commit ${body.mergeSha}, merged at ${body.mergedAt}).`,
      `Agents changed: ${body.changes.agents.map((a) => `\`${a}\``).join(", ") || "none (governance files)"}.`,
      "",
      `${mentions.join(", ") || "Owners"}: review the change after the fact, and revert it if it should not stand. The exception is recorded in the evidence ledger.`,
    ].join("\n"),
  });
  return data.number;
}
