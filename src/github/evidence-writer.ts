import type { ProbotOctokit } from "probot";
import { CharterError } from "../errors.js";
import { appendToLedger, EMPTY_LEDGER, type LedgerTip } from "../evidence/ledger.js";
import type { ChangeBody, NewRecord } from "../evidence/record.js";
import { parseSignerKey } from "../evidence/signed-note.js";
import { formatTip, markerPath, parseTip, TIP_PATH } from "../evidence/tip-file.js";
import { commitToBranch, readBranchHead } from "./branch-writer.js";

export const EVIDENCE_BRANCH = "charter-evidence";
// Within one process appends are serialised per repository (see app.ts); conflicts come from
// other replicas, so a few dozen attempts with growing, jittered pauses outlast any burst.
const MAX_ATTEMPTS = 40;
const MAX_PAUSE_MS = 2_000;

export interface EvidenceTarget {
  readonly owner: string;
  readonly repo: string;
  readonly repositoryId: string;
  /** Signer key string (Go note format) from configuration; never logged. */
  readonly signerKey: string;
  readonly branch?: string;
}

export type AppendOutcome =
  | { readonly status: "appended"; readonly seq: number; readonly commit: string; readonly attempts: number; readonly requests: number }
  | { readonly status: "duplicate"; readonly requests: number };

/**
 * Appends a change record to the evidence branch: read the head, read the tip and the record's
 * idempotency marker at that head, build the record and checkpoint, and commit with an exact
 * compare-and-swap on the head. A concurrent append makes the swap fail; the writer then reads
 * again and rebuilds on the new tip, so concurrent merges form one linear log. A marker already
 * present means this merge is recorded: a redelivered webhook adds nothing.
 *
 * Requests per append: 1 to read the head, 1 GraphQL read, 1 commit; times the attempts.
 */
export async function appendChangeRecord(
  octokit: ProbotOctokit,
  target: EvidenceTarget,
  body: ChangeBody,
  copies: readonly Uint8Array[],
  observedAt: () => string,
  /** Records that belong with the change (an exception for a merge that bypassed the check), appended in the same commit. */
  companions: readonly ((changeSeq: number) => NewRecord)[] = [],
): Promise<AppendOutcome> {
  return appendRecords(octokit, target, {
    idempotencyKey: body.idempotencyKey,
    records: [() => ({ kind: "change", body, observedAt: observedAt() }), ...companions],
    copies,
    observedAt,
    message: (seq) => `Evidence ${seq}: ${body.repository.fullName}#${body.pullRequest.number} merged as ${body.mergeSha.slice(0, 12)}`,
  });
}

export interface RecordsToAppend {
  /** Marks the event these records stand for; a second append with the same key adds nothing. */
  readonly idempotencyKey: string;
  /** Built against the current tip on every attempt; each gets the seq of the first record. */
  readonly records: readonly ((firstSeq: number) => NewRecord)[];
  /** Content-addressed copies listed by the first record. */
  readonly copies?: readonly Uint8Array[];
  readonly observedAt: () => string;
  readonly message: (firstSeq: number) => string;
}

/**
 * Appends one or more records in a single commit, with the compare-and-swap and retry described
 * above, creating the branch with its genesis record when it does not exist yet.
 */
export async function appendRecords(octokit: ProbotOctokit, target: EvidenceTarget, append: RecordsToAppend): Promise<AppendOutcome> {
  const branch = target.branch ?? EVIDENCE_BRANCH;
  const signer = parseSignerKey(target.signerKey);
  const marker = markerPath(append.idempotencyKey);
  let requests = 0;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const head = await readBranchHead(octokit, target.owner, target.repo, branch);
    requests++;
    let tip: LedgerTip;
    const byPath = new Map<string, Uint8Array>();
    if (head === null) {
      const genesis = appendToLedger(
        EMPTY_LEDGER,
        {
          kind: "genesis",
          body: { repository: { id: target.repositoryId, fullName: `${target.owner}/${target.repo}` }, origin: `github/${target.repositoryId}/${branch}`, createdAt: append.observedAt(), publicKey: signer.verifierKey },
          observedAt: append.observedAt(),
        },
        { signerKey: target.signerKey },
      );
      tip = genesis.tip;
      for (const f of genesis.files) byPath.set(f.path, f.content);
    } else {
      const state = await readState(octokit, target, head, marker);
      requests++;
      if (state.recorded) return { status: "duplicate", requests };
      if (state.tip === null) {
        throw new CharterError("INVALID_RECORD", `${branch} has no ${TIP_PATH}: it was not written by Charter or was damaged`, { hint: "Run charter verify on the branch before appending to it." });
      }
      tip = parseTip(new TextEncoder().encode(state.tip));
    }
    const firstSeq = tip.size;
    for (const [i, build] of append.records.entries()) {
      // Each append re-signs the checkpoint, so the last one written is the one kept. A copy
      // written by an earlier record is rewritten with the same bytes: harmless, and it spares
      // a read per copy.
      const appended = appendToLedger(tip, build(firstSeq), { signerKey: target.signerKey, ...(i === 0 && append.copies ? { copies: append.copies } : {}) });
      tip = appended.tip;
      for (const f of appended.files) byPath.set(f.path, f.content);
    }
    byPath.set(TIP_PATH, formatTip(tip));
    byPath.set(marker, new Uint8Array());
    const result = await commitToBranch(octokit, { owner: target.owner, repo: target.repo, branch }, { files: Object.fromEntries(byPath), message: append.message(firstSeq), expectedHead: head });
    requests += head === null ? 3 : 1;
    if (result.ok) return { status: "appended", seq: firstSeq, commit: result.commit, attempts: attempt, requests };
    // Someone else appended first: back off, with jitter so that racing writers spread out,
    // and rebuild on their tip.
    const pause = Math.min(MAX_PAUSE_MS, 25 * 2 ** Math.min(attempt, 7));
    await new Promise((r) => setTimeout(r, Math.floor(pause / 2 + Math.random() * (pause / 2))));
  }
  throw new CharterError("CONFLICT", `could not append to ${branch} after ${MAX_ATTEMPTS} attempts: the branch kept moving`, { hint: "The event is not yet recorded; re-running its handler records it once." });
}

interface StateResult {
  readonly repository: {
    readonly tip: { readonly __typename: string; readonly text?: string | null } | null;
    readonly marker: { readonly __typename: string } | null;
  } | null;
}

/**
 * The tip file and whether this record's marker exists, at one commit, in one query. The marker
 * is looked up by its exact path, never by listing index/, which grows with every record.
 */
async function readState(octokit: ProbotOctokit, target: EvidenceTarget, head: string, marker: string): Promise<{ tip: string | null; recorded: boolean }> {
  const result = await octokit.graphql<StateResult>(
    `query CharterLedgerState($owner: String!, $name: String!, $tip: String!, $marker: String!) {
      repository(owner: $owner, name: $name) {
        tip: object(expression: $tip) { __typename ... on Blob { text } }
        marker: object(expression: $marker) { __typename }
      }
    }`,
    { owner: target.owner, name: target.repo, tip: `${head}:${TIP_PATH}`, marker: `${head}:${marker}` },
  );
  const tip = result.repository?.tip;
  return { tip: tip?.__typename === "Blob" ? (tip.text ?? null) : null, recorded: result.repository?.marker?.__typename === "Blob" };
}

/** Whether a change with this idempotency key is already on the branch (2 requests). */
export async function alreadyRecorded(octokit: ProbotOctokit, target: EvidenceTarget, idempotencyKey: string): Promise<boolean> {
  const branch = target.branch ?? EVIDENCE_BRANCH;
  const head = await readBranchHead(octokit, target.owner, target.repo, branch);
  if (head === null) return false;
  return (await readState(octokit, target, head, markerPath(idempotencyKey))).recorded;
}
