import type { ProbotOctokit } from "probot";
import { changeRecordBody } from "../evidence/change-record.js";
import { CharterError } from "../errors.js";
import { DEFAULT_LIMITS } from "../manifest/limits.js";
import { type AppendOutcome, appendChangeRecord, type EvidenceTarget } from "./evidence-writer.js";
import type { CheckReport } from "./pull-request-check.js";

/**
 * Freezes a merged pull request's evaluation into a change record on the evidence branch. The
 * report comes from re-reading the pull request and re-evaluating it at merge, never from the
 * webhook body; the approved files are read through the check's own cached reader.
 */
export async function recordMerge(octokit: ProbotOctokit, target: EvidenceTarget, report: CheckReport, now: () => Date): Promise<AppendOutcome> {
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
  return appendChangeRecord(octokit, target, body, copies, () => now().toISOString());
}
