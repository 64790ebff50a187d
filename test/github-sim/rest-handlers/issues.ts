// issues/*: issues and pull request conversations, their comments and labels. Writes by the
// app send the webhooks GitHub sends (issues.opened, issue_comment.created) in the background.

import { notFound, paginate } from "../http.js";
import { issue as renderIssue, issueComment, issueLabels } from "../render/issue.js";
import type { Issue } from "../state.js";
import { issueCommentPayload, issuesPayload } from "../webhook-payloads.js";
import { actor, param, repoFor, type RestContext, type RestHandler } from "./context.js";

function issueFor(context: RestContext): Issue {
  const repo = repoFor(context);
  const issue = context.core.state.findIssue(repo, Number(param(context, "issue_number")));
  if (!issue) throw notFound();
  return issue;
}

const create: RestHandler = (context) => {
  const repo = repoFor(context);
  const { core } = context;
  const labels = ((context.body["labels"] as (string | { name?: string })[] | undefined) ?? []).flatMap((label) =>
    typeof label === "string" ? [label] : label.name ? [label.name] : [],
  );
  const body = context.body["body"];
  const issue = core.state.createIssue(repo, {
    author: actor(context),
    title: String(context.body["title"]),
    body: typeof body === "string" ? body : null,
    labels,
  });
  core.inBackground(() => core.deliver("issues", issuesPayload(core, issue, "opened", actor(context))));
  return { status: 201, body: renderIssue(core.urls, core.state, issue) };
};

const get: RestHandler = (context) => {
  const issue = issueFor(context);
  return { status: 200, body: renderIssue(context.core.urls, context.core.state, issue) };
};

/**
 * Edits an issue: title, body and state as GitHub documents them. Closing and reopening send the
 * issues.closed and issues.reopened webhooks; asking for the state the issue is already in
 * changes nothing and sends nothing, as on GitHub.
 */
const update: RestHandler = (context) => {
  const issue = issueFor(context);
  const { core } = context;
  const now = core.state.now();
  const { title, body, state } = context.body;
  if (typeof title === "string") Object.assign(issue, { title, updatedAt: now });
  if (typeof body === "string" || body === null) Object.assign(issue, { body, updatedAt: now });
  if ((state === "open" || state === "closed") && state !== issue.state) {
    const by = actor(context);
    if (state === "closed") {
      const reason = context.body["state_reason"];
      Object.assign(issue, { state, stateReason: typeof reason === "string" ? reason : "completed", closedAt: now, closedBy: by, updatedAt: now });
    } else {
      Object.assign(issue, { state, stateReason: "reopened", closedAt: null, closedBy: null, updatedAt: now });
    }
    core.inBackground(() => core.deliver("issues", issuesPayload(core, issue, state === "closed" ? "closed" : "reopened", by)));
  }
  return { status: 200, body: renderIssue(core.urls, core.state, issue) };
};

const createComment: RestHandler = (context) => {
  const issue = issueFor(context);
  const { core } = context;
  const comment = core.state.addComment(issue, actor(context), String(context.body["body"]), true);
  core.inBackground(() => core.deliver("issue_comment", issueCommentPayload(core, issue, comment, actor(context))));
  return { status: 201, body: issueComment(core.urls, core.state, issue, comment, core.appJson(issue.repo)) };
};

const listComments: RestHandler = (context) => {
  const issue = issueFor(context);
  const { core } = context;
  const since = typeof context.query["since"] === "string" ? Date.parse(context.query["since"]) : Number.NEGATIVE_INFINITY;
  const comments = issue.comments.filter((comment) => Date.parse(comment.updatedAt) >= since);
  const page = paginate(comments, context.query, context.url);
  return {
    status: 200,
    headers: page.headers,
    body: page.items.map((comment) => issueComment(core.urls, core.state, issue, comment, core.appJson(issue.repo))),
  };
};

const listLabels: RestHandler = (context) => {
  const issue = issueFor(context);
  const page = paginate(issueLabels(context.core.urls, issue), context.query, context.url);
  return { status: 200, headers: page.headers, body: page.items };
};

/** Issues (not pull requests, which GitHub also lists here) filtered by state and labels. */
const listForRepo: RestHandler = (context) => {
  const repo = repoFor(context);
  const { core } = context;
  const state = typeof context.query["state"] === "string" ? context.query["state"] : "open";
  const labels = typeof context.query["labels"] === "string" ? context.query["labels"].split(",").map((l) => l.trim().toLowerCase()).filter(Boolean) : [];
  const issues = [...core.state.issues.values()]
    .filter((i) => i.repo === repo && (state === "all" || i.state === state))
    .filter((i) => labels.every((l) => i.labels.some((name) => name.toLowerCase() === l)))
    .sort((a, b) => b.number - a.number);
  const page = paginate(issues, context.query, context.url);
  return { status: 200, headers: page.headers, body: page.items.map((i) => renderIssue(core.urls, core.state, i)) };
};

export const issuesHandlers: Record<string, RestHandler> = {
  "issues/create": create,
  "issues/get": get,
  "issues/update": update,
  "issues/list-for-repo": listForRepo,
  "issues/create-comment": createComment,
  "issues/list-comments": listComments,
  "issues/list-labels-on-issue": listLabels,
};
