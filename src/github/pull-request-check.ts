import type { ProbotOctokit } from "probot";
import { affectedAgentDirectories, manifestCandidates } from "../change/affected-agents.js";
import { compareAgents } from "../change/agent-changes.js";
import { DEFAULT_LIMITS } from "../manifest/limits.js";
import { validateManifests } from "../manifest/validate.js";
import { cannotCheck, type CheckOutcome, noAgentChanges, validationOutcome } from "./check-outcome.js";
import { GraphqlFileLoader } from "./graphql-repo-reader.js";
import type { RepoReader } from "../manifest/repo-reader.js";
import { publishCheckRun } from "./publish-check-run.js";

/** GitHub's pull-request files endpoint lists at most this many files. */
export const MAX_LISTED_FILES = 3000;
const FILES_PER_PAGE = 100;

export interface PullRequestRef {
  readonly owner: string;
  readonly repo: string;
  readonly number: number;
}

export interface CheckReport {
  readonly headSha: string;
  readonly outcome: CheckOutcome;
  readonly checkRunId: number;
  /** GitHub API requests this evaluation made, by kind; logged so their growth is visible. */
  readonly requests: { readonly rest: number; readonly graphql: number };
}

/**
 * Validates the agents a pull request touches and publishes the Charter check run.
 *
 * API cost, independent of the repository's size: 1 request for the pull request, one per 100
 * changed files, three GraphQL queries per 100 affected agent directories for base and head
 * together (see GraphqlFileLoader), 1 to find an existing check run, and 1 plus one per further 50
 * annotations to publish it.
 */
export async function checkPullRequest(octokit: ProbotOctokit, ref: PullRequestRef, appId: number | undefined): Promise<CheckReport> {
  const { owner, repo, number } = ref;
  // Re-read the pull request: the webhook may be stale (a newer push may already be there).
  const { data: pr } = await octokit.rest.pulls.get({ owner, repo, pull_number: number });
  try {
    return await checkHead(octokit, ref, pr, appId);
  } catch (error) {
    // Leave a visible failure on the commit rather than nothing: a missing check is easy to
    // overlook, and "failure" keeps a required check closed. Best effort: if GitHub is down
    // this fails too, and the original error is what gets reported.
    const outcome = cannotCheck(
      `Charter could not finish checking this pull request: ${describeFailure(error)}.`,
      "Re-run the check from the Checks tab once GitHub is reachable again; nothing is approved in the meantime.",
    );
    await publishCheckRun(octokit, { owner, repo, headSha: pr.head.sha }, outcome, appId).catch(() => undefined);
    throw error;
  }
}

type PullRequest = Awaited<ReturnType<ProbotOctokit["rest"]["pulls"]["get"]>>["data"];

async function checkHead(octokit: ProbotOctokit, ref: PullRequestRef, pr: PullRequest, appId: number | undefined): Promise<CheckReport> {
  const { owner, repo, number } = ref;
  let rest = 1;
  const target = { owner, repo, headSha: pr.head.sha };

  const publish = async (outcome: CheckOutcome, graphql: number): Promise<CheckReport> => {
    const published = await publishCheckRun(octokit, target, outcome, appId);
    return { headSha: pr.head.sha, outcome, checkRunId: published.id, requests: { rest: rest + published.requests, graphql } };
  };

  if (pr.changed_files > MAX_LISTED_FILES) {
    return publish(
      cannotCheck(
        `This pull request changes ${pr.changed_files} files; GitHub lists at most ${MAX_LISTED_FILES}, so Charter cannot see which agents it touches.`,
        "Split it into smaller pull requests. Charter fails closed rather than approve changes it cannot see.",
      ),
      0,
    );
  }

  const paths: string[] = [];
  for (let page = 1; (page - 1) * FILES_PER_PAGE < pr.changed_files; page++) {
    const { data } = await octokit.rest.pulls.listFiles({ owner, repo, pull_number: number, per_page: FILES_PER_PAGE, page });
    rest++;
    for (const file of data) {
      paths.push(file.filename);
      if (file.previous_filename) paths.push(file.previous_filename);
    }
    if (data.length < FILES_PER_PAGE) break;
  }

  const dirs = affectedAgentDirectories(paths);
  if (dirs.length === 0) return publish(noAgentChanges(pr.changed_files), 0);

  // Base and head are read together so that their requests share GraphQL queries.
  const loader = new GraphqlFileLoader(octokit, owner, repo);
  const head = loader.at(pr.head.sha);
  const [headReport, baseReport] = await Promise.all([validateAt(head, dirs), validateAt(loader.at(pr.base.sha), dirs)]);
  const changes = compareAgents(dirs, baseReport.agents, headReport.agents, (dir) => manifestCandidates(dir).some((p) => head.listed(p)));
  return publish(validationOutcome(changes, headReport.diagnostics), loader.requests);
}

async function validateAt(reader: RepoReader, dirs: readonly string[]) {
  const candidates = dirs.flatMap(manifestCandidates);
  const found = await reader.read(candidates, DEFAULT_LIMITS.maxManifestBytes);
  const manifests = candidates.filter((p) => found.get(p)?.kind !== "missing");
  return validateManifests(manifests, reader);
}

/** A short, secret-free description of why reading from GitHub failed. */
function describeFailure(error: unknown): string {
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === "number") return `GitHub answered HTTP ${status}`;
  return error instanceof Error ? error.message.split("\n", 1)[0] ?? "unknown error" : "unknown error";
}
