import { createHash } from "node:crypto";
import type { ProbotOctokit } from "probot";
import type { CheckAnnotation, CheckOutcome } from "./check-outcome.js";

export const CHECK_NAME = "Charter";
/** GitHub accepts at most 50 annotations per create or update request. */
export const ANNOTATIONS_PER_REQUEST = 50;

export interface CheckTarget {
  readonly owner: string;
  readonly repo: string;
  readonly headSha: string;
}

export type ExistingCheckRun = Awaited<ReturnType<ProbotOctokit["rest"]["checks"]["listForRef"]>>["data"]["check_runs"][number];

/**
 * The latest check run of each name on a commit (one page of 100: more distinct checks on one
 * commit than that is beyond what Charter's rules can name sensibly).
 */
export async function listCheckRuns(octokit: ProbotOctokit, target: CheckTarget): Promise<ExistingCheckRun[]> {
  const { data } = await octokit.rest.checks.listForRef({ owner: target.owner, repo: target.repo, ref: target.headSha, filter: "latest", per_page: 100 });
  return data.check_runs;
}

/**
 * Publishes an outcome as the single "Charter" check run on a commit.
 *
 * GitHub appends annotations on every update, so re-sending them to an existing check run would
 * duplicate them. The check run's external_id therefore records a fingerprint of the
 * annotations it holds, written only after the last batch went through: an existing check run
 * with the same fingerprint is updated in place (its annotations are already complete);
 * otherwise a new check run is created, which GitHub shows in place of the old one.
 */
export async function publishCheckRun(
  octokit: ProbotOctokit,
  target: CheckTarget,
  outcome: CheckOutcome,
  appId: number | undefined,
  known?: readonly ExistingCheckRun[],
): Promise<{ id: number; requests: number }> {
  const { owner, repo, headSha } = target;
  const fingerprint = fingerprintOf(outcome.annotations);
  let requests = known ? 0 : 1;
  const existing = known ?? (await listCheckRuns(octokit, target));
  const ours = existing.find((run) => run.name === CHECK_NAME && (appId === undefined || run.app?.id === appId));
  const output = { title: outcome.title, summary: outcome.summary };
  const completed = { status: "completed" as const, conclusion: outcome.conclusion, completed_at: new Date().toISOString() };

  if (ours && ours.external_id === fingerprint) {
    await octokit.rest.checks.update({ owner, repo, check_run_id: ours.id, ...completed, output });
    return { id: ours.id, requests: requests + 1 };
  }

  const batches = chunk(outcome.annotations, ANNOTATIONS_PER_REQUEST);
  const [first, ...rest] = batches;
  const created = await octokit.rest.checks.create({
    owner,
    repo,
    name: CHECK_NAME,
    head_sha: headSha,
    ...completed,
    // Only the last request sets the real fingerprint, so a run interrupted half-way is never
    // mistaken for a complete one.
    external_id: rest.length === 0 ? fingerprint : "incomplete",
    output: { ...output, ...(first ? { annotations: [...first] } : {}) },
  });
  requests++;
  for (const [i, batch] of rest.entries()) {
    await octokit.rest.checks.update({
      owner,
      repo,
      check_run_id: created.data.id,
      ...(i === rest.length - 1 ? { external_id: fingerprint } : {}),
      output: { ...output, annotations: [...batch] },
    });
    requests++;
  }
  return { id: created.data.id, requests };
}

function fingerprintOf(annotations: readonly CheckAnnotation[]): string {
  return "charter:" + createHash("sha256").update(JSON.stringify(annotations)).digest("hex").slice(0, 32);
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
