// Check runs and suites as GitHub renders them in REST answers and in webhook payloads.

import type { CheckRun, CheckSuite, PullRequest, Repository } from "../state.js";
import type { Urls } from "./account.js";

const CONCLUSION_RANK = [
  "action_required",
  "cancelled",
  "timed_out",
  "failure",
  "stale",
  "neutral",
  "skipped",
  "success",
] as const;

/** A suite is completed once all its runs are, and concludes with its worst run's conclusion. */
export function suiteSummary(runs: readonly CheckRun[]): {
  status: "queued" | "in_progress" | "completed";
  conclusion: (typeof CONCLUSION_RANK)[number] | null;
} {
  if (runs.length === 0) return { status: "queued", conclusion: null };
  if (runs.some((run) => run.status !== "completed")) {
    return { status: runs.some((run) => run.status === "in_progress") ? "in_progress" : "queued", conclusion: null };
  }
  let worst: (typeof CONCLUSION_RANK)[number] = "success";
  for (const run of runs) {
    const conclusion = run.conclusion ?? "success";
    if (CONCLUSION_RANK.indexOf(conclusion) < CONCLUSION_RANK.indexOf(worst)) worst = conclusion;
  }
  return { status: "completed", conclusion: worst };
}

/** The minimal pull request form check runs and suites embed. */
function checkPullRequests(urls: Urls, repo: Repository, pulls: readonly PullRequest[]) {
  const repoRef = { id: repo.id, url: `${urls.api}/repos/${repo.fullName}`, name: repo.name };
  return pulls.map((pull) => ({
    url: `${urls.api}/repos/${repo.fullName}/pulls/${pull.issue.number}`,
    id: pull.id,
    number: pull.issue.number,
    head: { ref: pull.headRef, sha: pull.headSha, repo: repoRef },
    base: { ref: pull.baseRef, sha: pull.baseSha, repo: repoRef },
  }));
}

export function checkRunUrl(urls: Urls, run: CheckRun): string {
  return `${urls.api}/repos/${run.repo.fullName}/check-runs/${run.id}`;
}

function checkRunCore(urls: Urls, run: CheckRun, app: Record<string, unknown>, pulls: readonly PullRequest[]) {
  return {
    id: run.id,
    node_id: run.nodeId,
    head_sha: run.headSha,
    external_id: run.externalId ?? "",
    url: checkRunUrl(urls, run),
    html_url: `${urls.web}/${run.repo.fullName}/runs/${run.id}`,
    details_url: run.detailsUrl ?? `${urls.web}/apps/${String(app["slug"])}`,
    status: run.status,
    conclusion: run.conclusion,
    started_at: run.startedAt,
    completed_at: run.completedAt,
    output: {
      title: run.output.title,
      summary: run.output.summary,
      text: run.output.text,
      annotations_count: run.output.annotations.length,
      annotations_url: `${checkRunUrl(urls, run)}/annotations`,
    },
    name: run.name,
    app,
    pull_requests: checkPullRequests(urls, run.repo, pulls),
  };
}

/** checks/create, checks/get, checks/list-for-ref: the suite is referenced by id only. */
export function restCheckRun(urls: Urls, run: CheckRun, app: Record<string, unknown>, pulls: readonly PullRequest[]) {
  return { ...checkRunCore(urls, run, app, pulls), check_suite: { id: run.suite.id } };
}

/** The check_suite object of webhooks; `headCommit` is the suite's head commit in webhook form. */
export function webhookCheckSuite(
  urls: Urls,
  suite: CheckSuite,
  runs: readonly CheckRun[],
  app: Record<string, unknown>,
  pulls: readonly PullRequest[],
) {
  const summary = suiteSummary(runs);
  return {
    id: suite.id,
    node_id: suite.nodeId,
    head_branch: suite.headBranch,
    head_sha: suite.headSha,
    status: summary.status,
    conclusion: summary.conclusion,
    url: `${urls.api}/repos/${suite.repo.fullName}/check-suites/${suite.id}`,
    before: null,
    after: suite.headSha,
    pull_requests: checkPullRequests(urls, suite.repo, pulls),
    app,
    created_at: suite.createdAt,
    updated_at: suite.updatedAt,
  };
}

export function webhookCheckRun(
  urls: Urls,
  run: CheckRun,
  suiteRuns: readonly CheckRun[],
  app: Record<string, unknown>,
  pulls: readonly PullRequest[],
) {
  return {
    ...checkRunCore(urls, run, app, pulls),
    check_suite: webhookCheckSuite(urls, run.suite, suiteRuns, app, pulls),
  };
}
