// POST /graphql: every query is validated against GitHub's published schema, and a subset is
// executed for real against the git repositories: repository.object(expression:) for blobs,
// trees (with nested entries) and commits (with their parents, history and associated pull
// requests), rateLimit, viewer, and createCommitOnBranch with GitHub's compare-and-swap on
// expectedHeadOid.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  buildSchema,
  execute,
  GraphQLError,
  parse,
  validate,
  type DocumentNode,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from "graphql";
import type { InstallationToken } from "./auth.js";
import { associatedPullRequests } from "./associated-pulls.js";
import type { SimCore } from "./core.js";
import { GitTreeError, type FileChange, type TreeEntry } from "./git-store.js";
import type { RateLimitSnapshot } from "./rate-limit.js";
import { suiteSummary } from "./render/check-run.js";
import { accountForEmail, coAuthors } from "./render/git.js";
import { githubTimestamp, type Account, type CheckRun, type CheckSuite, type PullRequest, type Repository } from "./state.js";

/** A blob's `text` stops at this many bytes and `isTruncated` turns true (GitHub's cut-off is similar). */
const BLOB_TEXT_LIMIT = 512 * 1024;
/** GitHub's cap on `first` for every connection. */
const CONNECTION_LIMIT = 100;
/** Git's own heuristic: a NUL byte in the first 8000 bytes means binary. */
const BINARY_SNIFF_BYTES = 8000;
/** GitHub lists at most this many commits of a pull request (totalCount still counts them all). */
const PULL_COMMIT_LIMIT = 250;

let schema: GraphQLSchema | undefined;

/** GitHub's SDL defines two fields twice, so it only builds with assumeValidSDL (see stack.md). */
function githubSchema(): GraphQLSchema {
  if (!schema) {
    const sdlPath = fileURLToPath(new URL("schema.graphql", import.meta.resolve("@octokit/graphql-schema")));
    schema = buildSchema(readFileSync(sdlPath, "utf8"), { assumeValidSDL: true });
  }
  return schema;
}

export interface GraphqlContext {
  readonly core: SimCore;
  readonly token: InstallationToken;
  readonly rate: RateLimitSnapshot;
  readonly cost: number;
  /** Fields the query selected that the simulator does not implement. */
  readonly unsimulated: string[];
}

export interface GraphqlOutcome {
  readonly body: { data?: unknown; errors?: unknown[] };
  /** Set when GitHub would have refused the document itself (parse or validation errors). */
  readonly invalid: boolean;
  readonly unsimulated: readonly string[];
}

function gqlError(message: string, type: string): GraphQLError {
  return new GraphQLError(message, { extensions: { type } });
}

function octalMode(mode: string): number {
  return Number.parseInt(mode, 8);
}

type Node = Record<string, unknown>;

function blobNode(core: SimCore, repo: Repository, sha: string, data: Buffer): Node {
  const binary = data.subarray(0, BINARY_SNIFF_BYTES).includes(0);
  return {
    __typename: "Blob",
    id: Buffer.from(`Blob:${repo.id}:${sha}`).toString("base64"),
    oid: sha,
    abbreviatedOid: sha.slice(0, 7),
    byteSize: data.length,
    isBinary: binary,
    isTruncated: !binary && data.length > BLOB_TEXT_LIMIT,
    text: binary ? null : data.subarray(0, BLOB_TEXT_LIMIT).toString("utf8"),
    commitResourcePath: `/${repo.fullName}/blob/${sha}`,
    commitUrl: `${core.urls.web}/${repo.fullName}/blob/${sha}`,
  };
}

function entryNode(core: SimCore, repo: Repository, entry: TreeEntry, path: string): Node {
  const dot = entry.name.lastIndexOf(".");
  const blob = async () => (entry.type === "blob" ? await core.git(repo).readBlob(entry.sha) : null);
  return {
    __typename: "TreeEntry",
    name: entry.name,
    nameRaw: Buffer.from(entry.name).toString("base64"),
    path,
    pathRaw: Buffer.from(path).toString("base64"),
    type: entry.type,
    mode: octalMode(entry.mode),
    oid: entry.sha,
    extension: entry.type === "blob" && dot > 0 ? entry.name.slice(dot) : null,
    isGenerated: false,
    language: null,
    submodule: null,
    size: async () => (await blob())?.length ?? 0,
    lineCount: async () => {
      const data = await blob();
      if (!data || data.subarray(0, BINARY_SNIFF_BYTES).includes(0)) return null;
      return data.toString("utf8").split("\n").length - (data.at(-1) === 0x0a ? 1 : 0);
    },
    object: () => objectNode(core, repo, entry.sha, path),
  };
}

interface ConnectionArgs {
  readonly first?: number | null;
  readonly after?: string | null;
  readonly last?: number | null;
  readonly before?: string | null;
}

/** GitHub's rules for `first`: given, not negative, at most 100; `last` is not simulated. */
function pageSize(args: ConnectionArgs, connection: string): number {
  if (args.last != null || args.before != null) throw gqlError(`github-sim does not simulate last/before on ${connection}`, "UNSIMULATED");
  if (args.first == null) throw gqlError(`You must provide a \`first\` or \`last\` value to properly paginate the \`${connection}\` connection.`, "MISSING_PAGINATION_BOUNDARIES");
  if (args.first < 0) throw gqlError(`\`first\` on the \`${connection}\` connection cannot be less than zero.`, "ARGUMENT_LIMIT");
  if (args.first > CONNECTION_LIMIT) {
    throw gqlError(`Requesting ${String(args.first)} records on the \`${connection}\` connection exceeds the \`first\` limit of ${String(CONNECTION_LIMIT)} records.`, "EXCESSIVE_PAGINATION");
  }
  return args.first;
}

/** Cursors are opaque to clients; here an item's cursor is its offset in the whole list. */
function cursorOffset(after: string | null | undefined): number {
  if (after == null) return 0;
  const offset = Number(Buffer.from(after, "base64").toString("utf8").replace(/^offset:/, ""));
  if (!Number.isSafeInteger(offset) || offset < 0) throw gqlError(`\`${after}\` does not appear to be a valid cursor.`, "INVALID_CURSOR_ARGUMENTS");
  return offset + 1;
}

function cursor(offset: number): string {
  return Buffer.from(`offset:${String(offset)}`).toString("base64");
}

/** A connection page over `items` starting at `start`, with `more` telling whether items follow it. */
function connection(typename: string, items: readonly (() => unknown)[], start: number, more: boolean): Node {
  return {
    __typename: typename,
    nodes: () => items.map((node) => node()),
    edges: () => items.map((node, i) => ({ __typename: typename.replace(/Connection$/, "Edge"), cursor: cursor(start + i), node })),
    pageInfo: {
      __typename: "PageInfo",
      hasNextPage: more,
      hasPreviousPage: start > 0,
      startCursor: items.length > 0 ? cursor(start) : null,
      endCursor: items.length > 0 ? cursor(start + items.length - 1) : null,
    },
  };
}

function pullRequestNode(core: SimCore, pull: PullRequest): Node {
  const repo = pull.issue.repo;
  return {
    __typename: "PullRequest",
    id: pull.nodeId,
    databaseId: pull.id,
    number: pull.issue.number,
    title: pull.issue.title,
    url: `${core.urls.web}/${repo.fullName}/pull/${String(pull.issue.number)}`,
    state: pull.merged ? "MERGED" : pull.issue.state === "open" ? "OPEN" : "CLOSED",
    merged: pull.merged !== null,
    mergedAt: pull.merged?.at ?? null,
    baseRefName: pull.baseRef,
    headRefName: pull.headRef,
    mergeCommit: () => (pull.merged ? commitNode(core, repo, pull.merged.commitSha) : null),
    commits: async (args: ConnectionArgs) => {
      const size = pageSize(args, "commits");
      const start = cursorOffset(args.after);
      const all = await core.git(repo).commitsBetween(pull.baseSha, pull.headSha);
      const listed = all.slice(0, PULL_COMMIT_LIMIT);
      const page = listed.slice(start, start + size);
      const items = page.map((oid) => () => ({ __typename: "PullRequestCommit", id: Buffer.from(`PullRequestCommit:${pull.id}:${oid}`).toString("base64"), commit: () => commitNode(core, repo, oid) }));
      return { ...connection("PullRequestCommitConnection", items, start, listed.length > start + size), totalCount: all.length };
    },
  };
}

function userNode(account: Account): Node {
  return { __typename: account.type === "Bot" ? "Bot" : "User", id: account.nodeId, databaseId: account.id, login: account.login };
}

const CHECK_STATUS: Readonly<Record<string, string>> = { queued: "QUEUED", in_progress: "IN_PROGRESS", completed: "COMPLETED", waiting: "WAITING", requested: "REQUESTED", pending: "PENDING" };

function checkRunNode(core: SimCore, run: CheckRun): Node {
  return {
    __typename: "CheckRun",
    id: run.nodeId,
    databaseId: run.id,
    name: run.name,
    status: CHECK_STATUS[run.status] ?? "QUEUED",
    conclusion: run.conclusion ? run.conclusion.toUpperCase() : null,
    startedAt: run.startedAt,
    completedAt: run.completedAt,
    detailsUrl: run.detailsUrl,
    externalId: run.externalId,
    permalink: `${core.urls.web}/${run.repo.fullName}/runs/${run.id}`,
    url: `${core.urls.web}/${run.repo.fullName}/runs/${run.id}`,
    title: run.output.title,
    summary: run.output.summary,
  };
}

interface CheckRunFilterArgs extends ConnectionArgs {
  readonly filterBy?: Readonly<Record<string, unknown>> | null;
}

function checkSuiteNode(core: SimCore, suite: CheckSuite): Node {
  const runs = () => [...core.state.checkRuns.values()].filter((run) => run.suite === suite);
  const summary = () => suiteSummary(runs());
  const workflowRun = suite.workflowRun;
  return {
    __typename: "CheckSuite",
    id: suite.nodeId,
    databaseId: suite.id,
    createdAt: suite.createdAt,
    updatedAt: suite.updatedAt,
    status: () => CHECK_STATUS[summary().status] ?? "QUEUED",
    conclusion: () => summary().conclusion?.toUpperCase() ?? null,
    app: { __typename: "App", id: suite.app.nodeId, databaseId: suite.app.id, slug: suite.app.slug, name: suite.app.name },
    workflowRun: workflowRun
      ? {
          __typename: "WorkflowRun",
          id: workflowRun.nodeId,
          databaseId: workflowRun.id,
          event: workflowRun.event,
          runNumber: workflowRun.runNumber,
          file: { __typename: "WorkflowRunFile", id: Buffer.from(`WorkflowRunFile:${workflowRun.id}`).toString("base64"), path: workflowRun.path },
        }
      : null,
    checkRuns: (args: CheckRunFilterArgs) => {
      const { checkType, ...others } = args.filterBy ?? {};
      if (Object.keys(others).length > 0) throw gqlError(`github-sim does not simulate checkRuns(filterBy: ${Object.keys(others).join(", ")})`, "UNSIMULATED");
      const size = pageSize(args, "checkRuns");
      const start = cursorOffset(args.after);
      let list = runs().sort((a, b) => a.id - b.id);
      if (checkType !== "ALL") {
        // LATEST (the default): the newest run of each name in the suite.
        const newest = new Map<string, CheckRun>();
        for (const run of list) newest.set(run.name, run);
        list = [...newest.values()].sort((a, b) => a.id - b.id);
      }
      const page = list.slice(start, start + size);
      return { ...connection("CheckRunConnection", page.map((run) => () => checkRunNode(core, run)), start, list.length > start + size), totalCount: list.length };
    },
  };
}

interface HistoryArgs extends ConnectionArgs {
  readonly path?: string | null;
  readonly since?: string | null;
  readonly until?: string | null;
  readonly author?: unknown;
}

/** Commit.history: `git log` from the commit, filtered by path and committer date. */
async function historyConnection(core: SimCore, repo: Repository, sha: string, args: HistoryArgs): Promise<Node> {
  if (args.author != null) throw gqlError("github-sim does not simulate history(author:)", "UNSIMULATED");
  const size = pageSize(args, "history");
  const start = cursorOffset(args.after);
  const date = (value: string | null | undefined): Date | undefined => {
    if (value == null) return undefined;
    const parsed = new Date(value);
    if (Number.isNaN(parsed.getTime())) throw gqlError(`"${value}" is not a valid GitTimestamp`, "INVALID_ARGUMENT");
    return parsed;
  };
  const since = date(args.since);
  const until = date(args.until);
  const shas = await core.git(repo).log(sha, {
    skip: start,
    limit: size + 1,
    ...(args.path ? { path: args.path.replace(/^\/+|\/+$/g, "") } : {}),
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
  });
  const page = shas.slice(0, size);
  return connection("CommitHistoryConnection", page.map((oid) => () => commitNode(core, repo, oid)), start, shas.length > size);
}

async function commitNode(core: SimCore, repo: Repository, sha: string): Promise<Node | null> {
  const commit = await core.git(repo).readCommit(sha);
  if (!commit) return null;
  const [headline = "", ...rest] = commit.message.replace(/\n$/, "").split("\n");
  const actor = (who: { name: string; email: string; date?: Date }) => {
    const account = accountForEmail(core.state, who.email);
    return { __typename: "GitActor", name: who.name, email: who.email, date: who.date ? githubTimestamp(who.date) : null, user: account && account.type !== "Bot" ? userNode(account) : null };
  };
  // GitHub's Commit.authors: the git author, then each Co-authored-by trailer.
  const authors = [actor(commit.author), ...coAuthors(commit.message).map((c) => actor(c))];
  return {
    __typename: "Commit",
    id: Buffer.from(`Commit:${repo.id}:${sha}`).toString("base64"),
    oid: sha,
    abbreviatedOid: sha.slice(0, 7),
    message: commit.message.replace(/\n$/, ""),
    messageHeadline: headline,
    messageBody: rest.join("\n").replace(/^\n+/, ""),
    committedDate: githubTimestamp(commit.committer.date),
    authoredDate: githubTimestamp(commit.author.date),
    author: actor(commit.author),
    committer: actor(commit.committer),
    url: `${core.urls.web}/${repo.fullName}/commit/${sha}`,
    commitUrl: `${core.urls.web}/${repo.fullName}/commit/${sha}`,
    commitResourcePath: `/${repo.fullName}/commit/${sha}`,
    resourcePath: `/${repo.fullName}/commit/${sha}`,
    tree: () => objectNode(core, repo, commit.tree, ""),
    parents: (args: ConnectionArgs) => {
      const size = pageSize(args, "parents");
      const start = cursorOffset(args.after);
      const page = commit.parents.slice(start, start + size);
      return { ...connection("CommitConnection", page.map((oid) => () => commitNode(core, repo, oid)), start, commit.parents.length > start + size), totalCount: commit.parents.length };
    },
    history: (args: HistoryArgs) => historyConnection(core, repo, sha, args),
    authors: (args: ConnectionArgs) => {
      const size = pageSize(args, "authors");
      const start = cursorOffset(args.after);
      const page = authors.slice(start, start + size);
      return { ...connection("GitActorConnection", page.map((a) => () => a), start, authors.length > start + size), totalCount: authors.length };
    },
    checkSuites: (args: CheckRunFilterArgs) => {
      if (args.filterBy != null) throw gqlError("github-sim does not simulate checkSuites(filterBy:)", "UNSIMULATED");
      const size = pageSize(args, "checkSuites");
      const start = cursorOffset(args.after);
      const suites = [...core.state.checkSuites.values()].filter((s) => s.repo === repo && s.headSha === sha).sort((a, b) => a.id - b.id);
      const page = suites.slice(start, start + size);
      return { ...connection("CheckSuiteConnection", page.map((s) => () => checkSuiteNode(core, s)), start, suites.length > start + size), totalCount: suites.length };
    },
    associatedPullRequests: async (args: ConnectionArgs & { orderBy?: unknown }) => {
      const size = pageSize(args, "associatedPullRequests");
      const start = cursorOffset(args.after);
      const pulls = await associatedPullRequests(core, repo, sha);
      const page = pulls.slice(start, start + size);
      return { ...connection("PullRequestConnection", page.map((pull) => () => pullRequestNode(core, pull)), start, pulls.length > start + size), totalCount: pulls.length };
    },
  };
}

/** `path` is where the object sits in its commit's tree, so tree entries can report full paths. */
async function objectNode(core: SimCore, repo: Repository, expression: string, path: string): Promise<Node | null> {
  const object = await core.git(repo).readObject(expression);
  if (!object) return null;
  const sha = object.sha;
  if (object.type === "blob") return blobNode(core, repo, sha, object.data);
  if (object.type === "commit") return commitNode(core, repo, sha);
  if (object.type !== "tree") return null;
  return {
    __typename: "Tree",
    id: Buffer.from(`Tree:${repo.id}:${sha}`).toString("base64"),
    oid: sha,
    abbreviatedOid: sha.slice(0, 7),
    commitResourcePath: `/${repo.fullName}/tree/${sha}`,
    commitUrl: `${core.urls.web}/${repo.fullName}/tree/${sha}`,
    entries: async () =>
      ((await core.git(repo).readTree(sha)) ?? []).map((entry) =>
        entryNode(core, repo, entry, path ? `${path}/${entry.name}` : entry.name),
      ),
  };
}

function reachable(context: GraphqlContext, repo: Repository): boolean {
  const { token } = context;
  return repo.installationId === token.installationId && (token.repositoryIds === null || token.repositoryIds.has(repo.id));
}

function repositoryNode(context: GraphqlContext, repo: Repository): Node {
  const { core } = context;
  const refNode = async (name: string) => {
    const sha = await core.branchHead(repo, name);
    return sha
      ? { __typename: "Ref", name, prefix: "refs/heads/", id: Buffer.from(`Ref:${repo.id}:${name}`).toString("base64"), target: () => commitNode(core, repo, sha) }
      : null;
  };
  return {
    __typename: "Repository",
    id: repo.nodeId,
    databaseId: repo.id,
    name: repo.name,
    nameWithOwner: repo.fullName,
    url: `${core.urls.web}/${repo.fullName}`,
    isPrivate: repo.private,
    owner: { __typename: repo.owner.type === "Organization" ? "Organization" : "User", login: repo.owner.login, id: repo.owner.nodeId },
    defaultBranchRef: () => refNode(repo.defaultBranch),
    pullRequest: ({ number }: { number: number }) => {
      const pull = core.state.findPullRequest(repo, number);
      if (!pull) throw gqlError(`Could not resolve to a PullRequest with the number of ${String(number)}.`, "NOT_FOUND");
      return pullRequestNode(core, pull);
    },
    ref: ({ qualifiedName }: { qualifiedName: string }) => refNode(qualifiedName.replace(/^refs\/heads\//, "")),
    object: ({ expression, oid }: { expression?: string; oid?: string }) => {
      const target = expression ?? oid;
      if (!target) return null;
      const colon = target.indexOf(":");
      return objectNode(core, repo, target, colon >= 0 ? target.slice(colon + 1).replace(/^\/+|\/+$/g, "") : "");
    },
  };
}

interface CreateCommitInput {
  branch: { repositoryNameWithOwner?: string; branchName?: string; id?: string };
  expectedHeadOid: string;
  message: { headline: string; body?: string | null };
  fileChanges?: { additions?: { path: string; contents: string }[] | null; deletions?: { path: string }[] | null } | null;
  clientMutationId?: string | null;
}

async function createCommitOnBranch(context: GraphqlContext, input: CreateCommitInput): Promise<Node> {
  const { core } = context;
  const [owner = "", name = ""] = (input.branch.repositoryNameWithOwner ?? "").split("/");
  const repo = core.state.findRepository(owner, name);
  if (!repo || !reachable(context, repo)) {
    throw gqlError(`Could not resolve to a Repository with the name '${input.branch.repositoryNameWithOwner ?? ""}'.`, "NOT_FOUND");
  }
  if (context.token.permissions["contents"] !== "write") {
    throw gqlError("Resource not accessible by integration", "FORBIDDEN");
  }
  const branch = input.branch.branchName;
  if (!branch) throw gqlError("A branch name is required when no branch id is given", "UNPROCESSABLE");
  if (!(await core.branchHead(repo, branch))) {
    throw gqlError(`A ref named "refs/heads/${branch}" does not exist`, "NOT_FOUND");
  }
  const files = new Map<string, FileChange>();
  for (const deletion of input.fileChanges?.deletions ?? []) files.set(deletion.path, null);
  for (const addition of input.fileChanges?.additions ?? []) files.set(addition.path, Buffer.from(addition.contents, "base64"));
  const body = input.message.body ? `\n\n${input.message.body}` : "";
  let outcome: Awaited<ReturnType<SimCore["commitToBranch"]>>;
  try {
    outcome = await core.commitToBranch(repo, {
      branch,
      files,
      message: `${input.message.headline}${body}`,
      author: core.identity(core.state.app.bot),
      committer: core.githubIdentity(),
      expectedHead: input.expectedHeadOid,
    });
  } catch (error: unknown) {
    if (error instanceof GitTreeError) {
      throw gqlError(
        `A path was requested for deletion which does not exist as of commit oid \`${input.expectedHeadOid}\``,
        "UNPROCESSABLE",
      );
    }
    throw error;
  }
  if ("stale" in outcome) {
    throw gqlError(`Expected branch to point to "${input.expectedHeadOid}" but it did not. Pull and try again.`, "STALE_DATA");
  }
  const { before, after } = outcome;
  core.inBackground(() => core.branchMoved(repo, branch, before, after, core.state.app.bot));
  return {
    __typename: "CreateCommitOnBranchPayload",
    clientMutationId: input.clientMutationId ?? null,
    commit: () => commitNode(core, repo, after),
    ref: {
      __typename: "Ref",
      name: branch,
      prefix: "refs/heads/",
      id: Buffer.from(`Ref:${repo.id}:${branch}`).toString("base64"),
      target: () => commitNode(core, repo, after),
    },
  };
}

function rootValue(context: GraphqlContext): Node {
  const { core } = context;
  return {
    repository: ({ owner, name }: { owner: string; name: string }) => {
      const repo = core.state.findRepository(owner, name);
      if (!repo || !reachable(context, repo)) {
        throw gqlError(`Could not resolve to a Repository with the name '${owner}/${name}'.`, "NOT_FOUND");
      }
      return repositoryNode(context, repo);
    },
    viewer: () => ({ __typename: "User", login: core.state.app.bot.login, id: core.state.app.bot.nodeId, databaseId: core.state.app.bot.id }),
    rateLimit: () => ({
      __typename: "RateLimit",
      cost: context.cost,
      limit: context.rate.limit,
      remaining: context.rate.remaining,
      used: context.rate.used,
      resetAt: githubTimestamp(new Date(context.rate.reset * 1000)),
      nodeCount: 0,
    }),
    createCommitOnBranch: ({ input }: { input: CreateCommitInput }) => createCommitOnBranch(context, input),
  };
}

/** Resolves only what the simulator models; anything else is reported instead of silently null. */
const fieldResolver: GraphQLFieldResolver<unknown, GraphqlContext> = (source, args, context, info) => {
  if (source !== null && typeof source === "object" && info.fieldName in source) {
    const value = (source as Record<string, unknown>)[info.fieldName];
    return typeof value === "function" ? (value as (a: unknown, c: unknown, i: unknown) => unknown)(args, context, info) : value;
  }
  const field = `${info.parentType.name}.${info.fieldName}`;
  context.unsimulated.push(field);
  throw gqlError(`github-sim does not simulate ${field}`, "UNSIMULATED");
};

function formatError(error: GraphQLError): Record<string, unknown> {
  const type = error.extensions["type"];
  return {
    ...(typeof type === "string" ? { type } : {}),
    ...(error.path ? { path: error.path } : {}),
    ...(error.locations ? { locations: error.locations } : {}),
    message: error.message,
  };
}

/** Parses and validates; null document means the errors are GitHub's refusal of the request. */
function checkDocument(query: unknown): { document: DocumentNode | null; errors: Record<string, unknown>[] } {
  if (typeof query !== "string" || query.trim() === "") {
    return { document: null, errors: [{ message: "A query attribute must be specified and must be a string." }] };
  }
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch (error: unknown) {
    if (error instanceof GraphQLError) return { document: null, errors: [formatError(error)] };
    throw error;
  }
  const errors = validate(githubSchema(), document);
  return errors.length > 0 ? { document: null, errors: errors.map(formatError) } : { document, errors: [] };
}

export async function executeGraphql(
  core: SimCore,
  token: InstallationToken,
  rate: RateLimitSnapshot,
  request: { query?: unknown; variables?: unknown; operationName?: unknown },
): Promise<GraphqlOutcome> {
  const checked = checkDocument(request.query);
  if (!checked.document) return { body: { errors: checked.errors }, invalid: true, unsimulated: [] };
  const context: GraphqlContext = { core, token, rate, cost: 1, unsimulated: [] };
  const result = await execute({
    schema: githubSchema(),
    document: checked.document,
    rootValue: rootValue(context),
    contextValue: context,
    variableValues: (request.variables ?? null) as Record<string, unknown> | null,
    operationName: typeof request.operationName === "string" ? request.operationName : null,
    fieldResolver,
  });
  const errors = result.errors?.map(formatError);
  return {
    body: { ...(result.data !== undefined ? { data: result.data } : {}), ...(errors ? { errors } : {}) },
    // No data at all means the request itself was refused (e.g. a missing required variable).
    invalid: result.data === undefined,
    unsimulated: context.unsimulated,
  };
}
