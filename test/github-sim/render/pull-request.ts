// Pull requests and reviews as GitHub renders them. The pull request shape satisfies both the
// strict webhook schema and REST's `pull-request`.

import type { PullRequest, Repository, Review, SimState } from "../state.js";
import { simpleUser, type Urls } from "./account.js";
import { authorAssociation, issueLabels } from "./issue.js";
import { repository } from "./repository.js";

/** What GitHub derives from git for a pull request. */
export interface PullFacts {
  readonly commits: number;
  readonly additions: number;
  readonly deletions: number;
  readonly changedFiles: number;
  /** Null while GitHub has not computed it (always so in webhook payloads here). */
  readonly mergeable: boolean | null;
}

/** GitHub's open_issues_count counts open pull requests too. */
export function openIssueCount(state: SimState, repo: Repository): number {
  let count = 0;
  for (const issue of state.issues.values()) if (issue.repo === repo && issue.state === "open") count += 1;
  return count;
}

function mergeableState(pull: PullRequest, facts: PullFacts): string {
  if (pull.issue.state === "closed") return "unknown";
  if (facts.mergeable === null) return "unknown";
  if (!facts.mergeable) return "dirty";
  return pull.draft ? "draft" : "clean";
}

/**
 * The `pull-request-simple` shape that list endpoints answer with: everything a pull request
 * shows without the facts GitHub derives from git. `openIssues` lets a list compute the
 * repository's open issue count once instead of once per pull request.
 */
export function pullRequestSimple(
  urls: Urls,
  state: SimState,
  pull: PullRequest,
  openIssues: number = openIssueCount(state, pull.issue.repo),
) {
  const { issue } = pull;
  const repo = issue.repo;
  const api = `${urls.api}/repos/${repo.fullName}`;
  const self = `${api}/pulls/${issue.number}`;
  const html = `${urls.web}/${repo.fullName}/pull/${issue.number}`;
  const repoJson = repository(urls, repo, openIssues);
  const owner = simpleUser(urls, repo.owner);
  return {
    url: self,
    id: pull.id,
    node_id: pull.nodeId,
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: `${api}/issues/${issue.number}`,
    number: issue.number,
    state: issue.state,
    locked: issue.locked,
    title: issue.title,
    user: simpleUser(urls, issue.author),
    body: issue.body,
    created_at: issue.createdAt,
    updated_at: issue.updatedAt,
    closed_at: issue.closedAt,
    merged_at: pull.merged?.at ?? null,
    merge_commit_sha: pull.merged?.commitSha ?? null,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    labels: issueLabels(urls, issue),
    milestone: null,
    draft: pull.draft,
    commits_url: `${self}/commits`,
    review_comments_url: `${self}/comments`,
    review_comment_url: `${api}/pulls/comments{/number}`,
    comments_url: `${api}/issues/${issue.number}/comments`,
    statuses_url: `${api}/statuses/${pull.headSha}`,
    head: {
      label: `${repo.owner.login}:${pull.headRef}`,
      ref: pull.headRef,
      sha: pull.headSha,
      user: owner,
      repo: repoJson,
    },
    base: {
      label: `${repo.owner.login}:${pull.baseRef}`,
      ref: pull.baseRef,
      sha: pull.baseSha,
      user: owner,
      repo: repoJson,
    },
    _links: {
      self: { href: self },
      html: { href: html },
      issue: { href: `${api}/issues/${issue.number}` },
      comments: { href: `${api}/issues/${issue.number}/comments` },
      review_comments: { href: `${self}/comments` },
      review_comment: { href: `${api}/pulls/comments{/number}` },
      commits: { href: `${self}/commits` },
      statuses: { href: `${api}/statuses/${pull.headSha}` },
    },
    author_association: authorAssociation(state, repo, issue.author),
    auto_merge: null,
    active_lock_reason: null,
  };
}

export function pullRequest(urls: Urls, state: SimState, pull: PullRequest, facts: PullFacts) {
  return {
    ...pullRequestSimple(urls, state, pull),
    merged: pull.merged !== null,
    mergeable: facts.mergeable,
    rebaseable: facts.mergeable,
    mergeable_state: mergeableState(pull, facts),
    merged_by: pull.merged ? simpleUser(urls, pull.merged.by) : null,
    comments: pull.issue.comments.length,
    review_comments: 0,
    maintainer_can_modify: false,
    commits: facts.commits,
    additions: facts.additions,
    deletions: facts.deletions,
    changed_files: facts.changedFiles,
  };
}

/** REST renders review states in upper case, webhooks in lower case. */
export function review(urls: Urls, state: SimState, value: Review, flavour: "rest" | "webhook") {
  const repo = value.pull.issue.repo;
  const pullUrl = `${urls.api}/repos/${repo.fullName}/pulls/${value.pull.issue.number}`;
  const html = `${urls.web}/${repo.fullName}/pull/${value.pull.issue.number}#pullrequestreview-${value.id}`;
  return {
    id: value.id,
    node_id: value.nodeId,
    user: simpleUser(urls, value.user),
    body: value.body,
    commit_id: value.commitId,
    submitted_at: value.submittedAt,
    state: flavour === "rest" ? value.state : value.state.toLowerCase(),
    html_url: html,
    pull_request_url: pullUrl,
    author_association: authorAssociation(state, repo, value.user),
    _links: { html: { href: html }, pull_request: { href: pullUrl } },
  };
}
