// Git data (refs, trees, blobs, commits, diff entries) as GitHub's REST API renders it.

import type { CommitObject, DiffEntry, GitIdentity, TreeEntry } from "../git-store.js";
import type { Account, Repository, SimState } from "../state.js";
import { githubTimestamp } from "../state.js";
import { simpleUser, type Urls } from "./account.js";

/** GitHub returns base64 the way Ruby's encode64 writes it: wrapped at 60 characters, newline-terminated. */
export function githubBase64(data: Buffer): string {
  const flat = data.toString("base64");
  if (flat.length === 0) return "";
  const lines: string[] = [];
  for (let index = 0; index < flat.length; index += 60) lines.push(flat.slice(index, index + 60));
  return `${lines.join("\n")}\n`;
}

/** Commits the simulator writes for a person use GitHub's noreply address, so they map back to the account. */
export function noreplyEmail(account: Account): string {
  return `${account.id}+${account.login}@users.noreply.github.com`;
}

/**
 * The account a commit's email belongs to, as GitHub links them: a noreply address names its
 * account, any other address must be one an account has added (here: its email), and GitHub's
 * own address is the web-flow account's. Anything else links to nobody.
 */
export function accountForEmail(state: SimState, email: string): Account | null {
  const match = /^\d+\+(.+)@users\.noreply\.github\.com$/.exec(email);
  if (match?.[1]) return state.findAccount(match[1]) ?? null;
  if (email.toLowerCase() === "noreply@github.com") return state.ensureAccount("web-flow");
  const lower = email.toLowerCase();
  for (const account of state.accounts.values()) if (account.email?.toLowerCase() === lower) return account;
  return null;
}

// A trailer as GitHub reads it: "Co-authored-by: Name <email>" on a line of its own.
const CO_AUTHOR = /^co-authored-by:[ \t]*(.*?)[ \t]*<([^<>\r\n]*)>[ \t]*$/gim;

/** The co-authors a commit message's trailers name. */
export function coAuthors(message: string): { name: string; email: string }[] {
  return [...message.matchAll(CO_AUTHOR)].map((m) => ({ name: m[1] ?? "", email: m[2] ?? "" }));
}

function gitUser(identity: GitIdentity) {
  return { name: identity.name, email: identity.email, date: githubTimestamp(identity.date) };
}

const UNSIGNED = { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null };

export function gitRef(urls: Urls, repo: Repository, ref: string, sha: string, type: string) {
  const api = `${urls.api}/repos/${repo.fullName}/git`;
  return {
    ref,
    node_id: Buffer.from(`Ref:${repo.id}:${ref}`).toString("base64"),
    url: `${api}/${ref}`,
    object: { sha, type, url: `${api}/${type}s/${sha}` },
  };
}

export function gitTree(
  urls: Urls,
  repo: Repository,
  sha: string,
  entries: readonly (TreeEntry & { path: string; size?: number })[],
) {
  const api = `${urls.api}/repos/${repo.fullName}/git`;
  return {
    sha,
    url: `${api}/trees/${sha}`,
    tree: entries.map((entry) => ({
      path: entry.path,
      mode: entry.mode === "40000" ? "040000" : entry.mode,
      type: entry.type,
      sha: entry.sha,
      ...(entry.type === "blob" && entry.size !== undefined ? { size: entry.size } : {}),
      ...(entry.type === "commit" ? {} : { url: `${api}/${entry.type}s/${entry.sha}` }),
    })),
    truncated: false,
  };
}

export function gitBlob(urls: Urls, repo: Repository, sha: string, data: Buffer) {
  return {
    sha,
    node_id: Buffer.from(`Blob:${repo.id}:${sha}`).toString("base64"),
    size: data.length,
    url: `${urls.api}/repos/${repo.fullName}/git/blobs/${sha}`,
    content: githubBase64(data),
    encoding: "base64",
  };
}

export function gitCommit(urls: Urls, repo: Repository, commit: CommitObject) {
  const api = `${urls.api}/repos/${repo.fullName}`;
  return {
    sha: commit.sha,
    node_id: Buffer.from(`Commit:${repo.id}:${commit.sha}`).toString("base64"),
    url: `${api}/git/commits/${commit.sha}`,
    html_url: `${urls.web}/${repo.fullName}/commit/${commit.sha}`,
    author: gitUser(commit.author),
    committer: gitUser(commit.committer),
    tree: { sha: commit.tree, url: `${api}/git/trees/${commit.tree}` },
    message: commit.message.replace(/\n$/, ""),
    parents: commit.parents.map((sha) => ({
      sha,
      url: `${api}/git/commits/${sha}`,
      html_url: `${urls.web}/${repo.fullName}/commit/${sha}`,
    })),
    verification: UNSIGNED,
  };
}

/** The `commit` shape of repos/compare-commits, pulls/list-commits and repos/get-branch. */
export function repoCommit(urls: Urls, state: SimState, repo: Repository, commit: CommitObject) {
  const api = `${urls.api}/repos/${repo.fullName}`;
  const author = accountForEmail(state, commit.author.email);
  const committer = accountForEmail(state, commit.committer.email);
  return {
    sha: commit.sha,
    node_id: Buffer.from(`Commit:${repo.id}:${commit.sha}`).toString("base64"),
    commit: {
      author: gitUser(commit.author),
      committer: gitUser(commit.committer),
      message: commit.message.replace(/\n$/, ""),
      tree: { sha: commit.tree, url: `${api}/git/trees/${commit.tree}` },
      url: `${api}/git/commits/${commit.sha}`,
      comment_count: 0,
      verification: UNSIGNED,
    },
    url: `${api}/commits/${commit.sha}`,
    html_url: `${urls.web}/${repo.fullName}/commit/${commit.sha}`,
    comments_url: `${api}/commits/${commit.sha}/comments`,
    author: author ? simpleUser(urls, author) : null,
    committer: committer ? simpleUser(urls, committer) : null,
    parents: commit.parents.map((sha) => ({
      sha,
      url: `${api}/commits/${sha}`,
      html_url: `${urls.web}/${repo.fullName}/commit/${sha}`,
    })),
  };
}

/** pulls/list-files and compare `files[]`. No `patch`: GitHub omits it too when a diff is large. */
export function diffEntry(urls: Urls, repo: Repository, headSha: string, entry: DiffEntry) {
  const encoded = entry.path.split("/").map(encodeURIComponent).join("/");
  return {
    sha: entry.newSha ?? entry.oldSha ?? "",
    filename: entry.path,
    status: entry.status,
    additions: entry.additions,
    deletions: entry.deletions,
    changes: entry.additions + entry.deletions,
    blob_url: `${urls.web}/${repo.fullName}/blob/${headSha}/${encoded}`,
    raw_url: `${urls.web}/${repo.fullName}/raw/${headSha}/${encoded}`,
    contents_url: `${urls.api}/repos/${repo.fullName}/contents/${encoded}?ref=${headSha}`,
    ...(entry.previousPath ? { previous_filename: entry.previousPath } : {}),
  };
}
