// pulls/*: a pull request, its files, reviews and commits, and merging it.

import { notFound, paginate } from "../http.js";
import { announceMerge, mergePullRequest, type MergeMethod } from "../merge.js";
import { diffEntry, repoCommit } from "../render/git.js";
import { pullRequest, review } from "../render/pull-request.js";
import type { PullRequest } from "../state.js";
import { actor, param, repoFor, type RestContext, type RestHandler } from "./context.js";

/** GitHub lists at most 3000 files of a pull request, and at most 250 commits. */
export const PULL_FILE_LIMIT = 3000;
const PULL_COMMIT_LIMIT = 250;

function pullFor(context: RestContext): PullRequest {
  const repo = repoFor(context);
  const pull = context.core.state.findPullRequest(repo, Number(param(context, "pull_number")));
  if (!pull) throw notFound();
  return pull;
}

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
  "pulls/get": getPull,
  "pulls/list-files": listFiles,
  "pulls/list-reviews": listReviews,
  "pulls/list-commits": listCommits,
  "pulls/merge": merge,
};
