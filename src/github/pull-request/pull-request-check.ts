import type { ProbotOctokit } from "probot";
import { affectedAgentDirectories } from "../../change/affected-agents.js";
import { governanceKind } from "../../change/governed-paths.js";
import type { AgentManifest } from "../../schema-types/agent-manifest.generated.js";
import { checkRuntimeFiles } from "../../detect/check-runtime-files.js";
import { type Assessment, assessChange, decide } from "../../policy/assess-change.js";
import type { RepoReader } from "../../manifest/repo-reader.js";
import type { Evaluation } from "../../policy/result.js";
import { cannotCheck, type CheckOutcome, noAgentChanges } from "./check-outcome.js";
import type { IdentityCache } from "../../manifest/inventory-identities.js";
import { GraphqlFileLoader } from "../api/graphql-file-loader.js";
import { readInventoryIdentities } from "../api/inventory-identities.js";
import { policyOutcome } from "./policy-outcome.js";
import { listCheckRuns, publishCheckRun } from "./publish-check-run.js";
import { readPullFacts } from "./pull-facts-reader.js";
import { readPullGraph } from "./pull-graph.js";
import { type BacktestSource, backtestSection } from "./rules-backtest.js";

/** GitHub's pull-request files endpoint lists at most this many files. */
const MAX_LISTED_FILES = 3000;
const FILES_PER_PAGE = 100;
const DEFAULT_RETRO_REVIEW_DAYS = 3;

export interface PullRequestRef {
  readonly owner: string;
  readonly repo: string;
  readonly number: number;
}

export interface CheckReport {
  readonly headSha: string;
  /** The pull request as re-read from the API. */
  readonly pullRequest: PullRequest;
  /** Owners of the changed agents, as the evaluation saw them (base branch first). */
  readonly owners: ReadonlyMap<string, AgentManifest["owners"]>;
  /** Days within which an emergency change's retro-review is due, from the policy. */
  readonly retroReviewDays: number;
  /** What the repository's content decided, when the pull request touched agents or governance files. */
  readonly assessment: Assessment | undefined;
  /** Reads files at the head commit through the same (cached) reader the check used. */
  readonly headReader: RepoReader | undefined;
  readonly outcome: CheckOutcome;
  readonly evaluation: Evaluation | undefined;
  readonly checkRunId: number;
  /** GitHub API requests this evaluation made, by kind; logged so their growth is visible. */
  readonly requests: { readonly rest: number; readonly graphql: number };
}

type PullRequest = Awaited<ReturnType<ProbotOctokit["rest"]["pulls"]["get"]>>["data"];

/** What a check needs beside the event: the app's id and the identities it remembers by blob id. */
export interface CheckEnvironment {
  readonly appId: number | undefined;
  readonly identities: IdentityCache;
  /** The trail a pull request's changed detection rules are backtested against; absent without one. */
  readonly backtest?: BacktestSource;
  readonly now?: () => Date;
}

/**
 * Validates the agents a pull request touches, classifies what changed, evaluates the base
 * branch's policy and publishes the Charter check run.
 *
 * API cost, independent of the repository's size: 1 request for the pull request, 1 for the
 * head commit's check runs, one per 100 changed files, two GraphQL queries per 1,000 affected
 * agent directories for base and head together (see GraphqlFileLoader) which also carry the
 * inventory's listing, the pull request's first 100 commits and the head's check suites (one
 * more query per further 100 commits), reviews in pages of 100, one request per workflow run a
 * bound required check needs the jobs of, team and permission lookups per reviewer whose review
 * could count, and 1 plus one per further 50 annotations to publish the check run (a backtest of
 * changed detection rules reads the trail's database and the rule files already read). A cold
 * identity cache adds about one query per 2,500 agents of the inventory, once.
 */
export async function checkPullRequest(octokit: ProbotOctokit, ref: PullRequestRef, env: CheckEnvironment): Promise<CheckReport> {
  const { owner, repo, number } = ref;
  const { appId } = env;
  // Re-read the pull request: the webhook may be stale (a newer push may already be there).
  const { data: pr } = await octokit.rest.pulls.get({ owner, repo, pull_number: number });
  try {
    return await checkHead(octokit, ref, pr, env);
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

async function checkHead(octokit: ProbotOctokit, ref: PullRequestRef, pr: PullRequest, env: CheckEnvironment): Promise<CheckReport> {
  const { owner, repo, number } = ref;
  const { appId } = env;
  const target = { owner, repo, headSha: pr.head.sha };
  const runs = await listCheckRuns(octokit, target);
  let rest = 2;

  const publish = async (outcome: CheckOutcome, graphql: number, assessed?: { evaluation: Evaluation; assessment: Assessment; headReader: RepoReader }): Promise<CheckReport> => {
    const published = await publishCheckRun(octokit, target, outcome, appId, runs);
    const owners = new Map<string, AgentManifest["owners"]>();
    for (const a of assessed?.assessment.agents ?? []) {
      const list = a.base?.owners ?? a.head?.owners;
      if (list) owners.set(a.id, list);
    }
    return {
      headSha: pr.head.sha,
      pullRequest: pr,
      owners,
      retroReviewDays: assessed?.assessment.policy.emergency?.retroReviewDays ?? DEFAULT_RETRO_REVIEW_DAYS,
      outcome,
      evaluation: assessed?.evaluation,
      assessment: assessed?.assessment,
      headReader: assessed?.headReader,
      checkRunId: published.id,
      requests: { rest: rest + published.requests, graphql },
    };
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

  const governance = paths.filter((p) => governanceKind(p) !== undefined);
  if (affectedAgentDirectories(paths).length === 0 && governance.length === 0) return publish(noAgentChanges(pr.changed_files), 0);

  // Base and head are read through one loader so that their requests share GraphQL queries;
  // the inventory's listing, the commits and the check suites are asked for in the same turn,
  // so they ride along in its first query.
  const loader = new GraphqlFileLoader(octokit, owner, repo);
  const headReader = loader.at(pr.head.sha);
  const [assessment, graph, inventory] = await Promise.all([
    assessChange(loader.at(pr.base.sha), headReader, paths, checkRuntimeFiles),
    readPullGraph(loader, number, pr.head.sha),
    // The head's inventory differs from the base's only in the directories the pull request
    // changes, whose manifests the assessment reads at head: together they are every identity.
    readInventoryIdentities(loader, pr.base.sha, env.identities),
  ]);
  if (graph.incomplete) {
    return publish(cannotCheck(graph.incomplete, "Split the pull request into smaller ones. Charter fails closed rather than approve changes whose authors it cannot see."), loader.requests);
  }
  const factsReport = await readPullFacts(octokit, { owner, repo }, pr, graph, assessment.policy, assessment.agents, governance.length > 0, inventory.identities);
  rest += factsReport.requests;
  const evaluation = decide(assessment, factsReport.facts, inventory.identities);
  const diagnostics = [...assessment.head.diagnostics, ...assessment.policyDiagnostics];
  const outcome = policyOutcome(evaluation, diagnostics);
  // The rule files were read for validation already: the backtest reads them from the loader's cache.
  const backtest = env.backtest === undefined ? undefined : await backtestSection(env.backtest, ref, headReader, paths, (env.now?.() ?? new Date()).getTime());
  return publish(backtest === undefined ? outcome : { ...outcome, summary: outcome.summary + backtest }, loader.requests, { evaluation, assessment, headReader });
}

/** A short, secret-free description of why reading from GitHub failed. */
function describeFailure(error: unknown): string {
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === "number") return `GitHub answered HTTP ${status}`;
  return error instanceof Error ? (error.message.split("\n", 1)[0] ?? "unknown error") : "unknown error";
}
