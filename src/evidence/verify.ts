import { isCharterError } from "../errors.js";
import { parseCanonical } from "./canonical-json.js";
import { type Checkpoint, openCheckpoint } from "./checkpoint.js";
import { seqOfPath } from "./ledger.js";
import { equalHashes, type Hash, leafHash, rootOf } from "./merkle.js";
import { type EvidenceRecord, filesRoot, recordHash, validateRecord } from "./record.js";

/**
 * Offline verification of an evidence ledger as read from the branch. Everything in the input
 * is attacker-controlled except the verifier keys and the trusted checkpoint the auditor
 * brings: the records and the branch's checkpoint are only believed once they hash and sign
 * up to those.
 */
export type ProblemCode =
  | "path-invalid"
  | "seq-gap"
  | "seq-duplicate"
  | "not-canonical"
  | "schema-invalid"
  | "path-mismatch"
  | "prev-mismatch"
  | "backdated"
  | "duplicate-change"
  | "files-root-mismatch"
  | "retro-reference-invalid"
  | "provisioning-reference-invalid"
  | "empty-ledger"
  | "checkpoint-malformed"
  | "signature-invalid"
  | "checkpoint-origin-mismatch"
  | "checkpoint-size-mismatch"
  | "checkpoint-root-mismatch"
  | "trusted-checkpoint-invalid"
  | "inconsistent-with-trusted";

export interface Problem {
  readonly seq?: number;
  readonly path?: string;
  readonly code: ProblemCode;
  readonly message: string;
}

export interface VerifyInput {
  readonly records: readonly { readonly path: string; readonly bytes: Uint8Array }[];
  /** The signed checkpoint note from the branch. */
  readonly checkpoint: string;
  /** Verifier key strings the auditor trusts (from the docs or configuration, not from the branch). */
  readonly verifierKeys: readonly string[];
  /** A checkpoint the auditor saved earlier: the log must still contain that tree. */
  readonly trustedCheckpoint?: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  /** Number of records read. */
  readonly size: number;
  /** Merkle root over the records read, lowercase hex. */
  readonly root: string;
  /**
   * Record problems in log order (so the first names the first bad record), then files under
   * records/ that are not record paths, then checkpoint problems.
   */
  readonly problems: readonly Problem[];
}

export function verifyLedger(input: VerifyInput): VerifyReport {
  const problems: Problem[] = [];
  const strays: Problem[] = [];
  const ordered: { seq: number; path: string; bytes: Uint8Array }[] = [];
  for (const { path, bytes } of input.records) {
    const seq = seqOfPath(path);
    if (seq === undefined) strays.push({ path, code: "path-invalid", message: `${path} is not a record path (records/NNN/NNN/NNNNNNNNN.json)` });
    else ordered.push({ seq, path, bytes });
  }
  ordered.sort((a, b) => a.seq - b.seq);

  const leaves: Hash[] = [];
  let expected = 0;
  let prevHash: string | null = null;
  let prevObservedAt: { seq: number; at: string; ms: number } | null = null;
  let origin: string | null = null;
  // What later records may refer back to: each seq's record hash and whether it was an emergency change.
  const seen = new Map<number, SeenRecord>();
  const changeKeys = new Map<string, number>();
  for (const { seq, path, bytes } of ordered) {
    const at = { seq, path };
    if (seq < expected) {
      // Only reachable when the same path was supplied twice: it is not part of the tree.
      problems.push({ ...at, code: "seq-duplicate", message: `record ${seq} appears more than once` });
      continue;
    }
    if (seq > expected) {
      problems.push({ ...at, code: "seq-gap", message: `records ${expected}${seq - 1 > expected ? `..${seq - 1}` : ""} are missing before record ${seq}: deleted` });
    }
    expected = seq + 1;
    leaves.push(leafHash(bytes));
    const hashHere = recordHash(bytes);
    const prevExpected = prevHash;
    prevHash = hashHere;

    let record: EvidenceRecord;
    try {
      record = parseCanonical(bytes) as EvidenceRecord;
    } catch (error) {
      if (!isCharterError(error)) throw error;
      problems.push({ ...at, code: "not-canonical", message: `${path}: ${error.message.replace(/^charter: /, "")}` });
      continue;
    }
    const schemaProblems = validateRecord(record, path);
    const first = schemaProblems[0];
    if (first) {
      problems.push({ ...at, code: "schema-invalid", message: `${path}: ${first.pointer || "the record"}: ${first.message}` });
      continue;
    }
    if (record.seq !== seq) {
      problems.push({ ...at, code: "path-mismatch", message: `${path} holds record ${record.seq}: records were moved or reordered` });
    }
    if (seq > 0 && prevExpected !== null && record.prev !== prevExpected) {
      problems.push({
        ...at,
        code: "prev-mismatch",
        message: `record ${seq}'s prev does not match the hash of record ${seq - 1}: record ${seq - 1} was edited, or records were inserted, deleted or reordered`,
      });
    }
    if (record.kind === "genesis") origin = record.body.origin;
    checkBody(record, seq, path, seen, changeKeys, problems);
    seen.set(seq, { hash: hashHere, kind: record.kind, emergency: record.kind === "change" && record.body.emergency.active });
    const ms = Date.parse(record.observedAt);
    if (prevObservedAt !== null && ms < prevObservedAt.ms) {
      problems.push({
        ...at,
        code: "backdated",
        message: `record ${seq} was observed at ${record.observedAt}, before record ${prevObservedAt.seq} (${prevObservedAt.at}): a record may have been backdated or inserted`,
      });
    }
    prevObservedAt = { seq, at: record.observedAt, ms };
  }
  problems.push(...strays);
  if (ordered.length === 0) problems.push({ code: "empty-ledger", message: "no records were found: the ledger starts with a genesis record" });

  const root = rootOf(leaves);
  const checkpoint = openTrusted(input.checkpoint, input.verifierKeys, "checkpoint", problems);
  if (checkpoint) {
    if (origin !== null && checkpoint.origin !== origin) {
      problems.push({ code: "checkpoint-origin-mismatch", message: `the checkpoint is for log "${checkpoint.origin}", but the genesis record names "${origin}"` });
    }
    if (checkpoint.size !== leaves.length) {
      problems.push({
        code: "checkpoint-size-mismatch",
        message: `the checkpoint signs ${checkpoint.size} records, but ${leaves.length} were found: records were ${checkpoint.size > leaves.length ? "deleted" : "added"} without a new signature`,
      });
    } else if (!equalHashes(checkpoint.root, root)) {
      problems.push({ code: "checkpoint-root-mismatch", message: "the records do not hash to the root the checkpoint signs: a record was edited" });
    }
  }
  if (input.trustedCheckpoint !== undefined) {
    const trusted = openTrusted(input.trustedCheckpoint, input.verifierKeys, "trusted checkpoint", problems);
    if (trusted) checkTrusted(trusted, checkpoint?.origin ?? origin, leaves, problems);
  }
  return { ok: problems.length === 0, size: leaves.length, root: Buffer.from(root).toString("hex"), problems };
}

interface SeenRecord {
  readonly hash: string;
  readonly kind: EvidenceRecord["kind"];
  readonly emergency: boolean;
}

/** Facts inside one record body that the rest of the log can contradict. */
function checkBody(
  record: EvidenceRecord,
  seq: number,
  path: string,
  seen: ReadonlyMap<number, SeenRecord>,
  changeKeys: Map<string, number>,
  problems: Problem[],
): void {
  const at = { seq, path };
  if (record.kind === "change") {
    const earlier = changeKeys.get(record.body.idempotencyKey);
    if (earlier !== undefined) {
      problems.push({ ...at, code: "duplicate-change", message: `record ${seq} records the same merge as record ${earlier} (${record.body.idempotencyKey})` });
    }
    changeKeys.set(record.body.idempotencyKey, seq);
    if (filesRoot(record.body.files.hashes) !== record.body.files.root) {
      problems.push({ ...at, code: "files-root-mismatch", message: `record ${seq}'s files.root is not the Merkle root of its files.hashes` });
    }
  } else if (record.kind === "retro-approval") {
    const target = seen.get(record.body.emergency.seq);
    if (target?.hash !== record.body.emergency.sha256 || !target.emergency) {
      problems.push({
        ...at,
        code: "retro-reference-invalid",
        message: `record ${seq} closes record ${record.body.emergency.seq}, which is not an earlier emergency change with hash ${record.body.emergency.sha256}`,
      });
    }
  } else if (record.kind === "provisioning" && record.body.after !== null) {
    // Provisioning is evidence that deployment followed approval only if it names the approval.
    const target = seen.get(record.body.after.seq);
    if (target?.hash !== record.body.after.sha256 || (target.kind !== "change" && target.kind !== "exception")) {
      problems.push({
        ...at,
        code: "provisioning-reference-invalid",
        message: `record ${seq} provisions after record ${record.body.after.seq}, which is not an earlier change or exception record with hash ${record.body.after.sha256}`,
      });
    }
  }
}

function openTrusted(note: string, keys: readonly string[], what: "checkpoint" | "trusted checkpoint", problems: Problem[]): Checkpoint | undefined {
  try {
    return openCheckpoint(note, keys);
  } catch (error) {
    if (!isCharterError(error)) throw error;
    const reason = error.message.replace(/^charter: /, "");
    if (what === "trusted checkpoint") problems.push({ code: "trusted-checkpoint-invalid", message: `the trusted checkpoint cannot be used: ${reason}` });
    else if (error.code === "INVALID_SIGNATURE" || error.code === "INVALID_KEY") problems.push({ code: "signature-invalid", message: `the checkpoint is not validly signed by a trusted key: ${reason}` });
    else problems.push({ code: "checkpoint-malformed", message: `the checkpoint is malformed: ${reason}` });
    return undefined;
  }
}

/**
 * The log must still contain the tree the auditor saved. With every leaf at hand, the root of the
 * first `size` leaves is the exact test; a consistency proof is only needed without the leaves.
 */
function checkTrusted(trusted: Checkpoint, origin: string | null, leaves: readonly Hash[], problems: Problem[]): void {
  if (origin !== null && trusted.origin !== origin) {
    problems.push({ code: "inconsistent-with-trusted", message: `the checkpoint you saved is for log "${trusted.origin}", not "${origin}"` });
  } else if (trusted.size > leaves.length) {
    problems.push({
      code: "inconsistent-with-trusted",
      message: `a checkpoint you saved covers ${trusted.size} records, but only ${leaves.length} exist: the log was truncated`,
    });
  } else if (!equalHashes(rootOf(leaves.slice(0, trusted.size)), trusted.root)) {
    problems.push({
      code: "inconsistent-with-trusted",
      message: `the first ${trusted.size} records no longer hash to the root of the checkpoint you saved: history was rewritten`,
    });
  }
}
