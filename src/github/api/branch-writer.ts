import type { ProbotOctokit } from "probot";

/** Files to add or replace on a branch in one commit, on top of the head the writer last read. */
export interface BranchWrite {
  readonly files: Readonly<Record<string, Uint8Array>>;
  readonly message: string;
  /** The head the change was computed against; null to create the branch. */
  readonly expectedHead: string | null;
}

export type BranchWriteResult = { readonly ok: true; readonly commit: string } | { readonly ok: false; readonly reason: "conflict" };

interface CreateCommitResult {
  readonly createCommitOnBranch: { readonly commit: { readonly oid: string } | null } | null;
}

/**
 * The head of a branch, or null when it does not exist. Asked for without the HTTP cache:
 * GitHub serves refs with max-age=60, and a stale head would only cause a failed
 * compare-and-swap later.
 */
export async function readBranchHead(octokit: ProbotOctokit, owner: string, repo: string, branch: string): Promise<string | null> {
  try {
    const { data } = await octokit.rest.git.getRef({ owner, repo, ref: `heads/${branch}`, headers: { "cache-control": "no-cache" } });
    return data.object.sha;
  } catch (error) {
    if ((error as { status?: unknown }).status === 404) return null;
    throw error;
  }
}

/**
 * Commits files to a branch with an exact compare-and-swap on its head, so that concurrent
 * writers produce one linear history: exactly one of two writers computed against the same
 * head succeeds; the other gets "conflict", re-reads and retries.
 *
 * An existing branch is written with GraphQL's createCommitOnBranch and expectedHeadOid (one
 * request; GitHub dates and signs the commit because no author is given). A missing branch is
 * created through REST (tree → parentless commit → ref), since createCommitOnBranch cannot
 * create branches; creating the ref fails if someone else created it first.
 */
export async function commitToBranch(octokit: ProbotOctokit, target: { owner: string; repo: string; branch: string }, write: BranchWrite): Promise<BranchWriteResult> {
  const { owner, repo, branch } = target;
  if (write.expectedHead === null) {
    const { data: tree } = await octokit.rest.git.createTree({
      owner,
      repo,
      tree: Object.entries(write.files).map(([path, bytes]) => ({ path, mode: "100644" as const, type: "blob" as const, content: new TextDecoder().decode(bytes) })),
    });
    const { data: commit } = await octokit.rest.git.createCommit({ owner, repo, message: write.message, tree: tree.sha, parents: [] });
    try {
      await octokit.rest.git.createRef({ owner, repo, ref: `refs/heads/${branch}`, sha: commit.sha });
    } catch (error) {
      if ((error as { status?: unknown }).status === 422) return { ok: false, reason: "conflict" };
      throw error;
    }
    return { ok: true, commit: commit.sha };
  }

  const [headline = "", ...rest] = write.message.split("\n");
  try {
    const result = await octokit.graphql<CreateCommitResult>(
      `mutation CharterAppend($input: CreateCommitOnBranchInput!) { createCommitOnBranch(input: $input) { commit { oid } } }`,
      {
        input: {
          branch: { repositoryNameWithOwner: `${owner}/${repo}`, branchName: branch },
          expectedHeadOid: write.expectedHead,
          message: { headline, ...(rest.join("\n").trim() ? { body: rest.join("\n").trim() } : {}) },
          fileChanges: { additions: Object.entries(write.files).map(([path, bytes]) => ({ path, contents: Buffer.from(bytes).toString("base64") })) },
        },
      },
    );
    const oid = result.createCommitOnBranch?.commit?.oid;
    if (!oid) throw new Error("createCommitOnBranch returned no commit");
    return { ok: true, commit: oid };
  } catch (error) {
    if (isStaleHead(error)) return { ok: false, reason: "conflict" };
    throw error;
  }
}

function isStaleHead(error: unknown): boolean {
  const errors = (error as { errors?: unknown }).errors;
  return Array.isArray(errors) && errors.some((e) => (e as { type?: unknown }).type === "STALE_DATA");
}
