// pulls/*: listing pull requests; a pull request, its files, reviews and commits, and merging it.

import { notFound, paginate } from "../http.js";
import { announceMerge, mergePullRequest, type MergeMethod } from "../merge.js";
import { diffEntry, repoCommit } from "../render/git.js";
import { openIssueCount, pullRequest, pullRequestSimple, review } from "../render/pull-request.js";
import type { PullRequest } from "../state.js";
import { actor, param, repoFor, type RestContext, type RestHandler } from "./context.js";

/** GitHub lists at most 3000 files of a pull request, and at most 250 commits. */
const PULL_FILE_LIMIT = 3000;
const PULL_COMMIT_LIMIT = 250;

function pullFor(context: RestContext): PullRequest {
  const repo = repoFor(context);
  const pull = context.core.state.findPullRequest(repo, Number(param(context, "pull_number")));
  if (!pull) throw notFound();
  return pull;
}

/** "long-running" means open for more than a month and active within the last one; a month is 30 days here. */
const MONTH_MS = 30 * 24 * 60 * 60 * 1000;

type PullSort = "created" | "updated" | "popularity" | "long-running";

function queryString(context: RestContext, name: string): string | undefined {
  const value = context.query[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * `head` filters only in GitHub's `owner:branch` form; a bare branch name is ignored, as on
 * GitHub (a frequent surprise for callers). Without forks every head lives in the base
 * repository, so the owner must be the repository's.
 */
function matchesHead(pull: PullRequest, head: string | undefined): boolean {
  if (head === undefined) return true;
  const colon = head.indexOf(":");
  if (colon < 0) return true;
  const owner = head.slice(0, colon);
  const ref = head.slice(colon + 1);
  return owner.toLowerCase() === pull.issue.repo.owner.login.toLowerCase() && ref === pull.headRef;
}

const listPulls: RestHandler = (context) => {
  const repo = repoFor(context);
  const { core } = context;
  // openapi-backend validates the enums but does not fill in defaults.
  const state = queryString(context, "state") ?? "open";
  const base = queryString(context, "base");
  const head = queryString(context, "head");
  const sort = (queryString(context, "sort") ?? "created") as PullSort;
  const direction = queryString(context, "direction") ?? (sort === "created" ? "desc" : "asc");
  const now = core.state.nowDate().getTime();
  const pulls = core.state.pullRequestsOf(repo).filter((pull) => {
    if (state !== "all" && pull.issue.state !== state) return false;
    if (base !== undefined && pull.baseRef !== base) return false;
    if (!matchesHead(pull, head)) return false;
    if (sort === "long-running") {
      const openedLongAgo = now - Date.parse(pull.issue.createdAt) > MONTH_MS;
      const activeRecently = now - Date.parse(pull.issue.updatedAt) <= MONTH_MS;
      return openedLongAgo && activeRecently;
    }
    return true;
  });
  const key = (pull: PullRequest): string | number => {
    if (sort === "updated") return pull.issue.updatedAt;
    if (sort === "popularity") return pull.issue.comments.length;
    return pull.issue.createdAt;
  };
  const sign = direction === "asc" ? 1 : -1;
  // Timestamps have second precision, so ties are common; the number breaks them in the same direction.
  pulls.sort((a, b) => {
    const [ka, kb] = [key(a), key(b)];
    const primary = ka < kb ? -1 : ka > kb ? 1 : 0;
    return sign * (primary === 0 ? a.issue.number - b.issue.number : primary);
  });
  const page = paginate(pulls, context.query, context.url);
  const openIssues = openIssueCount(core.state, repo);
  return {
    status: 200,
    headers: page.headers,
    body: page.items.map((pull) => pullRequestSimple(core.urls, core.state, pull, openIssues)),
  };
};

const getPull: RestHandler = async (context) => {
  const pull = pullFor(context);
  const { core } = context;
  const facts = await core.pullFacts(pull, { mergeable: true });
  return { status: 200, body: pullRequest(core.urls, core.state, pull, facts) };
};

const listFiles: RestHandler = async (context) => {
  const pull = pullFor(context);
  const { core } = context;
  const repo = pull.issue.repo;
  const git = core.git(repo);
  await core.refreshBase(pull);
  const mergeBase = (await git.mergeBase(pull.baseSha, pull.headSha)) ?? pull.baseSha;
  const files = (await git.diff(mergeBase, pull.headSha)).slice(0, PULL_FILE_LIMIT);
  const page = paginate(files, context.query, context.url);
  return {
    status: 200,
    headers: page.headers,
    body: page.items.map((entry) => diffEntry(core.urls, repo, pull.headSha, entry)),
  };
};

const listReviews: RestHandler = (context) => {
  const pull = pullFor(context);
  const { core } = context;
  const page = paginate(pull.reviews, context.query, context.url);
  return {
    status: 200,
    headers: page.headers,
    body: page.items.map((value) => review(core.urls, core.state, value, "rest")),
  };
};

const listCommits: RestHandler = async (context) => {
  const pull = pullFor(context);
  const { core } = context;
  const repo = pull.issue.repo;
  const git = core.git(repo);
  await core.refreshBase(pull);
  const shas = (await git.commitsBetween(pull.baseSha, pull.headSha)).slice(0, PULL_COMMIT_LIMIT);
  const page = paginate(shas, context.query, context.url);
  const commits = await Promise.all(page.items.map((sha) => git.readCommit(sha)));
  return {
    status: 200,
    headers: page.headers,
    body: commits.flatMap((commit) => (commit ? [repoCommit(core.urls, core.state, repo, commit)] : [])),
  };
};

const merge: RestHandler = async (context) => {
  const pull = pullFor(context);
  const { core } = context;
  const by = actor(context);
  const body = context.body;
  const result = await mergePullRequest(core, pull, by, {
    ...(typeof body["merge_method"] === "string" ? { method: body["merge_method"] as MergeMethod } : {}),
    ...(typeof body["sha"] === "string" ? { sha: body["sha"] } : {}),
    ...(typeof body["commit_title"] === "string" ? { commitTitle: body["commit_title"] } : {}),
    ...(typeof body["commit_message"] === "string" ? { commitMessage: body["commit_message"] } : {}),
  });
  core.inBackground(() => announceMerge(core, pull, result, by));
  return { status: 200, body: { sha: result.sha, merged: true, message: result.message } };
};

export const pullsHandlers: Record<string, RestHandler> = {
  "pulls/list": listPulls,
  "pulls/get": getPull,
  "pulls/list-files": listFiles,
  "pulls/list-reviews": listReviews,
  "pulls/list-commits": listCommits,
  "pulls/merge": merge,
};
