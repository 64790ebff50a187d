import type { ProbotOctokit } from "probot";
import { CharterError } from "../../errors.js";
import { appendToLedger, EMPTY_LEDGER, type LedgerTip, recordPath } from "../../evidence/ledger.js";
import { INVENTORY_JSON_PATH } from "../../evidence/site/site-paths.js";
import { type ChangeBody, type NewRecord, recordHash } from "../../evidence/record.js";
import { parseSignerKey } from "../../evidence/signed-note.js";
import { formatTip, markerPath, parseTip, TIP_PATH } from "../../evidence/tip-file.js";
import { frontierRoot } from "../../evidence/merkle.js";
import type { InventoryUpdate } from "../../evidence/site/inventory.js";
import { renderSite, sitePathsToRead, type AppendedRecord } from "../../evidence/site/render-site.js";
import type { ControlsStatus } from "../../evidence/site/site-state.js";
import { readBlobTexts } from "../api/blob-texts.js";
import { commitToBranch, readBranchHead } from "../api/branch-writer.js";

export const EVIDENCE_BRANCH = "charter-evidence";
// Within one process appends are serialised per repository (see app.ts); conflicts come from
// other replicas, so a few dozen attempts with growing, jittered pauses outlast any burst.
const MAX_ATTEMPTS = 40;
const MAX_PAUSE_MS = 2_000;

/** Where a repository's evidence branch is: all that reading it takes. */
export interface EvidenceBranch {
  readonly owner: string;
  readonly repo: string;
  readonly branch?: string;
}

/** An evidence branch to append to: the repository's identity, and the key that signs. */
export interface EvidenceTarget extends EvidenceBranch {
  readonly repositoryId: string;
  /** Signer key string (Go note format) from configuration; never logged. */
  readonly signerKey: string;
  /** The repository's web address, for links on the branch's pages; github.com's when absent. */
  readonly repositoryUrl?: string;
}

/** A repository as webhook payloads carry it. */
export interface PayloadRepository {
  readonly id: number;
  readonly name: string;
  readonly html_url: string;
  readonly owner: { readonly login: string };
}

/** A repository as the schedule knows it (see KnownRepository). */
export interface RepositoryIdentity {
  readonly owner: string;
  readonly repo: string;
  readonly repositoryId: string;
  readonly repositoryUrl: string;
}

/** The one way an append's target is built, from a webhook's repository or a scheduled one. */
export function evidenceTarget(repository: PayloadRepository | RepositoryIdentity, signerKey: string): EvidenceTarget {
  if ("repositoryId" in repository) return { owner: repository.owner, repo: repository.repo, repositoryId: repository.repositoryId, signerKey, repositoryUrl: repository.repositoryUrl };
  return { owner: repository.owner.login, repo: repository.name, repositoryId: String(repository.id), signerKey, repositoryUrl: repository.html_url };
}

export type AppendOutcome =
  | {
      readonly status: "appended";
      /** Seq and hash of the first record appended. */
      readonly seq: number;
      readonly sha256: string;
      readonly commit: string;
      readonly attempts: number;
      readonly requests: number;
    }
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
  site: Pick<RecordsToAppend, "inventory" | "controls"> = {},
): Promise<AppendOutcome> {
  return appendRecords(octokit, target, {
    ...site,
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
  /**
   * Further keys these records stand for (a direct push's commits, each also findable on its
   * own), marked in the same commit. When every one of them is marked already the append adds
   * nothing either; when only some are, it goes ahead, since dropping it would lose the rest.
   */
  readonly alsoMarks?: readonly string[];
  /** Built against the current tip on every attempt; each gets the seq of the first record. */
  readonly records: readonly ((firstSeq: number) => NewRecord)[];
  /** Content-addressed copies listed by the first record. */
  readonly copies?: readonly Uint8Array[];
  readonly observedAt: () => string;
  readonly message: (firstSeq: number) => string;
  /** Agents whose approved manifest these records put in force (or removed): the inventory page follows them. */
  readonly inventory?: readonly InventoryUpdate[];
  /** The controls as just observed, for the README; the last observation stays when absent. */
  readonly controls?: ControlsStatus | null;
}

/**
 * Appends one or more records in a single commit, with the compare-and-swap and retry described
 * above, creating the branch with its genesis record when it does not exist yet.
 */
export async function appendRecords(octokit: ProbotOctokit, target: EvidenceTarget, append: RecordsToAppend): Promise<AppendOutcome> {
  const branch = target.branch ?? EVIDENCE_BRANCH;
  const signer = parseSignerKey(target.signerKey);
  const marker = markerPath(append.idempotencyKey);
  const alsoMarked = (append.alsoMarks ?? []).map(markerPath);
  let requests = 0;
  // The pages these records rewrite do not depend on their seq: build them once with a
  // provisional seq to learn which existing pages to read alongside the tip.
  const sitePaths = sitePathsToRead(append.records.map((build) => build(0)));
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const head = await readBranchHead(octokit, target.owner, target.repo, branch);
    requests++;
    let tip: LedgerTip;
    let existing: ReadonlyMap<string, string | null> = new Map();
    const byPath = new Map<string, Uint8Array>();
    const appended: AppendedRecord[] = [];
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
      appended.push({ record: genesis.record, path: genesis.path, sha256: recordHash(genesis.bytes) });
      for (const f of genesis.files) byPath.set(f.path, f.content);
    } else {
      const state = await readState(octokit, target, head, [marker, ...alsoMarked], sitePaths);
      requests++;
      const others = alsoMarked.map((path) => state.markers.get(path) === true);
      if (state.markers.get(marker) === true || (others.length > 0 && others.every(Boolean))) return { status: "duplicate", requests };
      if (state.tip === null) {
        throw new CharterError("INVALID_RECORD", `${branch} has no ${TIP_PATH}: it was not written by Charter or was damaged`, { hint: "Run charter verify on the branch before appending to it." });
      }
      tip = parseTip(new TextEncoder().encode(state.tip));
      existing = state.pages;
    }
    const firstSeq = tip.size;
    for (const [i, build] of append.records.entries()) {
      // Each append re-signs the checkpoint, so the last one written is the one kept. A copy
      // written by an earlier record is rewritten with the same bytes: harmless, and it spares
      // a read per copy.
      const result = appendToLedger(tip, build(firstSeq), { signerKey: target.signerKey, ...(i === 0 && append.copies ? { copies: append.copies } : {}) });
      tip = result.tip;
      appended.push({ record: result.record, path: result.path, sha256: recordHash(result.bytes) });
      for (const f of result.files) byPath.set(f.path, f.content);
    }
    const encoder = new TextEncoder();
    const pages = renderSite(
      { repository: `${target.owner}/${target.repo}`, repositoryUrl: target.repositoryUrl ?? `https://github.com/${target.owner}/${target.repo}`, branch, publicKey: signer.verifierKey },
      { existing, appended, inventory: append.inventory ?? [], controls: append.controls ?? null, size: tip.size, root: Buffer.from(frontierRoot(tip.frontier)).toString("hex") },
    );
    for (const [path, text] of pages) byPath.set(path, encoder.encode(text));
    byPath.set(TIP_PATH, formatTip(tip));
    // The marker names the record it stands for, so that later events (a retro-review's
    // approval) can find that record by its key without listing the log.
    const first = appended.find((a) => a.record.seq === firstSeq);
    const named = encoder.encode(`${JSON.stringify({ seq: firstSeq, sha256: first?.sha256 ?? null })}\n`);
    for (const path of [marker, ...alsoMarked]) byPath.set(path, named);
    const result = await commitToBranch(octokit, { owner: target.owner, repo: target.repo, branch }, { files: Object.fromEntries(byPath), message: append.message(firstSeq), expectedHead: head });
    requests += head === null ? 3 : 1;
    if (result.ok) return { status: "appended", seq: firstSeq, sha256: first?.sha256 ?? "", commit: result.commit, attempts: attempt, requests };
    // Someone else appended first: back off, with jitter so that racing writers spread out,
    // and rebuild on their tip.
    const pause = Math.min(MAX_PAUSE_MS, 25 * 2 ** Math.min(attempt, 7));
    await new Promise((r) => setTimeout(r, Math.floor(pause / 2 + Math.random() * (pause / 2))));
  }
  throw new CharterError("CONFLICT", `could not append to ${branch} after ${MAX_ATTEMPTS} attempts: the branch kept moving`, { hint: "The event is not yet recorded; re-running its handler records it once." });
}

/**
 * The tip file, whether each of these records' markers exists, and the pages the append
 * rewrites, at one commit, in one query (per hundred paths). Markers are looked up by their exact
 * path, never by listing index/, which grows with every record.
 */
async function readState(
  octokit: ProbotOctokit,
  target: EvidenceBranch,
  head: string,
  markers: readonly string[],
  pagePaths: readonly string[] = [],
): Promise<{ tip: string | null; markers: Map<string, boolean>; pages: Map<string, string | null> }> {
  const files = await readBlobTexts(octokit, target, head, [TIP_PATH, ...markers, ...pagePaths]);
  return {
    tip: files.get(TIP_PATH) ?? null,
    markers: new Map(markers.map((path) => [path, files.get(path) !== null])),
    pages: new Map(pagePaths.map((path) => [path, files.get(path) ?? null])),
  };
}

export interface RecordedEvent {
  readonly seq: number;
  readonly sha256: string;
  /** The record's stored bytes, as text (records are ASCII-safe canonical JSON). */
  readonly record: string;
  /** The branch's inventory.json at the same commit, if any. */
  readonly inventory: string | null;
}

/**
 * The record an idempotency key stands for, found through its marker: the head, then 2 GraphQL
 * queries (the marker, then the record and the inventory). Null when the event is not recorded
 * or was recorded before markers named their record.
 */
export async function findRecorded(octokit: ProbotOctokit, target: EvidenceBranch, idempotencyKey: string): Promise<RecordedEvent | null> {
  const head = await readBranchHead(octokit, target.owner, target.repo, target.branch ?? EVIDENCE_BRANCH);
  if (head === null) return null;
  return (await recordedAt(octokit, target, head, [idempotencyKey])).get(idempotencyKey) ?? null;
}

/**
 * The records several idempotency keys stand for, at one commit of the evidence branch, in two
 * GraphQL queries however many keys there are (up to a hundred per query): every marker, then
 * every named record with the inventory. A key whose marker is missing, empty (written before
 * markers named their record) or unreadable maps to null.
 */
export async function recordedAt(octokit: ProbotOctokit, target: EvidenceBranch, head: string, keys: readonly string[]): Promise<Map<string, RecordedEvent | null>> {
  const markers = await readBlobTexts(octokit, target, head, keys.map(markerPath));
  const named = new Map<string, { seq: number; sha256: string }>();
  for (const key of keys) {
    const text = markers.get(markerPath(key));
    if (!text) continue;
    try {
      const value = JSON.parse(text) as { seq?: unknown; sha256?: unknown };
      if (typeof value.seq === "number" && typeof value.sha256 === "string") named.set(key, { seq: value.seq, sha256: value.sha256 });
    } catch {
      // Not a marker Charter wrote: the key counts as not found.
    }
  }
  const out = new Map<string, RecordedEvent | null>(keys.map((key) => [key, null]));
  if (named.size === 0) return out;
  const files = await readBlobTexts(octokit, target, head, [...[...named.values()].map((n) => recordPath(n.seq)), INVENTORY_JSON_PATH]);
  for (const [key, { seq, sha256 }] of named) {
    const record = files.get(recordPath(seq));
    if (record) out.set(key, { seq, sha256, record, inventory: files.get(INVENTORY_JSON_PATH) ?? null });
  }
  return out;
}

/** Which of these idempotency keys already have their marker at one commit (1 GraphQL query per hundred keys). */
export async function markersAt(octokit: ProbotOctokit, target: EvidenceBranch, head: string, keys: readonly string[]): Promise<Set<string>> {
  const markers = await readBlobTexts(octokit, target, head, keys.map(markerPath));
  return new Set(keys.filter((key) => markers.get(markerPath(key)) !== null));
}

/** Whether a change with this idempotency key is already on the branch (2 requests). */
export async function alreadyRecorded(octokit: ProbotOctokit, target: EvidenceTarget, idempotencyKey: string): Promise<boolean> {
  const head = await readBranchHead(octokit, target.owner, target.repo, target.branch ?? EVIDENCE_BRANCH);
  if (head === null) return false;
  return (await markersAt(octokit, target, head, [idempotencyKey])).has(idempotencyKey);
}
