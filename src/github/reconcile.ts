import type { ProbotOctokit } from "probot";
import { idempotencyKey } from "../evidence/ledger.js";
import { parseTip, TIP_PATH } from "../evidence/tip-file.js";
import { parseCanonical } from "../evidence/canonical-json.js";
import type { EvidenceRecord } from "../evidence/evidence-record.generated.js";
import { readBlobTexts } from "./blob-texts.js";
import { readBranchHead } from "./branch-writer.js";
import { EVIDENCE_BRANCH, markersAt, recordedAt } from "./evidence-writer.js";
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
 * Requests, however many merges fall in the window (up to a page of 50): 1 for the branch head,
 * 1 for the tip, 1 for the page of recently updated closed pull requests, and 1 GraphQL query
 * for their markers — 3 when provisioning is configured (the markers, the records they name,
 * and the provisioning markers).
 */
export async function findMissedMerges(
  octokit: ProbotOctokit,
  target: ReconcileTarget,
  now: Date,
  options: { readonly branch?: string; readonly provisioning?: boolean } = {},
): Promise<MissedMerge[]> {
  const branch = options.branch ?? EVIDENCE_BRANCH;
  const evidence = { owner: target.owner, repo: target.repo, repositoryId: target.repositoryId, signerKey: "", branch };
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
  const missed: MissedMerge[] = [];
  const keep = ({ number, mergeSha, mergedAt }: (typeof merges)[number], missing: MissedMerge["missing"]): void => {
    missed.push({ number, mergeSha, mergedAt, missing });
  };
  if (head === null) {
    for (const merge of merges) keep(merge, "change");
  } else if (options.provisioning !== true) {
    const recorded = await markersAt(octokit, evidence, head, merges.map((m) => m.key));
    for (const merge of merges) if (!recorded.has(merge.key)) keep(merge, "change");
  } else {
    const records = await recordedAt(octokit, evidence, head, merges.map((m) => m.key));
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
    const provisioned = await markersAt(octokit, evidence, head, approved.map((a) => a.provisioning));
    for (const { merge, provisioning } of approved) if (!provisioned.has(provisioning)) keep(merge, "provisioning");
  }
  return missed.sort((a, b) => Date.parse(a.mergedAt) - Date.parse(b.mergedAt));
}
