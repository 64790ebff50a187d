import type { ProbotOctokit } from "probot";
import { idempotencyKey } from "../evidence/ledger.js";
import { parseTip, TIP_PATH } from "../evidence/tip-file.js";
import { alreadyRecorded, EVIDENCE_BRANCH } from "./evidence-writer.js";

/** A merged pull request that the ledger does not hold, to be handled as if its webhook had arrived. */
export interface MissedMerge {
  readonly number: number;
  readonly mergeSha: string;
  readonly mergedAt: string;
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
 * Requests: 1 for the branch head, 1 for the tip, 1 page of recently updated closed pull
 * requests, and 2 per merge in the window (usually none beyond the last few).
 */
export async function findMissedMerges(octokit: ProbotOctokit, target: ReconcileTarget, now: Date, branch = EVIDENCE_BRANCH): Promise<MissedMerge[]> {
  const since = await ledgerHorizon(octokit, target, now, branch);
  const { data: pulls } = await octokit.rest.pulls.list({ owner: target.owner, repo: target.repo, state: "closed", sort: "updated", direction: "desc", per_page: PAGE });
  const missed: MissedMerge[] = [];
  for (const pr of pulls) {
    if (!pr.merged_at || !pr.merge_commit_sha || Date.parse(pr.merged_at) < since) continue;
    const recorded = await alreadyRecorded(octokit, { owner: target.owner, repo: target.repo, repositoryId: target.repositoryId, signerKey: "", branch }, idempotencyKey(target.repositoryId, pr.number, pr.merge_commit_sha));
    if (!recorded) missed.push({ number: pr.number, mergeSha: pr.merge_commit_sha, mergedAt: pr.merged_at });
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
