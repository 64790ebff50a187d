import { CharterError } from "../errors.js";
import { canonicalBytes, parseCanonical } from "./canonical-json.js";
import { signCheckpoint } from "./checkpoint.js";
import { appendLeaf, EMPTY_FRONTIER, type Frontier, frontierRoot, leafHash, sha256 } from "./merkle.js";
import { type EvidenceRecord, type NewRecord, RECORD_SCHEMA, recordHash, validateRecord } from "./record.js";
import { parseSignerKey } from "./signed-note.js";

/**
 * Appending to the evidence ledger, with no I/O: the caller reads the branch, calls this, and
 * writes the returned files in one commit (compare-and-swap on the branch head).
 *
 * Branch layout:
 *
 *   records/<seq / 1,000,000>/<seq / 1000 % 1000>/<seq>.json
 *       one record each, canonical JSON + "\n"; directories are 3-digit and file names 9-digit
 *       zero-padded, so a listing sorts in log order and no directory holds more than 1,000
 *       entries (GitHub shows at most 1,000 per listing)
 *   checkpoint
 *       the latest signed note over "<origin>\n<size>\n<base64 Merkle root>\n"
 *   public-key
 *       the verifier key string that signs the checkpoints, written with the genesis record
 *   objects/sha256/<first 2 hex>/<other 62 hex>
 *       content-addressed copies of approved manifests and prompts, named by their SHA-256
 */
export const CHECKPOINT_PATH = "checkpoint";
export const PUBLIC_KEY_PATH = "public-key";

/** What the writer must know about the existing log to append to it. */
export interface LedgerTip {
  readonly size: number;
  /** recordHash of the last record; null for an empty log. */
  readonly lastHash: string | null;
  readonly lastObservedAt: string | null;
  /** Checkpoint origin, from the genesis record; null for an empty log. */
  readonly origin: string | null;
  readonly frontier: Frontier;
}

export const EMPTY_LEDGER: LedgerTip = { size: 0, lastHash: null, lastObservedAt: null, origin: null, frontier: EMPTY_FRONTIER };

export interface LedgerFile {
  readonly path: string;
  readonly content: Uint8Array;
}

export interface AppendResult {
  readonly tip: LedgerTip;
  readonly seq: number;
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly record: EvidenceRecord;
  /** Merkle root of the log after this record, lowercase hex. */
  readonly root: string;
}

export interface LedgerAppend extends AppendResult {
  /** The signed checkpoint note for the new size. */
  readonly checkpoint: string;
  /** Everything to write in the commit, records first. */
  readonly files: readonly LedgerFile[];
}

export function recordPath(seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new CharterError("OUT_OF_RANGE", `record number ${seq} is not a count`);
  const top = Math.floor(seq / 1_000_000);
  const middle = Math.floor(seq / 1000) % 1000;
  return `records/${pad(top, 3)}/${pad(middle, 3)}/${pad(seq, 9)}.json`;
}

/** The seq a record path names, or undefined when the path is not one recordPath writes. */
export function seqOfPath(path: string): number | undefined {
  const match = /^records\/(\d{3,})\/(\d{3})\/(\d{9,})\.json$/.exec(path);
  if (!match) return undefined;
  const seq = Number(match[3]);
  return Number.isSafeInteger(seq) && recordPath(seq) === path ? seq : undefined;
}

export function objectPath(sha256Hex: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256Hex)) throw new CharterError("INVALID_RECORD", `"${sha256Hex}" is not a lowercase hex SHA-256`);
  return `objects/sha256/${sha256Hex.slice(0, 2)}/${sha256Hex.slice(2)}`;
}

/**
 * The key a change record is idempotent on: a redelivered webhook for the same merge finds a
 * record with this key and adds nothing. The repository id (not its name, which can change)
 * and the merge SHA (not only the PR number, which a re-merge after revert shares) identify it.
 */
export function idempotencyKey(repositoryId: string | number, pullRequest: number, mergeSha: string): string {
  return `github/${String(repositoryId)}/pull/${pullRequest}/${mergeSha.toLowerCase()}`;
}

/** Rebuilds the tip from the stored records, in log order. O(n); a writer may cache the result. */
export function tipOf(records: readonly Uint8Array[]): LedgerTip {
  let tip = EMPTY_LEDGER;
  records.forEach((bytes, seq) => {
    const record = parseCanonical(bytes) as EvidenceRecord;
    if (record.seq !== seq) throw new CharterError("INVALID_RECORD", `record ${seq} says it is record ${record.seq}: run charter verify`);
    tip = advance(tip, bytes, record);
  });
  return tip;
}

/**
 * Builds the next record: seq and prev come from the tip. Its observedAt never goes below the
 * previous record's, because the verifier reports time going backwards as possible backdating;
 * a writer whose clock stepped back records the previous time instead.
 */
export function appendRecord(tip: LedgerTip, entry: NewRecord): AppendResult {
  const seq = tip.size;
  if ((entry.kind === "genesis") !== (seq === 0)) {
    throw new CharterError("INVALID_RECORD", seq === 0 ? "the first record of a ledger must be its genesis record" : "a ledger has exactly one genesis record");
  }
  const observedAt =
    tip.lastObservedAt !== null && Date.parse(entry.observedAt) < Date.parse(tip.lastObservedAt) ? tip.lastObservedAt : entry.observedAt;
  const record = { schema: RECORD_SCHEMA, seq, kind: entry.kind, prev: tip.lastHash, observedAt, body: entry.body };
  const path = recordPath(seq);
  const problems = validateRecord(record, path);
  if (problems.length > 0) {
    throw new CharterError("INVALID_RECORD", `the new ${entry.kind} record is not valid: ${problems.map((d) => `${d.pointer || "/"}: ${d.message}`).join("; ")}`);
  }
  const bytes = canonicalBytes(record);
  const next = advance(tip, bytes, record as EvidenceRecord);
  return { tip: next, seq, path, bytes, record: record as EvidenceRecord, root: Buffer.from(frontierRoot(next.frontier)).toString("hex") };
}

/** The signed checkpoint for the tip's size and root. */
export function checkpointFor(tip: LedgerTip, signerKeys: readonly string[]): string {
  if (tip.origin === null) throw new CharterError("INVALID_RECORD", "an empty ledger has no origin to sign a checkpoint for");
  return signCheckpoint({ origin: tip.origin, size: tip.size, root: frontierRoot(tip.frontier), extensions: [] }, signerKeys);
}

/**
 * One append as the files of one commit: the record, the content-addressed copies it lists,
 * the new signed checkpoint and, with the genesis record, the public key.
 */
export function appendToLedger(
  tip: LedgerTip,
  entry: NewRecord,
  options: { readonly signerKey: string; readonly copies?: readonly Uint8Array[] },
): LedgerAppend {
  const copies = (options.copies ?? []).map((content) => ({ hash: Buffer.from(sha256(content)).toString("hex"), content }));
  const listed = entry.kind === "change" ? [...entry.body.copies].sort() : [];
  const given = [...new Set(copies.map((c) => c.hash))].sort();
  if (listed.join() !== given.join()) {
    throw new CharterError("INVALID_RECORD", `the copies given (${given.length}) are not exactly the copies the record lists (${listed.length})`);
  }
  if (entry.kind === "genesis" && entry.body.publicKey !== parseSignerKey(options.signerKey).verifierKey) {
    throw new CharterError("INVALID_KEY", "the genesis record's public key does not match the signer key");
  }
  const appended = appendRecord(tip, entry);
  const checkpoint = checkpointFor(appended.tip, [options.signerKey]);
  const encoder = new TextEncoder();
  const files: LedgerFile[] = [{ path: appended.path, content: appended.bytes }];
  for (const copy of copies) files.push({ path: objectPath(copy.hash), content: copy.content });
  files.push({ path: CHECKPOINT_PATH, content: encoder.encode(checkpoint) });
  if (entry.kind === "genesis") files.push({ path: PUBLIC_KEY_PATH, content: encoder.encode(`${entry.body.publicKey}\n`) });
  return { ...appended, checkpoint, files };
}

function advance(tip: LedgerTip, bytes: Uint8Array, record: EvidenceRecord): LedgerTip {
  return {
    size: tip.size + 1,
    lastHash: recordHash(bytes),
    lastObservedAt: record.observedAt,
    origin: record.kind === "genesis" ? record.body.origin : tip.origin,
    frontier: appendLeaf(tip.frontier, leafHash(bytes)),
  };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}
