// git/*: the Git Database API over the real repository on disk. Ref updates are
// compare-and-swap in git itself; moving a branch sends the push webhook GitHub would send.

import { GitTreeError, type FileChange, type GitIdentity, type TreeEntryMode } from "../git-store.js";
import { HttpError, notFound, unprocessable } from "../http.js";
import { gitBlob, gitCommit, gitRef, gitTree } from "../render/git.js";
import { actor, param, repoFor, type RestContext, type RestHandler } from "./context.js";

const TREE_MODES = new Set(["100644", "100755", "040000", "160000", "120000"]);

function fullRef(ref: string): string {
  return ref.startsWith("refs/") ? ref : `refs/${ref}`;
}

async function objectType(context: RestContext, sha: string): Promise<string | null> {
  const object = await context.core.git(repoFor(context)).readObject(sha);
  return object && object.sha === sha.toLowerCase() ? object.type : null;
}

const getRef: RestHandler = async (context) => {
  const repo = repoFor(context);
  const ref = fullRef(param(context, "ref"));
  const sha = (await context.core.git(repo).listRefs(ref)).get(ref);
  if (!sha) throw notFound();
  return { status: 200, body: gitRef(context.core.urls, repo, ref, sha, (await objectType(context, sha)) ?? "commit") };
};

/** After a branch moves through the API, GitHub sends push (and synchronize) webhooks. */
function announce(context: RestContext, ref: string, before: string | null, after: string): void {
  if (!ref.startsWith("refs/heads/")) return;
  const repo = repoFor(context);
  const { core } = context;
  core.inBackground(() => core.branchMoved(repo, ref.slice("refs/heads/".length), before, after, actor(context)));
}

const createRef: RestHandler = async (context) => {
  const repo = repoFor(context);
  const ref = String(context.body["ref"]);
  const sha = String(context.body["sha"]);
  if (!ref.startsWith("refs/") || ref.split("/").length < 3) {
    throw unprocessable("Reference name must start with 'refs/' and have at least two slashes.");
  }
  const type = await objectType(context, sha);
  if (!type) throw unprocessable("Object does not exist");
  const updated = await context.core.lock(repo, () => context.core.git(repo).updateRef(ref, sha, null));
  if (!updated) throw unprocessable("Reference already exists");
  announce(context, ref, null, sha);
  return { status: 201, body: gitRef(context.core.urls, repo, ref, sha, type) };
};

const updateRef: RestHandler = async (context) => {
  const repo = repoFor(context);
  const { core } = context;
  const git = core.git(repo);
  const ref = fullRef(param(context, "ref"));
  const sha = String(context.body["sha"]);
  const force = context.body["force"] === true;
  const type = await objectType(context, sha);
  if (!type) throw unprocessable("Object does not exist");
  const before = await core.lock(repo, async () => {
    const current = await git.readRef(ref);
    if (!current) throw unprocessable("Reference does not exist");
    if (!force && type === "commit" && !(await git.isAncestor(current, sha))) {
      throw unprocessable("Update is not a fast forward");
    }
    if (!(await git.updateRef(ref, sha, current))) throw new HttpError(409, "Reference update failed");
    return current;
  });
  announce(context, ref, before, sha);
  return { status: 200, body: gitRef(core.urls, repo, ref, sha, type) };
};

const getTree: RestHandler = async (context) => {
  const repo = repoFor(context);
  const git = context.core.git(repo);
  const requested = param(context, "tree_sha");
  const object = await git.readObject(requested);
  let treeSha: string | null = null;
  if (object?.type === "tree") treeSha = object.sha;
  if (object?.type === "commit") treeSha = (await git.readCommit(object.sha))?.tree ?? null;
  if (!treeSha) throw notFound();
  // Any value of `recursive` asks for the whole tree, as GitHub documents.
  const recursive = context.query["recursive"] !== undefined;
  const entries = recursive
    ? await git.walkTree(treeSha)
    : ((await git.readTree(treeSha)) ?? []).map((entry) => ({ ...entry, path: entry.name }));
  const sized = await Promise.all(
    entries.map(async (entry) => ({
      ...entry,
      ...(entry.type === "blob" ? { size: (await git.readBlob(entry.sha))?.length ?? 0 } : {}),
    })),
  );
  return { status: 200, body: gitTree(context.core.urls, repo, treeSha, sized) };
};

interface TreeItem {
  path: string;
  mode: string;
  type: "blob" | "tree" | "commit";
  sha?: string | null;
  content?: string;
}

const createTree: RestHandler = async (context) => {
  const repo = repoFor(context);
  const git = context.core.git(repo);
  const items = context.body["tree"] as TreeItem[];
  const baseTree = typeof context.body["base_tree"] === "string" ? context.body["base_tree"] : null;
  let baseTreeSha: string | null = null;
  if (baseTree) {
    const object = await git.readObject(baseTree);
    if (object?.type === "tree") baseTreeSha = object.sha;
    else if (object?.type === "commit") baseTreeSha = (await git.readCommit(object.sha))?.tree ?? null;
    if (!baseTreeSha) throw unprocessable("base_tree is not a valid tree oid");
  }
  const changes = new Map<string, FileChange>();
  for (const item of items) {
    if (!TREE_MODES.has(item.mode)) throw unprocessable(`tree.mode contains a malformed mode: ${item.mode}`);
    const mode = (item.mode === "040000" ? "40000" : item.mode) as TreeEntryMode;
    if (item.content !== undefined) {
      changes.set(item.path, mode === "100755" ? { content: item.content, executable: true } : mode === "120000" ? { symlink: item.content } : item.content);
    } else if (item.sha === null) {
      changes.set(item.path, null);
    } else if (typeof item.sha === "string") {
      const type = await objectType(context, item.sha);
      if (type === null && item.type !== "commit") throw unprocessable(`tree.sha ${item.sha} is not a valid ${item.type}`);
      changes.set(item.path, { mode, sha: item.sha });
    } else {
      throw unprocessable("Must supply either tree.sha or tree.content");
    }
  }
  try {
    const sha = await git.buildTree(baseTreeSha, changes);
    const entries = ((await git.readTree(sha)) ?? []).map((entry) => ({ ...entry, path: entry.name }));
    return { status: 201, body: gitTree(context.core.urls, repo, sha, entries) };
  } catch (error: unknown) {
    if (error instanceof GitTreeError) throw unprocessable(`GitRPC::BadObjectState: ${error.message}`);
    throw error;
  }
};

const getBlob: RestHandler = async (context) => {
  const repo = repoFor(context);
  const sha = param(context, "file_sha");
  const data = await context.core.git(repo).readBlob(sha);
  if (!data) throw notFound();
  return { status: 200, body: gitBlob(context.core.urls, repo, sha, data) };
};

const createBlob: RestHandler = async (context) => {
  const repo = repoFor(context);
  const content = String(context.body["content"]);
  const encoding = context.body["encoding"] ?? "utf-8";
  if (encoding !== "utf-8" && encoding !== "base64") {
    throw unprocessable(`encoding must be one of utf-8 or base64, got ${JSON.stringify(encoding)}`);
  }
  const data = encoding === "base64" ? Buffer.from(content, "base64") : Buffer.from(content, "utf8");
  const sha = await context.core.git(repo).writeBlob(data);
  return { status: 201, body: { sha, url: `${context.core.urls.api}/repos/${repo.fullName}/git/blobs/${sha}` } };
};

const getCommit: RestHandler = async (context) => {
  const repo = repoFor(context);
  const commit = await context.core.git(repo).readCommit(param(context, "commit_sha"));
  if (!commit) throw notFound();
  return { status: 200, body: gitCommit(context.core.urls, repo, commit) };
};

function identityFrom(value: unknown, fallback: GitIdentity): GitIdentity {
  if (!value || typeof value !== "object") return fallback;
  const person = value as { name?: string; email?: string; date?: string };
  return {
    name: person.name ?? fallback.name,
    email: person.email ?? fallback.email,
    date: person.date ? new Date(person.date) : fallback.date,
  };
}

const createCommit: RestHandler = async (context) => {
  const repo = repoFor(context);
  const { core } = context;
  const git = core.git(repo);
  const tree = String(context.body["tree"]);
  const parents = (context.body["parents"] as string[] | undefined) ?? [];
  if ((await git.readObject(tree))?.type !== "tree") throw unprocessable("Tree SHA does not exist");
  for (const parent of parents) {
    if (!(await git.readCommit(parent))) throw unprocessable("Parent SHA does not exist or is not a commit object");
  }
  const bot = core.identity(actor(context));
  const author = identityFrom(context.body["author"], bot);
  const committer = identityFrom(context.body["committer"], author);
  const sha = await git.writeCommit({ tree, parents, message: String(context.body["message"]), author, committer });
  const commit = await git.readCommit(sha);
  if (!commit) throw new Error(`github-sim: commit ${sha} vanished`);
  return { status: 201, body: gitCommit(core.urls, repo, commit) };
};

export const gitHandlers: Record<string, RestHandler> = {
  "git/get-ref": getRef,
  "git/create-ref": createRef,
  "git/update-ref": updateRef,
  "git/get-tree": getTree,
  "git/create-tree": createTree,
  "git/get-blob": getBlob,
  "git/create-blob": createBlob,
  "git/get-commit": getCommit,
  "git/create-commit": createCommit,
};
