import { isCharterError } from "../errors.js";
import { parseCanonical } from "./canonical-json.js";
import { type Checkpoint, parseCheckpoint } from "./checkpoint.js";
import { openCosigned } from "./cosignature.js";
import { Coverage } from "./completeness.js";
import { FingerprintTable } from "./fingerprint-table.js";
import { seqOfPath } from "./ledger.js";
import { appendLeaf, EMPTY_FRONTIER, equalHashes, type Frontier, frontierRoot, type Hash, leafHash, sha256Hex } from "./merkle.js";
import { type EvidenceRecord, filesRoot, validateRecord } from "./record.js";
import { RecordIndex } from "./record-index.js";
import { readinessRecordProblems } from "./readiness-check.js";
import { openNote, parseVerifierKey } from "./signed-note.js";

/**
 * Offline verification of an evidence ledger as read from the branch. Everything in the input
 * is attacker-controlled except the verifier keys, the witness keys and the trees the auditor
 * brings (a saved checkpoint, the trust file's): the records, the branch's checkpoint and the
 * witness notes found beside it are only believed once they hash and sign up to those.
 *
 * Records are fed one at a time, in path order (which is log order), so a ledger of any length
 * is checked holding the chain state and the Merkle frontier, not the records.
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
  | "inconsistent-with-trusted"
  | "witness-cosignature-invalid"
  | "witness-inconsistent"
  | "witness-quorum"
  | "readiness-invalid";

export interface Problem {
  readonly seq?: number;
  readonly path?: string;
  readonly code: ProblemCode;
  readonly message: string;
}

/** A tree the auditor holds outside the branch: the log must still contain it. */
export interface TrustedTree {
  readonly origin: string;
  readonly size: number;
  readonly root: Hash;
  /** Names the auditor's copy in messages, e.g. "the checkpoint you saved". */
  readonly source: string;
}

export interface WitnessRequirement {
  /** Witness verifier keys (type 0x04) the auditor trusts. */
  readonly keys: readonly string[];
  /** How many distinct witnesses must have cosigned a tree this log still contains. */
  readonly min: number;
  /** Cosigned checkpoint notes found beside the branch, with where each was found. */
  readonly notes: readonly { readonly source: string; readonly note: string }[];
}

export interface VerifyOptions {
  /** The signed checkpoint note from the branch. */
  readonly checkpoint: string;
  /** Verifier key strings the auditor trusts (from the docs or configuration, not from the branch). */
  readonly verifierKeys: readonly string[];
  /** A checkpoint the auditor saved earlier, as a signed note: the log must still contain that tree. */
  readonly trustedCheckpoint?: string;
  /** Trees the auditor remembers unsigned (their own trust file). */
  readonly trustedTrees?: readonly TrustedTree[];
  readonly witnesses?: WitnessRequirement;
}

export interface VerifyInput extends VerifyOptions {
  readonly records: readonly { readonly path: string; readonly bytes: Uint8Array }[];
}

/** A witness that cosigned a tree this log still contains. */
export interface WitnessSighting {
  readonly key: string;
  /** The largest such tree it cosigned. */
  readonly size: number;
  /** POSIX seconds of that cosignature. */
  readonly timestamp: number;
  readonly source: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  /** Number of records read. */
  readonly size: number;
  /** Merkle root over the records read, lowercase hex. */
  readonly root: string;
  /** The log's name from its genesis record; null without one. */
  readonly origin: string | null;
  /** The verifier keys, of those given, whose signature on the branch's checkpoint verified. */
  readonly signedBy: readonly string[];
  readonly witnessed: readonly WitnessSighting[];
  /** The commits the valid records cover, for reconciling the default branch's history. */
  readonly coverage: Coverage;
  /**
   * Record problems in log order (so the first names the first bad record), then files under
   * records/ that are not record paths, then checkpoint, trusted-tree and witness problems.
   */
  readonly problems: readonly Problem[];
}

/** Verifies a whole ledger held in memory, in any order. */
export function verifyLedger(input: VerifyInput): VerifyReport {
  const verifier = new LedgerVerifier(input);
  const ordered = input.records.map((r) => ({ ...r, seq: seqOfPath(r.path) ?? -1 })).sort((a, b) => a.seq - b.seq);
  for (const r of ordered) verifier.add(r.path, r.bytes);
  return verifier.finish();
}

interface OpenedCosignature {
  readonly key: string;
  readonly checkpoint: Checkpoint;
  readonly timestamp: number;
  readonly source: string;
}

/**
 * The streaming verifier: construct it with what the auditor trusts and the branch's checkpoint,
 * `add` each file under records/ in path order, then `finish`. The trees to compare against (a
 * saved checkpoint, the trust file's, each witness's) are known before the first record, so the
 * root at each of their sizes is taken as the frontier passes it.
 */
export class LedgerVerifier {
  private readonly options: VerifyOptions;
  private readonly recordProblems: Problem[] = [];
  private readonly strays: Problem[] = [];
  private readonly checkpointProblems: Problem[] = [];
  private readonly trustedProblems: Problem[] = [];
  private readonly witnessProblems: Problem[] = [];
  private readonly checkpoint: Checkpoint | undefined;
  private readonly signedBy: readonly string[];
  private readonly trusted: TrustedTree[] = [];
  private readonly cosigned: OpenedCosignature[] = [];
  /** Sizes at which the root is needed, and the roots once reached. */
  private readonly rootsAt = new Map<number, Hash | null>();
  private frontier: Frontier = EMPTY_FRONTIER;
  private expected = 0;
  private records = 0;
  private prevHash: string | null = null;
  private prevObservedAt: { seq: number; at: string; ms: number } | null = null;
  private origin: string | null = null;
  // What later records may refer back to, and the merges recorded: typed arrays, under a hundred bytes a record.
  private readonly seen = new RecordIndex();
  private readonly changeKeys = new FingerprintTable();
  private readonly coverage = new Coverage();

  constructor(options: VerifyOptions) {
    this.options = options;
    const opened = openLogNote(options.checkpoint, options.verifierKeys, "checkpoint", this.checkpointProblems);
    this.checkpoint = opened?.checkpoint;
    this.signedBy = opened?.signedBy ?? [];
    if (options.trustedCheckpoint !== undefined) {
      const saved = openLogNote(options.trustedCheckpoint, options.verifierKeys, "trusted checkpoint", this.trustedProblems);
      if (saved) this.trusted.push({ ...saved.checkpoint, source: "the checkpoint you saved" });
    }
    this.trusted.push(...(options.trustedTrees ?? []));
    if (options.witnesses) this.openWitnessNotes(options.witnesses);
    for (const tree of this.trusted) this.rootsAt.set(tree.size, null);
    for (const c of this.cosigned) this.rootsAt.set(c.checkpoint.size, null);
    if (this.rootsAt.has(0)) this.rootsAt.set(0, frontierRoot(EMPTY_FRONTIER));
  }

  /** One file under records/, in path order. */
  add(path: string, bytes: Uint8Array): void {
    const seq = seqOfPath(path);
    if (seq === undefined) {
      this.strays.push({ path, code: "path-invalid", message: `${path} is not a record path (records/NNN/NNN/NNNNNNNNN.json)` });
      return;
    }
    const problems = this.recordProblems;
    const at = { seq, path };
    if (seq < this.expected) {
      // A tree never lists a path twice, so this is input out of order: it is not part of the tree.
      problems.push({ ...at, code: "seq-duplicate", message: `record ${seq} appears more than once` });
      return;
    }
    if (seq > this.expected) {
      problems.push({ ...at, code: "seq-gap", message: `records ${this.expected}${seq - 1 > this.expected ? `..${seq - 1}` : ""} are missing before record ${seq}: deleted` });
    }
    this.expected = seq + 1;
    this.records += 1;
    this.frontier = appendLeaf(this.frontier, leafHash(bytes));
    if (this.rootsAt.has(this.records)) this.rootsAt.set(this.records, frontierRoot(this.frontier));
    const hashHere = sha256Hex(bytes);
    const prevExpected = this.prevHash;
    this.prevHash = hashHere;

    let record: EvidenceRecord;
    try {
      record = parseCanonical(bytes) as EvidenceRecord;
    } catch (error) {
      if (!isCharterError(error)) throw error;
      problems.push({ ...at, code: "not-canonical", message: `${path}: ${error.message.replace(/^charter: /, "")}` });
      return;
    }
    const schemaProblems = validateRecord(record, path);
    const first = schemaProblems[0];
    if (first) {
      problems.push({ ...at, code: "schema-invalid", message: `${path}: ${first.pointer || "the record"}: ${first.message}` });
      return;
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
    if (record.kind === "genesis") this.origin = record.body.origin;
    checkBody(record, seq, path, this.seen, this.changeKeys, problems);
    this.seen.append(seq, Buffer.from(hashHere, "hex"), record.kind === "change" ? (record.body.emergency.active ? "emergency-change" : "change") : record.kind === "exception" ? "exception" : "other");
    this.coverage.add(record);
    const ms = Date.parse(record.observedAt);
    if (this.prevObservedAt !== null && ms < this.prevObservedAt.ms) {
      problems.push({
        ...at,
        code: "backdated",
        message: `record ${seq} was observed at ${record.observedAt}, before record ${this.prevObservedAt.seq} (${this.prevObservedAt.at}): a record may have been backdated or inserted`,
      });
    }
    this.prevObservedAt = { seq, at: record.observedAt, ms };
  }

  finish(): VerifyReport {
    const problems: Problem[] = [...this.recordProblems, ...this.strays];
    if (this.records === 0) problems.push({ code: "empty-ledger", message: "no records were found: the ledger starts with a genesis record" });
    const root = frontierRoot(this.frontier);
    const checkpoint = this.checkpoint;
    problems.push(...this.checkpointProblems);
    if (checkpoint) {
      if (this.origin !== null && checkpoint.origin !== this.origin) {
        problems.push({ code: "checkpoint-origin-mismatch", message: `the checkpoint is for log "${checkpoint.origin}", but the genesis record names "${this.origin}"` });
      }
      if (checkpoint.size !== this.records) {
        problems.push({
          code: "checkpoint-size-mismatch",
          message: `the checkpoint signs ${checkpoint.size} records, but ${this.records} were found: records were ${checkpoint.size > this.records ? "deleted" : "added"} without a new signature`,
        });
      } else if (!equalHashes(checkpoint.root, root)) {
        problems.push({ code: "checkpoint-root-mismatch", message: "the records do not hash to the root the checkpoint signs: a record was edited" });
      }
    }
    problems.push(...this.trustedProblems);
    const origin = checkpoint?.origin ?? this.origin;
    for (const tree of this.trusted) this.checkTrusted(tree, origin, problems);
    const witnessed = this.options.witnesses ? this.judgeWitnesses(this.options.witnesses, origin, problems) : [];
    return {
      ok: problems.length === 0,
      size: this.records,
      root: Buffer.from(root).toString("hex"),
      origin: this.origin,
      signedBy: this.signedBy,
      witnessed,
      coverage: this.coverage,
      problems,
    };
  }

  private rootAt(size: number): Hash | null {
    if (size === this.records) return frontierRoot(this.frontier);
    return this.rootsAt.get(size) ?? null;
  }

  /**
   * The log must still contain the tree the auditor holds: the root of its first `size` leaves is
   * the exact test, with every leaf at hand; a consistency proof is only needed without them.
   */
  private checkTrusted(trusted: TrustedTree, origin: string | null, problems: Problem[]): void {
    if (origin !== null && trusted.origin !== origin) {
      problems.push({ code: "inconsistent-with-trusted", message: `${trusted.source} is for log "${trusted.origin}", not "${origin}"` });
    } else if (trusted.size > this.records) {
      problems.push({
        code: "inconsistent-with-trusted",
        message: `${trusted.source} covers ${trusted.size} records, but only ${this.records} exist: the log was truncated`,
      });
    } else {
      const root = this.rootAt(trusted.size);
      if (root === null || !equalHashes(root, trusted.root)) {
        problems.push({
          code: "inconsistent-with-trusted",
          message: `the first ${trusted.size} records no longer hash to the root of ${trusted.source}: history was rewritten`,
        });
      }
    }
  }

  private openWitnessNotes(witnesses: WitnessRequirement): void {
    const keyOf = new Map<string, string>();
    for (const key of witnesses.keys) {
      const [name = "", id = ""] = key.split("+");
      keyOf.set(`${name}+${id}`, key);
    }
    for (const { source, note } of witnesses.notes) {
      let opened: ReturnType<typeof openCosigned>;
      try {
        opened = openCosigned(note, witnesses.keys);
      } catch (error) {
        if (!isCharterError(error)) throw error;
        // Notes nobody trusted signed are not evidence either way; a bad signature by a trusted witness is.
        if (error.code === "INVALID_SIGNATURE") {
          this.witnessProblems.push({ code: "witness-cosignature-invalid", message: `${source}: ${error.message.replace(/^charter: /, "")}` });
        }
        continue;
      }
      for (const c of opened.cosignatures) {
        this.cosigned.push({ key: keyOf.get(`${c.name}+${c.keyId}`) ?? `${c.name}+${c.keyId}`, checkpoint: opened.checkpoint, timestamp: c.timestamp, source });
      }
    }
  }

  /**
   * Each trusted witness's cosigned trees must be trees of this log: one it no longer contains
   * (a larger size, or another root at that size) means the log was truncated or rewritten after
   * the witness saw it. Enough distinct witnesses must have cosigned one it does contain.
   */
  private judgeWitnesses(witnesses: WitnessRequirement, origin: string | null, problems: Problem[]): WitnessSighting[] {
    problems.push(...this.witnessProblems);
    const best = new Map<string, WitnessSighting>();
    for (const c of this.cosigned) {
      // A witness may watch other logs too; its cosignature of another log says nothing about this one.
      if (origin !== null && c.checkpoint.origin !== origin) continue;
      if (c.checkpoint.size > this.records) {
        problems.push({
          code: "witness-inconsistent",
          message: `${c.source}: witness ${c.key.split("+")[0] ?? ""} cosigned ${c.checkpoint.size} records, but only ${this.records} exist: the log was truncated after it was witnessed`,
        });
        continue;
      }
      const root = this.rootAt(c.checkpoint.size);
      if (root === null || !equalHashes(root, c.checkpoint.root)) {
        problems.push({
          code: "witness-inconsistent",
          message: `${c.source}: the first ${c.checkpoint.size} records no longer hash to the root witness ${c.key.split("+")[0] ?? ""} cosigned: history was rewritten after it was witnessed`,
        });
        continue;
      }
      const previous = best.get(c.key);
      if (!previous || c.checkpoint.size > previous.size) best.set(c.key, { key: c.key, size: c.checkpoint.size, timestamp: c.timestamp, source: c.source });
    }
    const witnessed = [...best.values()].sort((a, b) => a.key.localeCompare(b.key));
    if (witnessed.length < witnesses.min) {
      problems.push({
        code: "witness-quorum",
        message: `${witnessed.length} of the ${witnesses.keys.length} witness${witnesses.keys.length === 1 ? "" : "es"} you trust cosigned a tree this log contains; ${witnesses.min} ${witnesses.min === 1 ? "is" : "are"} required (${witnesses.notes.length} cosignature tag${witnesses.notes.length === 1 ? "" : "s"} found; fetch new ones with git fetch origin 'refs/tags/charter-witness/*:refs/tags/charter-witness/*')`,
      });
    }
    return witnessed;
  }
}

/** Facts inside one record body that the rest of the log can contradict. */
function checkBody(
  record: EvidenceRecord,
  seq: number,
  path: string,
  seen: RecordIndex,
  changeKeys: FingerprintTable,
  problems: Problem[],
): void {
  const at = { seq, path };
  if (record.kind === "change") {
    const earlier = changeKeys.set(record.body.idempotencyKey, seq);
    if (earlier !== undefined) {
      problems.push({ ...at, code: "duplicate-change", message: `record ${seq} records the same merge as record ${earlier} (${record.body.idempotencyKey})` });
    }
    if (filesRoot(record.body.files.hashes) !== record.body.files.root) {
      problems.push({ ...at, code: "files-root-mismatch", message: `record ${seq}'s files.root is not the Merkle root of its files.hashes` });
    }
  } else if (record.kind === "retro-approval") {
    if (seen.kindOf(record.body.emergency.seq, record.body.emergency.sha256) !== "emergency-change") {
      problems.push({
        ...at,
        code: "retro-reference-invalid",
        message: `record ${seq} closes record ${record.body.emergency.seq}, which is not an earlier emergency change with hash ${record.body.emergency.sha256}`,
      });
    }
  } else if (record.kind === "provisioning" && record.body.after !== null) {
    // Provisioning is evidence that deployment followed approval only if it names the approval.
    const target = seen.kindOf(record.body.after.seq, record.body.after.sha256);
    if (target !== "change" && target !== "emergency-change" && target !== "exception") {
      problems.push({
        ...at,
        code: "provisioning-reference-invalid",
        message: `record ${seq} provisions after record ${record.body.after.seq}, which is not an earlier change or exception record with hash ${record.body.after.sha256}`,
      });
    }
  } else if (record.kind === "readiness") {
    for (const message of readinessRecordProblems(record.body, seq)) problems.push({ ...at, code: "readiness-invalid", message });
  }
}

/** Opens a note the log signed, with the keys the auditor trusts; a failure becomes a problem. */
function openLogNote(
  note: string,
  keys: readonly string[],
  what: "checkpoint" | "trusted checkpoint",
  problems: Problem[],
): { checkpoint: Checkpoint; signedBy: string[] } | undefined {
  try {
    const opened = openNote(note, keys);
    const checkpoint = parseCheckpoint(opened.text);
    const signedBy = keys.filter((key) => {
      const v = parseVerifierKey(key);
      const id = Buffer.from(v.keyId).toString("hex");
      return opened.verified.some((s) => s.name === v.name && s.keyId === id);
    });
    return { checkpoint, signedBy };
  } catch (error) {
    if (!isCharterError(error)) throw error;
    const reason = error.message.replace(/^charter: /, "");
    if (what === "trusted checkpoint") problems.push({ code: "trusted-checkpoint-invalid", message: `the trusted checkpoint cannot be used: ${reason}` });
    else if (error.code === "INVALID_SIGNATURE" || error.code === "INVALID_KEY") problems.push({ code: "signature-invalid", message: `the checkpoint is not validly signed by a trusted key: ${reason}` });
    else problems.push({ code: "checkpoint-malformed", message: `the checkpoint is malformed: ${reason}` });
    return undefined;
  }
}
