import type { ProbotOctokit } from "probot";
import { idempotencyKey } from "../evidence/ledger.js";
import { parseTip, TIP_PATH } from "../evidence/tip-file.js";
import { parseCanonical } from "../evidence/canonical-json.js";
import type { EvidenceRecord } from "../evidence/evidence-record.generated.js";
import { alreadyRecorded, EVIDENCE_BRANCH, findRecorded } from "./evidence-writer.js";
import { provisioningKey } from "./provision-merge.js";

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

/**
 * GitHub does not redeliver a webhook that failed to arrive, so the ledger is reconciled with
 * GitHub's own record of merges: pull requests merged since shortly before the ledger's last
 * entry, each looked up by its idempotency marker. Those without one are returned, to be handled
 * exactly like their `pull_request.closed` webhook (which also completes their provisioning).
 *
 * Requests: 1 for the tip, 1 page of recently updated closed pull requests, and per merge in the
 * window (usually only the last few) 2, or 5 when provisioning is configured.
 */
export async function findMissedMerges(
  octokit: ProbotOctokit,
  target: ReconcileTarget,
  now: Date,
  options: { readonly branch?: string; readonly provisioning?: boolean } = {},
): Promise<MissedMerge[]> {
  const branch = options.branch ?? EVIDENCE_BRANCH;
  const evidence = { owner: target.owner, repo: target.repo, repositoryId: target.repositoryId, signerKey: "", branch };
  const since = await ledgerHorizon(octokit, target, now, branch);
  const { data: pulls } = await octokit.rest.pulls.list({ owner: target.owner, repo: target.repo, state: "closed", sort: "updated", direction: "desc", per_page: PAGE });
  const missed: MissedMerge[] = [];
  for (const pr of pulls) {
    if (!pr.merged_at || !pr.merge_commit_sha || Date.parse(pr.merged_at) < since) continue;
    const merge = { number: pr.number, mergeSha: pr.merge_commit_sha, mergedAt: pr.merged_at };
    const key = idempotencyKey(target.repositoryId, pr.number, pr.merge_commit_sha);
    if (options.provisioning !== true) {
      if (!(await alreadyRecorded(octokit, evidence, key))) missed.push({ ...merge, missing: "change" });
      continue;
    }
    const recorded = await findRecorded(octokit, evidence, key);
    if (recorded === null) {
      missed.push({ ...merge, missing: "change" });
      continue;
    }
    const record = parseCanonical(new TextEncoder().encode(recorded.record)) as EvidenceRecord;
    if (record.kind !== "change" || record.body.decision !== "approved") continue;
    if (!(await alreadyRecorded(octokit, evidence, provisioningKey(target.repositoryId, recorded)))) missed.push({ ...merge, missing: "provisioning" });
  }
  return missed.sort((a, b) => Date.parse(a.mergedAt) - Date.parse(b.mergedAt));
}

async function ledgerHorizon(octokit: ProbotOctokit, target: ReconcileTarget, now: Date, branch: string): Promise<number> {
  try {
    const { data } = await octokit.rest.repos.getContent({ owner: target.owner, repo: target.repo, path: TIP_PATH, ref: branch });
    if (!Array.isArray(data) && data.type === "file" && "content" in data) {
      const tip = parseTip(new Uint8Array(Buffer.from(data.content, "base64")));
      if (tip.lastObservedAt !== null) return Date.parse(tip.lastObservedAt) - OVERLAP_MS;
    }
  } catch (error) {
    if ((error as { status?: unknown }).status !== 404) throw error;
  }
  return now.getTime() - FIRST_LOOK_MS;
}
