// repos/*: repository, contents, compare, branch, collaborator permission and the pull requests of a commit.

import { posix } from "node:path";
import { associatedPullRequests } from "../associated-pulls.js";
import type { GitRepository, TreeEntry } from "../git-store.js";
import { HttpError, notFound, paginate } from "../http.js";
import { simpleUser } from "../render/account.js";
import { diffEntry, githubBase64, repoCommit } from "../render/git.js";
import { openIssueCount, pullRequestSimple } from "../render/pull-request.js";
import { fullRepository } from "../render/repository.js";
import type { Repository } from "../state.js";
import { param, repoFor, type RestContext, type RestHandler } from "./context.js";

/** Above 1 MB GitHub returns file metadata with empty content and encoding "none". */
const CONTENT_INLINE_LIMIT = 1024 * 1024;
/** Compare lists at most 300 files. */
const COMPARE_FILE_LIMIT = 300;
/** Compare lists at most 250 commits unless paginated. */
const COMPARE_COMMIT_LIMIT = 250;

const getRepository: RestHandler = (context) => {
  const repo = repoFor(context);
  const { urls, state } = context.core;
  return {
    status: 200,
    body: fullRepository(urls, repo, openIssueCount(state, repo), state.findOrganization(repo.owner.login)),
  };
};

function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

function contentLinks(context: RestContext, repo: Repository, ref: string, path: string, entry: TreeEntry) {
  const { urls } = context.core;
  const self = `${urls.api}/repos/${repo.fullName}/contents/${encodePath(path)}?ref=${encodeURIComponent(ref)}`;
  const kind = entry.type === "tree" ? "trees" : "blobs";
  const git = `${urls.api}/repos/${repo.fullName}/git/${kind}/${entry.sha}`;
  const html = `${urls.web}/${repo.fullName}/${entry.type === "tree" ? "tree" : "blob"}/${ref}/${encodePath(path)}`;
  return { url: self, git_url: git, html_url: html, _links: { self, git, html } };
}

function contentType(entry: TreeEntry): "file" | "dir" | "symlink" | "submodule" {
  if (entry.type === "tree") return "dir";
  if (entry.type === "commit") return "submodule";
  return entry.mode === "120000" ? "symlink" : "file";
}

async function describeEntry(context: RestContext, git: GitRepository, repo: Repository, ref: string, path: string, entry: TreeEntry) {
  const data = entry.type === "blob" ? await git.readBlob(entry.sha) : null;
  const type = contentType(entry);
  return {
    type,
    size: data?.length ?? 0,
    name: posix.basename(path),
    path,
    sha: entry.sha,
    ...contentLinks(context, repo, ref, path, entry),
    download_url:
      type === "file" ? `https://raw.githubusercontent.com/${repo.fullName}/${ref}/${encodePath(path)}` : null,
    ...(type === "symlink" && data ? { target: data.toString("utf8") } : {}),
  };
}

function wantsRaw(context: RestContext): boolean {
  return /application\/vnd\.github(\.v3)?\.raw/.test(context.headers["accept"] ?? "");
}

const getContent: RestHandler = async (context) => {
  const repo = repoFor(context);
  const git = context.core.git(repo);
  const ref = typeof context.query["ref"] === "string" ? context.query["ref"] : repo.defaultBranch;
  const commitSha = await git.resolveCommit(ref);
  if (!commitSha) throw new HttpError(404, `No commit found for the ref ${ref}`);
  const commit = await git.readCommit(commitSha);
  const path = param(context, "path").replace(/^\/+|\/+$/g, "");
  let entry = commit ? await git.entryAt(commit.tree, path) : null;
  let resolvedPath = path;
  if (!commit || !entry) throw notFound();
  // A symlink to a file inside the repository answers with that file, as GitHub documents.
  if (entry.mode === "120000") {
    const target = (await git.readBlob(entry.sha))?.toString("utf8") ?? "";
    const targetPath = posix.normalize(posix.join(posix.dirname(path), target));
    const targetEntry = targetPath.startsWith("..") ? null : await git.entryAt(commit.tree, targetPath);
    if (targetEntry?.type === "blob" && targetEntry.mode !== "120000") {
      entry = targetEntry;
      resolvedPath = targetPath;
    }
  }
  if (entry.type === "tree") {
    if (wantsRaw(context)) throw notFound();
    const children = (await git.readTree(entry.sha)) ?? [];
    const listing = await Promise.all(
      children.map((child) => describeEntry(context, git, repo, ref, `${resolvedPath}/${child.name}`, child)),
    );
    return { status: 200, body: listing };
  }
  if (wantsRaw(context)) {
    const data = (await git.readBlob(entry.sha)) ?? Buffer.alloc(0);
    return { status: 200, body: data, headers: { "content-type": "application/vnd.github.raw; charset=utf-8" } };
  }
  const described = await describeEntry(context, git, repo, ref, resolvedPath, entry);
  if (described.type !== "file") return { status: 200, body: described };
  const data = (await git.readBlob(entry.sha)) ?? Buffer.alloc(0);
  const inline = data.length <= CONTENT_INLINE_LIMIT;
  return {
    status: 200,
    body: { ...described, content: inline ? githubBase64(data) : "", encoding: inline ? "base64" : "none" },
  };
};

const compareCommits: RestHandler = async (context) => {
  const repo = repoFor(context);
  const { core } = context;
  const git = core.git(repo);
  const baseRev = param(context, "base");
  const headRev = param(context, "head");
  const [base, head] = await Promise.all([git.resolveCommit(baseRev), git.resolveCommit(headRev)]);
  if (!base || !head) throw notFound();
  const mergeBase = await git.mergeBase(base, head);
  if (!mergeBase) throw new HttpError(404, `No common ancestor between ${baseRev} and ${headRev}.`);
  const [ahead, behind, diff] = await Promise.all([
    git.commitsBetween(base, head),
    git.commitsBetween(head, base),
    git.diff(mergeBase, head),
  ]);
  const status =
    ahead.length === 0 && behind.length === 0 ? "identical" : behind.length === 0 ? "ahead" : ahead.length === 0 ? "behind" : "diverged";
  const paged = context.query["page"] !== undefined || context.query["per_page"] !== undefined;
  const page = paged ? paginate(ahead, context.query, context.url) : { items: ahead.slice(0, COMPARE_COMMIT_LIMIT), headers: {} };
  const render = async (sha: string) => {
    const commit = await git.readCommit(sha);
    if (!commit) throw new Error(`github-sim: missing commit ${sha}`);
    return repoCommit(core.urls, core.state, repo, commit);
  };
  const web = `${core.urls.web}/${repo.fullName}`;
  const basehead = `${baseRev}...${headRev}`;
  return {
    status: 200,
    headers: page.headers,
    body: {
      url: `${core.urls.api}/repos/${repo.fullName}/compare/${basehead}`,
      html_url: `${web}/compare/${basehead}`,
      permalink_url: `${web}/compare/${repo.owner.login}:${base.slice(0, 7)}...${repo.owner.login}:${head.slice(0, 7)}`,
      diff_url: `${web}/compare/${basehead}.diff`,
      patch_url: `${web}/compare/${basehead}.patch`,
      base_commit: await render(base),
      merge_base_commit: await render(mergeBase),
      status,
      ahead_by: ahead.length,
      behind_by: behind.length,
      total_commits: ahead.length,
      commits: await Promise.all(page.items.map(render)),
      files: diff.slice(0, COMPARE_FILE_LIMIT).map((entry) => diffEntry(core.urls, repo, head, entry)),
    },
  };
};

const getBranch: RestHandler = async (context) => {
  const repo = repoFor(context);
  const { core } = context;
  const branch = param(context, "branch");
  const sha = await core.branchHead(repo, branch);
  const commit = sha ? await core.git(repo).readCommit(sha) : null;
  if (!commit) throw new HttpError(404, "Branch not found");
  const api = `${core.urls.api}/repos/${repo.fullName}/branches/${encodeURIComponent(branch)}`;
  const protection = repo.branchProtection.get(branch);
  const required = protection?.requiredChecks ?? [];
  return {
    status: 200,
    body: {
      name: branch,
      commit: repoCommit(core.urls, core.state, repo, commit),
      _links: { self: api, html: `${core.urls.web}/${repo.fullName}/tree/${branch}` },
      protected: protection !== undefined,
      protection: {
        enabled: protection !== undefined,
        required_status_checks: {
          enforcement_level: required.length > 0 ? "non_admins" : "off",
          contexts: required.map((c) => c.context),
          checks: required.map((c) => ({ context: c.context, app_id: c.appId })),
        },
      },
      protection_url: `${api}/protection`,
    },
  };
};

/** Rules that apply to a branch, from every ruleset targeting it (readable with metadata access). */
const getBranchRules: RestHandler = (context) => {
  const repo = repoFor(context);
  const branch = param(context, "branch");
  const rules = repo.rulesets
    .filter((ruleset) => ruleset.branches.includes(branch))
    .flatMap((ruleset) =>
      ruleset.rules.map((rule) => ({
        type: rule.type,
        ...(rule.parameters ? { parameters: rule.parameters } : {}),
        ruleset_source_type: "Repository",
        ruleset_source: repo.fullName,
        ruleset_id: ruleset.id,
      })),
    );
  const page = paginate(rules, context.query, context.url);
  return { status: 200, headers: page.headers, body: page.items };
};

/** The legacy `permission` field folds maintain into write and triage into read. */
const LEGACY: Record<string, "admin" | "write" | "read" | "none"> = {
  admin: "admin",
  maintain: "write",
  write: "write",
  triage: "read",
  read: "read",
  none: "none",
};

const getCollaboratorPermissionLevel: RestHandler = (context) => {
  const repo = repoFor(context);
  const { core } = context;
  const login = param(context, "username");
  const role = core.state.permissionOf(repo, login);
  const account = core.state.findAccount(login);
  if (role === undefined || !account) throw new HttpError(404, `${login} is not a user`);
  const legacy = LEGACY[role] ?? "none";
  return {
    status: 200,
    body: {
      permission: legacy,
      role_name: role,
      user: {
        ...simpleUser(core.urls, account),
        permissions: {
          admin: legacy === "admin",
          maintain: role === "admin" || role === "maintain",
          push: legacy === "admin" || legacy === "write",
          triage: legacy !== "none",
          pull: legacy !== "none",
        },
        role_name: role,
      },
    },
  };
};

/**
 * GitHub: "Lists the merged pull request that introduced the commit to the repository. If the
 * commit is not present in the default branch, it will return merged and open pull requests
 * associated with the commit." A branch name works in place of a sha (its tip commit).
 */
const listPullRequestsAssociatedWithCommit: RestHandler = async (context) => {
  const repo = repoFor(context);
  const { core } = context;
  const git = core.git(repo);
  const revision = param(context, "commit_sha");
  const sha = await git.resolveCommit(revision);
  // What GitHub answers for a sha it does not know; an app asking about a force-pushed-away
  // commit provokes it legitimately, so it is not a rejection.
  if (!sha) throw new HttpError(422, `No commit found for SHA: ${revision}`);
  const associated = await associatedPullRequests(core, repo, sha);
  const page = paginate(associated, context.query, context.url);
  const openIssues = openIssueCount(core.state, repo);
  return {
    status: 200,
    headers: page.headers,
    body: page.items.map((pull) => pullRequestSimple(core.urls, core.state, pull, openIssues)),
  };
};

export const reposHandlers: Record<string, RestHandler> = {
  "repos/get": getRepository,
  "repos/get-content": getContent,
  "repos/compare-commits": compareCommits,
  "repos/get-branch": getBranch,
  "repos/get-branch-rules": getBranchRules,
  "repos/get-collaborator-permission-level": getCollaboratorPermissionLevel,
  "repos/list-pull-requests-associated-with-commit": listPullRequestsAssociatedWithCommit,
};
