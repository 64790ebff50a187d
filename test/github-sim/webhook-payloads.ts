// Webhook payloads built from the simulator's state, in the shapes of @octokit/webhooks-examples.
// Every payload carries `installation`, so Probot authenticates as the installation.

import type { CommitObject } from "./git-store.js";
import { organizationSimple, simpleUser, type Urls } from "./render/account.js";
import { webhookCheckRun, webhookCheckSuite } from "./render/check-run.js";
import { githubTimestamp } from "./state.js";
import { issue as renderIssue, issueComment, label as renderLabel } from "./render/issue.js";
import { openIssueCount, pullRequest, review as renderReview, type PullFacts } from "./render/pull-request.js";
import { repository } from "./render/repository.js";
import type {
  Account,
  CheckRun,
  CheckSuite,
  Issue,
  IssueComment,
  Label,
  PullRequest,
  Repository,
  Review,
  SimState,
} from "./state.js";

/** What payload builders need from the simulator. */
export interface PayloadSource {
  readonly state: SimState;
  readonly urls: Urls;
  pullFacts(pull: PullRequest, options: { mergeable: boolean }): Promise<PullFacts>;
  appJson(repo: Repository): Record<string, unknown>;
  suiteAppJson(suite: CheckSuite): Record<string, unknown>;
  pullsForCheck(repo: Repository, sha: string): PullRequest[];
}

export type Payload = Record<string, unknown> & { action?: string };

function envelope(source: PayloadSource, repo: Repository, sender: Account) {
  const installation = repo.installationId === null ? undefined : source.state.installations.get(repo.installationId);
  const org = source.state.findOrganization(repo.owner.login);
  return {
    repository: repository(source.urls, repo, openIssueCount(source.state, repo)),
    ...(org ? { organization: organizationSimple(source.urls, org) } : {}),
    sender: simpleUser(source.urls, sender),
    ...(installation ? { installation: { id: installation.id, node_id: Buffer.from(`Installation:${installation.id}`).toString("base64") } } : {}),
  };
}

export type PullAction =
  | "opened"
  | "synchronize"
  | "reopened"
  | "edited"
  | "ready_for_review"
  | "labeled"
  | "closed"
  | "converted_to_draft";

export async function pullRequestPayload(
  source: PayloadSource,
  pull: PullRequest,
  action: PullAction,
  sender: Account,
  extra: { label?: Label; changes?: Record<string, { from: string }>; before?: string; after?: string } = {},
): Promise<Payload> {
  const repo = pull.issue.repo;
  const facts = await source.pullFacts(pull, { mergeable: false });
  return {
    action,
    number: pull.issue.number,
    ...(extra.changes ? { changes: extra.changes } : {}),
    ...(action === "synchronize" ? { before: extra.before ?? "", after: extra.after ?? pull.headSha } : {}),
    pull_request: pullRequest(source.urls, source.state, pull, facts),
    ...(extra.label ? { label: renderLabel(source.urls, repo, extra.label) } : {}),
    ...envelope(source, repo, sender),
  };
}

const NOT_IN_SIMPLE_PULL = new Set([
  "merged",
  "mergeable",
  "rebaseable",
  "mergeable_state",
  "merged_by",
  "comments",
  "review_comments",
  "maintainer_can_modify",
  "commits",
  "additions",
  "deletions",
  "changed_files",
]);

export async function pullRequestReviewPayload(
  source: PayloadSource,
  value: Review,
  action: "submitted" | "dismissed",
  sender: Account,
): Promise<Payload> {
  const facts = await source.pullFacts(value.pull, { mergeable: false });
  const full = pullRequest(source.urls, source.state, value.pull, facts);
  // Review events embed the "simple" pull request: the full one minus its counters and merge state.
  const simple = Object.fromEntries(Object.entries(full).filter(([key]) => !NOT_IN_SIMPLE_PULL.has(key)));
  return {
    action,
    review: renderReview(source.urls, source.state, value, "webhook"),
    pull_request: simple,
    ...envelope(source, value.pull.issue.repo, sender),
  };
}

export function checkRunPayload(source: PayloadSource, run: CheckRun, action: "rerequested" | "completed", sender: Account): Payload {
  const suiteRuns = [...source.state.checkRuns.values()].filter((candidate) => candidate.suite === run.suite);
  const app = source.suiteAppJson(run.suite);
  const pulls = source.pullsForCheck(run.repo, run.headSha);
  return {
    action,
    check_run: webhookCheckRun(source.urls, run, suiteRuns, app, pulls),
    ...envelope(source, run.repo, sender),
  };
}

export function checkSuitePayload(
  source: PayloadSource,
  suite: CheckSuite,
  headCommit: CommitObject,
  action: "rerequested",
  sender: Account,
): Payload {
  const runs = [...source.state.checkRuns.values()].filter((candidate) => candidate.suite === suite);
  const app = source.suiteAppJson(suite);
  const pulls = source.pullsForCheck(suite.repo, suite.headSha);
  return {
    action,
    check_suite: {
      ...webhookCheckSuite(source.urls, suite, runs, app, pulls),
      latest_check_runs_count: runs.length,
      check_runs_url: `${source.urls.api}/repos/${suite.repo.fullName}/check-suites/${suite.id}/check-runs`,
      head_commit: simpleCommit(headCommit),
    },
    ...envelope(source, suite.repo, sender),
  };
}

function simpleCommit(commit: CommitObject) {
  return {
    id: commit.sha,
    tree_id: commit.tree,
    message: commit.message.replace(/\n$/, ""),
    timestamp: githubTimestamp(commit.committer.date),
    author: { name: commit.author.name, email: commit.author.email },
    committer: { name: commit.committer.name, email: commit.committer.email },
  };
}

export interface PushedCommit {
  readonly commit: CommitObject;
  readonly added: string[];
  readonly removed: string[];
  readonly modified: string[];
}

export function pushPayload(
  source: PayloadSource,
  repo: Repository,
  push: {
    ref: string;
    before: string;
    after: string;
    created: boolean;
    deleted: boolean;
    forced: boolean;
    commits: readonly PushedCommit[];
    pusher: Account;
  },
): Payload {
  const web = `${source.urls.web}/${repo.fullName}`;
  const commits = push.commits.map(({ commit, added, removed, modified }) => ({
    id: commit.sha,
    tree_id: commit.tree,
    distinct: true,
    message: commit.message.replace(/\n$/, ""),
    timestamp: githubTimestamp(commit.committer.date),
    url: `${web}/commit/${commit.sha}`,
    author: { name: commit.author.name, email: commit.author.email },
    committer: { name: commit.committer.name, email: commit.committer.email },
    added,
    removed,
    modified,
  }));
  const short = (sha: string) => sha.slice(0, 12);
  return {
    ref: push.ref,
    before: push.before,
    after: push.after,
    created: push.created,
    deleted: push.deleted,
    forced: push.forced,
    base_ref: null,
    compare: push.created
      ? `${web}/commit/${short(push.after)}`
      : `${web}/compare/${short(push.before)}...${short(push.after)}`,
    commits,
    head_commit: commits.at(-1) ?? null,
    pusher: { name: push.pusher.login, email: push.pusher.email ?? null },
    ...envelope(source, repo, push.pusher),
  };
}

export function issueCommentPayload(
  source: PayloadSource,
  issueValue: Issue,
  comment: IssueComment,
  sender: Account,
): Payload {
  const app = issueValue.repo.installationId === null ? null : source.appJson(issueValue.repo);
  return {
    action: "created",
    issue: renderIssue(source.urls, source.state, issueValue),
    comment: issueComment(source.urls, source.state, issueValue, comment, app),
    ...envelope(source, issueValue.repo, sender),
  };
}

export function issuesPayload(
  source: PayloadSource,
  issueValue: Issue,
  action: "opened" | "closed" | "reopened",
  sender: Account,
): Payload {
  return {
    action,
    issue: renderIssue(source.urls, source.state, issueValue),
    ...envelope(source, issueValue.repo, sender),
  };
}
