// Issues, issue comments and labels as GitHub renders them (REST and webhook shapes coincide).

import type { Account, Issue, IssueComment, Label, Repository, SimState } from "../state.js";
import { simpleUser, type Urls } from "./account.js";

export type AuthorAssociation = "OWNER" | "MEMBER" | "COLLABORATOR" | "NONE";

export function authorAssociation(state: SimState, repo: Repository, account: Account): AuthorAssociation {
  if (repo.owner === account) return "OWNER";
  if (state.findOrganization(repo.owner.login)?.members.has(account.login.toLowerCase())) return "MEMBER";
  if (repo.collaborators.has(account.login.toLowerCase())) return "COLLABORATOR";
  return "NONE";
}

export function label(urls: Urls, repo: Repository, value: Label) {
  return {
    id: value.id,
    node_id: value.nodeId,
    url: `${urls.api}/repos/${repo.fullName}/labels/${encodeURIComponent(value.name)}`,
    name: value.name,
    color: value.color,
    default: value.default,
    description: value.description,
  };
}

function reactions(url: string) {
  return {
    url: `${url}/reactions`,
    total_count: 0,
    "+1": 0,
    "-1": 0,
    laugh: 0,
    hooray: 0,
    confused: 0,
    heart: 0,
    rocket: 0,
    eyes: 0,
  };
}

export function issueLabels(urls: Urls, issue: Issue) {
  return issue.labels.flatMap((name) => {
    const value = issue.repo.labels.get(name.toLowerCase());
    return value ? [label(urls, issue.repo, value)] : [];
  });
}

export function issue(urls: Urls, state: SimState, value: Issue) {
  const api = `${urls.api}/repos/${value.repo.fullName}/issues/${value.number}`;
  const pull = value.pullRequest;
  return {
    url: api,
    repository_url: `${urls.api}/repos/${value.repo.fullName}`,
    labels_url: `${api}/labels{/name}`,
    comments_url: `${api}/comments`,
    events_url: `${api}/events`,
    html_url: `${urls.web}/${value.repo.fullName}/${pull ? "pull" : "issues"}/${value.number}`,
    id: value.id,
    node_id: value.nodeId,
    number: value.number,
    title: value.title,
    user: simpleUser(urls, value.author),
    labels: issueLabels(urls, value),
    state: value.state,
    locked: value.locked,
    assignee: null,
    assignees: [],
    milestone: null,
    comments: value.comments.length,
    created_at: value.createdAt,
    updated_at: value.updatedAt,
    closed_at: value.closedAt,
    author_association: authorAssociation(state, value.repo, value.author),
    active_lock_reason: null,
    ...(pull
      ? {
          draft: pull.draft,
          pull_request: {
            url: `${urls.api}/repos/${value.repo.fullName}/pulls/${value.number}`,
            html_url: `${urls.web}/${value.repo.fullName}/pull/${value.number}`,
            diff_url: `${urls.web}/${value.repo.fullName}/pull/${value.number}.diff`,
            patch_url: `${urls.web}/${value.repo.fullName}/pull/${value.number}.patch`,
            merged_at: pull.merged?.at ?? null,
          },
        }
      : {}),
    body: value.body,
    reactions: reactions(api),
    timeline_url: `${api}/timeline`,
    performed_via_github_app: null,
    state_reason: value.stateReason,
  };
}

export function issueComment(
  urls: Urls,
  state: SimState,
  issueValue: Issue,
  comment: IssueComment,
  app: Record<string, unknown> | null,
) {
  const api = `${urls.api}/repos/${issueValue.repo.fullName}/issues/comments/${comment.id}`;
  const kind = issueValue.pullRequest ? "pull" : "issues";
  return {
    url: api,
    html_url: `${urls.web}/${issueValue.repo.fullName}/${kind}/${issueValue.number}#issuecomment-${comment.id}`,
    issue_url: `${urls.api}/repos/${issueValue.repo.fullName}/issues/${issueValue.number}`,
    id: comment.id,
    node_id: comment.nodeId,
    user: simpleUser(urls, comment.author),
    created_at: comment.createdAt,
    updated_at: comment.updatedAt,
    author_association: authorAssociation(state, issueValue.repo, comment.author),
    body: comment.body,
    reactions: reactions(api),
    performed_via_github_app: comment.viaApp ? app : null,
  };
}
