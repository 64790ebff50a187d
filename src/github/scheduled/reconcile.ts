import type { ProbotOctokit } from "probot";
import { GOVERNED_ROOTS } from "../../change/governed-paths.js";
import { idempotencyKey, recordPath } from "../../evidence/ledger.js";
import { parseTip, TIP_PATH } from "../../evidence/tip-file.js";
import { parseCanonical } from "../../evidence/canonical-json.js";
import type { EvidenceRecord } from "../../schema-types/evidence-record.generated.js";
import { readBlobTexts } from "../api/blob-texts.js";
import { readBranchHead } from "../api/branch-writer.js";
import { directPushKey, type UnrecordedCommit } from "../push/direct-push.js";
import { EVIDENCE_BRANCH, markersAt, recordedAt } from "../merge/evidence-writer.js";
import { provisioningKey } from "../merge/provision-merge.js";

/**
 * A merged pull request whose handling did not finish: the ledger lacks its change record, or
 * (with provisioning configured) an approved change record lacks the provisioning record that
 * must follow it. Either way it is handled again as if its webhook had arrived; every step
 * of that handling is idempotent, so what was done is not done twice.
 */
export interface MissedMerge {
  readonly number: number;
  readonly mergeSha: string;
  readonly mergedAt: string;
  readonly missing: "change" | "provisioning";
}

/** What the ledger misses, as found in one reconciliation run. */
export interface MissedEvents {
  readonly merges: readonly MissedMerge[];
  /** Governed commits on the default branch without a merged pull request and without an exception, oldest first. */
  readonly pushes: readonly UnrecordedCommit[];
  /** Governed paths whose history in the window was longer than one page: the oldest commits were not looked at. */
  readonly truncated: readonly string[];
}

export interface ReconcileTarget {
  readonly owner: string;
  readonly repo: string;
  readonly repositoryId: string;
}

/** How far before the ledger's last entry to look again: merges can be recorded out of order. */
const OVERLAP_MS = 60 * 60 * 1000;
/** Without a ledger yet, merges of the last day are looked at. */
const FIRST_LOOK_MS = 24 * 60 * 60 * 1000;
const PAGE = 50;
/** Commits per governed path per run (GitHub's largest page). */
const HISTORY_PAGE = 100;

/**
 * GitHub does not redeliver a webhook that failed to arrive, so the ledger is reconciled with
 * GitHub's own record of what happened, since shortly before the ledger's last entry:
 *
 * - pull requests merged in that window, each looked up by its idempotency marker; those without
 *   one are returned, to be handled exactly like their `pull_request.closed` webhook (which also
 *   completes their provisioning);
 * - commits on the default branch in that window that changed governed paths (GitHub's history
 *   filtered by each governed path, all in one GraphQL query with each commit's associated pull
 *   requests). A commit that a merged pull request brought in (its merge, squash or rebased
 *   commits, or its own commits under a merge commit) is that merge's to record; any other is a
 *   direct push, and is returned when no exception marks it (see directPushKey). Commits dated
 *   before the ledger began (by GitHub's clock: its first commit) are not the ledger's, as in
 *   charter verify's completeness check. Without a ledger nothing is looked for here: the first
 *   record starts it. The window is by commit date, so a commit made long before it was pushed
 *   is not seen; charter verify's completeness check still names it.
 *
 * Requests, however many merges (up to a page of 50) and commits (up to 100 per governed path)
 * fall in the window: 1 for the branch head, 1 for the tip, 1 for the page of recently updated
 * closed pull requests, 1 GraphQL query for the governed history, and 1 GraphQL query for the
 * merges' and direct pushes' markers — 5; with provisioning configured 7 (the merges' markers,
 * the records they name, then the provisioning markers with the direct pushes' markers). A
 * marker query with nothing to look up is not sent, and each reads a hundred markers: more keys
 * than that (over a hundred merges and direct pushes in one window) add a query per hundred.
 * Without a ledger, 2 (the head and the page).
 */
export async function findMissedEvents(
  octokit: ProbotOctokit,
  target: ReconcileTarget,
  now: Date,
  options: { readonly branch?: string; readonly provisioning?: boolean } = {},
): Promise<MissedEvents> {
  const branch = options.branch ?? EVIDENCE_BRANCH;
  // Everything below is read at this one commit of the evidence branch.
  const head = await readBranchHead(octokit, target.owner, target.repo, branch);
  const tipText = head === null ? null : ((await readBlobTexts(octokit, target, head, [TIP_PATH])).get(TIP_PATH) ?? null);
  const lastObservedAt = tipText === null ? null : parseTip(new TextEncoder().encode(tipText)).lastObservedAt;
  const since = lastObservedAt === null ? now.getTime() - FIRST_LOOK_MS : Date.parse(lastObservedAt) - OVERLAP_MS;

  const { data: pulls } = await octokit.rest.pulls.list({ owner: target.owner, repo: target.repo, state: "closed", sort: "updated", direction: "desc", per_page: PAGE });
  const merges = pulls.flatMap((pr) =>
    pr.merged_at && pr.merge_commit_sha && Date.parse(pr.merged_at) >= since
      ? [{ number: pr.number, mergeSha: pr.merge_commit_sha, mergedAt: pr.merged_at, key: idempotencyKey(target.repositoryId, pr.number, pr.merge_commit_sha) }]
      : [],
  );
  const history = head === null ? { direct: [], truncated: [] } : await directCommits(octokit, target, head, new Date(since));
  const pushKeys = history.direct.map((c) => directPushKey(target.repositoryId, c.sha));

  const missed: MissedMerge[] = [];
  const keep = ({ number, mergeSha, mergedAt }: (typeof merges)[number], missing: MissedMerge["missing"]): void => {
    missed.push({ number, mergeSha, mergedAt, missing });
  };
  let marked = new Set<string>();
  if (head === null) {
    for (const merge of merges) keep(merge, "change");
  } else if (options.provisioning !== true) {
    marked = await markersAt(octokit, target, head, [...merges.map((m) => m.key), ...pushKeys]);
    for (const merge of merges) if (!marked.has(merge.key)) keep(merge, "change");
  } else {
    const records = await recordedAt(octokit, target, head, merges.map((m) => m.key));
    const approved: { merge: (typeof merges)[number]; provisioning: string }[] = [];
    for (const merge of merges) {
      const found = records.get(merge.key) ?? null;
      if (found === null) {
        keep(merge, "change");
        continue;
      }
      const record = parseCanonical(new TextEncoder().encode(found.record)) as EvidenceRecord;
      if (record.kind === "change" && record.body.decision === "approved") approved.push({ merge, provisioning: provisioningKey(target.repositoryId, found) });
    }
    marked = await markersAt(octokit, target, head, [...approved.map((a) => a.provisioning), ...pushKeys]);
    for (const { merge, provisioning } of approved) if (!marked.has(provisioning)) keep(merge, "provisioning");
  }
  return {
    merges: missed.sort((a, b) => Date.parse(a.mergedAt) - Date.parse(b.mergedAt)),
    pushes: history.direct.filter((c) => !marked.has(directPushKey(target.repositoryId, c.sha))),
    truncated: history.truncated,
  };
}

interface HistoryNode {
  readonly oid: string;
  readonly committedDate: string;
  readonly author: { readonly name: string | null } | null;
  readonly parents: { readonly nodes: readonly ({ readonly oid: string } | null)[] | null };
  readonly associatedPullRequests: { readonly nodes: readonly ({ readonly merged: boolean } | null)[] | null } | null;
}

interface HistoryPage {
  readonly pageInfo: { readonly hasNextPage: boolean };
  readonly nodes: readonly (HistoryNode | null)[] | null;
}

type GovernedHistory = {
  readonly repository: {
    readonly ledger: { readonly history?: { readonly nodes: readonly ({ readonly committedDate: string } | null)[] | null } } | null;
    readonly defaultBranchRef: { readonly target: Readonly<Record<string, HistoryPage | undefined>> | null } | null;
  } | null;
};

/**
 * The default branch's commits since `since` that changed governed paths, came through no merged
 * pull request and are dated after the ledger's first commit, oldest first: one GraphQL query.
 * Paths travel as variables, never inside the query text.
 */
async function directCommits(
  octokit: Pick<ProbotOctokit, "graphql">,
  target: ReconcileTarget,
  evidenceHead: string,
  since: Date,
): Promise<{ direct: UnrecordedCommit[]; truncated: string[] }> {
  const variables: Record<string, string | number> = { owner: target.owner, name: target.repo, since: since.toISOString(), evidence: evidenceHead, genesis: recordPath(0), page: HISTORY_PAGE };
  const fields = GOVERNED_ROOTS.map((root, i) => {
    variables[`p${String(i)}`] = root;
    return `p${String(i)}: history(first: $page, since: $since, path: $p${String(i)}) { ...CharterGovernedCommits }`;
  });
  const declarations = GOVERNED_ROOTS.map((_, i) => `, $p${String(i)}: String!`).join("");
  const result = await octokit.graphql<GovernedHistory>(
    `query CharterGovernedHistory($owner: String!, $name: String!, $since: GitTimestamp!, $evidence: String!, $genesis: String!, $page: Int!${declarations}) {
      repository(owner: $owner, name: $name) {
        ledger: object(expression: $evidence) { ... on Commit { history(first: 1, path: $genesis) { nodes { committedDate } } } }
        defaultBranchRef { target { ... on Commit { ${fields.join(" ")} } } }
      }
    }
    fragment CharterGovernedCommits on CommitHistoryConnection {
      pageInfo { hasNextPage }
      nodes { oid committedDate author { name } parents(first: 1) { nodes { oid } } associatedPullRequests(first: 5) { nodes { merged } } }
    }`,
    variables,
  );
  const began = result.repository?.ledger?.history?.nodes?.[0]?.committedDate ?? null;
  const history = result.repository?.defaultBranchRef?.target ?? null;
  if (began === null || history === null) return { direct: [], truncated: [] };
  const found = new Map<string, UnrecordedCommit>();
  const truncated: string[] = [];
  for (const [i, root] of GOVERNED_ROOTS.entries()) {
    const page = history[`p${String(i)}`];
    if (!page) continue;
    if (page.pageInfo.hasNextPage) truncated.push(root);
    for (const node of page.nodes ?? []) {
      // GitHub dates commits to the second: one dated the ledger's first second cannot be told from
      // the repository's state the ledger started from (its seeding, say), and is left out.
      if (!node || Date.parse(node.committedDate) <= Date.parse(began)) continue;
      if ((node.associatedPullRequests?.nodes ?? []).some((pr) => pr?.merged === true)) continue;
      const seen = found.get(node.oid);
      found.set(node.oid, {
        sha: node.oid,
        parent: node.parents.nodes?.[0]?.oid ?? null,
        author: node.author?.name ?? "unknown",
        committedAt: node.committedDate,
        governedRoots: [...(seen?.governedRoots ?? []), root],
      });
    }
  }
  return { direct: [...found.values()].sort((a, b) => Date.parse(a.committedAt) - Date.parse(b.committedAt)), truncated };
}
