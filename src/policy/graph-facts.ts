import type { CheckRunFact, CommitFact, GitPerson } from "./pull-facts.js";

/**
 * GitHub's GraphQL shapes for a pull request's commits and its head commit's check suites, and
 * their conversion into PullFacts' terms. Pure: the app reads them from the API, and a snapshot
 * file for `charter evaluate` may carry the same answers.
 */
export interface GraphActor {
  readonly name?: string | null | undefined;
  readonly email?: string | null | undefined;
  readonly user?: { readonly login: string } | null | undefined;
}

export interface GraphCommit {
  readonly oid: string;
  /** The git author first, then every co-author of the message's trailers. */
  readonly authors: { readonly totalCount?: number | undefined; readonly nodes: readonly (GraphActor | null)[] };
  readonly committer?: GraphActor | null | undefined;
}

/** One node of PullRequest.commits. */
export interface GraphPullRequestCommit {
  readonly commit: GraphCommit;
}

export interface GraphCheckRun {
  readonly databaseId: number | null;
  readonly name: string;
  readonly status: string;
  readonly conclusion?: string | null | undefined;
  readonly completedAt?: string | null | undefined;
  readonly permalink?: string | null | undefined;
}

export interface GraphCheckSuite {
  readonly databaseId: number | null;
  readonly app?: { readonly databaseId?: number | null | undefined; readonly slug?: string | null | undefined } | null | undefined;
  readonly workflowRun?: { readonly databaseId?: number | null | undefined; readonly event?: string | null | undefined; readonly file?: { readonly path: string } | null | undefined } | null | undefined;
  readonly checkRuns: { readonly totalCount?: number | undefined; readonly nodes: readonly (GraphCheckRun | null)[] };
}

/** GitHub's GitActorConnection and check run connections take at most this many per page. */
const GRAPH_PAGE = 100;

const ACTOR = "name email user { login }";
/** PullRequest.commits with every author and the committer; `$commitCursor` pages through them. */
export const PULL_COMMITS_SELECTION = `pullRequest(number: $pullNumber) { commits(first: ${GRAPH_PAGE}, after: $commitCursor) { totalCount pageInfo { hasNextPage endCursor } nodes { commit { oid authors(first: ${GRAPH_PAGE}) { totalCount nodes { ${ACTOR} } } committer { ${ACTOR} } } } } }`;
/**
 * The head commit's check suites, each with its app, its workflow run and every run in it. Every
 * run, not GitHub's "latest of each name": a run that a workflow step creates through the API
 * lands in some Actions suite and would hide that suite's real job of the same name; Charter
 * picks the newest run among the ones that count itself.
 */
export const CHECK_SUITES_SELECTION = `object(expression: $headCommit) { ... on Commit { checkSuites(first: ${GRAPH_PAGE}) { totalCount nodes { databaseId app { databaseId slug } workflowRun { databaseId event file { path } } checkRuns(first: ${GRAPH_PAGE}, filterBy: { checkType: ALL }) { totalCount nodes { databaseId name status conclusion completedAt permalink } } } } } }`;

function person(actor: GraphActor): GitPerson {
  return { login: actor.user?.login ?? null, name: actor.name ?? "", email: actor.email ?? "" };
}

export function commitFactsFromGraph(nodes: readonly (GraphPullRequestCommit | null)[]): CommitFact[] {
  return nodes.flatMap((node) => {
    if (!node) return [];
    const { commit } = node;
    return [{ sha: commit.oid, authors: commit.authors.nodes.flatMap((a) => (a ? [person(a)] : [])), committer: commit.committer ? person(commit.committer) : null }];
  });
}

/** Commits whose authors did not fit one page: Charter would not see them all. */
export function commitsWithTooManyAuthors(nodes: readonly (GraphPullRequestCommit | null)[]): string[] {
  return nodes.flatMap((n) => (n && (n.commit.authors.totalCount ?? 0) > n.commit.authors.nodes.length ? [n.commit.oid] : []));
}

/**
 * Check runs with the source that posted them. `jobs` lists, per workflow run id, the check run
 * ids that are that run's jobs (from the Actions API); runs of a workflow run nobody looked up
 * keep `isJob` undefined.
 */
export function checkRunFactsFromGraph(suites: readonly (GraphCheckSuite | null)[], jobs: ReadonlyMap<number, ReadonlySet<number>> = new Map()): CheckRunFact[] {
  const out: CheckRunFact[] = [];
  for (const suite of suites) {
    if (!suite) continue;
    const runId = suite.workflowRun?.databaseId ?? null;
    const jobIds = runId === null ? undefined : jobs.get(runId);
    for (const run of suite.checkRuns.nodes) {
      if (!run || run.databaseId === null) continue;
      out.push({
        id: run.databaseId,
        name: run.name,
        status: run.status.toLowerCase(),
        conclusion: run.conclusion ? run.conclusion.toLowerCase() : null,
        completedAt: run.completedAt ?? null,
        url: run.permalink ?? null,
        app: suite.app ? { id: suite.app.databaseId ?? null, slug: suite.app.slug ?? null } : null,
        suiteId: suite.databaseId,
        workflowRun: suite.workflowRun ? { id: runId, path: suite.workflowRun.file?.path ?? null, event: suite.workflowRun.event ?? null } : null,
        ...(jobIds === undefined ? {} : { isJob: jobIds.has(run.databaseId) }),
      });
    }
  }
  return out;
}

/** Suites or runs that did not fit one page: Charter would not see every run. */
export function checkSuitesIncomplete(connection: { readonly totalCount?: number | undefined; readonly nodes: readonly (GraphCheckSuite | null)[] }): boolean {
  if ((connection.totalCount ?? 0) > connection.nodes.length) return true;
  return connection.nodes.some((s) => s !== null && (s.checkRuns.totalCount ?? 0) > s.checkRuns.nodes.length);
}
