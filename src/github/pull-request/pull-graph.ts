import { CharterError } from "../../errors.js";
import {
  CHECK_SUITES_SELECTION,
  checkSuitesIncomplete,
  commitsWithTooManyAuthors,
  type GraphCheckSuite,
  type GraphPullRequestCommit,
  PULL_COMMITS_SELECTION,
} from "../../policy/graph-facts.js";
import type { GraphqlFileLoader } from "../api/graphql-file-loader.js";

/** Pages of 100 commits read at most: beyond that Charter fails closed and asks for a split. */
const MAX_COMMIT_PAGES = 10;

interface CommitsPage {
  readonly pullRequest: {
    readonly commits: {
      readonly totalCount: number;
      readonly pageInfo: { readonly hasNextPage: boolean; readonly endCursor: string | null };
      readonly nodes: readonly (GraphPullRequestCommit | null)[];
    };
  } | null;
}

interface SuitesField {
  readonly checkSuites?: { readonly totalCount?: number; readonly nodes: readonly (GraphCheckSuite | null)[] };
}

/** What GitHub's GraphQL API says about a pull request beside its files. */
export interface PullGraph {
  readonly commits: readonly GraphPullRequestCommit[];
  readonly suites: readonly GraphCheckSuite[];
  /** Why Charter cannot trust these facts to be complete, if it cannot. */
  readonly incomplete: string | undefined;
}

/**
 * Reads every commit of the pull request with all its authors (GitHub resolves Co-authored-by
 * trailers to accounts in `Commit.authors`) and the head commit's check suites with the app,
 * the workflow run and the latest runs of each. The first page of each is requested now, in the
 * caller's turn, so that it rides along in the loader's first query and costs no request of its
 * own; each further 100 commits cost one query.
 */
export function readPullGraph(loader: GraphqlFileLoader, pullNumber: number, headSha: string): Promise<PullGraph> {
  const page = (cursor: string | null) =>
    loader.field<CommitsPage["pullRequest"]>("pullCommits", PULL_COMMITS_SELECTION, {
      pullNumber: { type: "Int!", value: pullNumber },
      commitCursor: { type: "String", value: cursor },
    });
  const first = page(null);
  const suites = loader.field<SuitesField | null>("headChecks", CHECK_SUITES_SELECTION, { headCommit: { type: "String!", value: headSha } });
  return (async () => {
    // Both come from the same query: awaited together, neither rejection goes unheard.
    const [firstPage, suitesAnswer] = await Promise.all([first, suites]);
    const commits: GraphPullRequestCommit[] = [];
    let result = firstPage;
    let total: number;
    for (let n = 1; ; n++) {
      if (!result) throw new CharterError("NOT_FOUND", `pull request #${pullNumber} is not visible through GitHub's GraphQL API`);
      total = result.commits.totalCount;
      for (const node of result.commits.nodes) if (node) commits.push(node);
      if (!result.commits.pageInfo.hasNextPage || n >= MAX_COMMIT_PAGES) break;
      result = await page(result.commits.pageInfo.endCursor);
    }
    const suiteField = suitesAnswer?.checkSuites ?? { nodes: [] };
    let incomplete: string | undefined;
    const crowded = commitsWithTooManyAuthors(commits);
    if (commits.length < total) {
      incomplete = `This pull request has ${total} commits and GitHub lists ${commits.length} of them, so Charter cannot see who wrote the rest.`;
    } else if (crowded.length > 0) {
      incomplete = `Commit ${crowded[0]?.slice(0, 7) ?? ""} names more co-authors than GitHub lists at once, so Charter cannot see them all.`;
    } else if (checkSuitesIncomplete(suiteField)) {
      incomplete = "The head commit has more check suites or check runs than GitHub lists at once, so Charter cannot see every run.";
    }
    return { commits, suites: suiteField.nodes.filter((s): s is GraphCheckSuite => s !== null), incomplete };
  })();
}
