import { appendLeaf, EMPTY_FRONTIER, equalHashes, type Frontier, frontierRoot } from "../evidence/merkle.js";
import { isCharterError } from "../errors.js";
import { chainHashBytes, GENESIS_HASH } from "./event-bytes.js";
import { openTrailCheckpoint } from "./segments.js";

/**
 * Offline verification of the action trail. The stored events, segments and their checkpoints
 * are all in the operator's hands; what the auditor trusts is the verifier key and the
 * trail-anchor records on the evidence branch (signed, hash-chained, held by GitHub). Every
 * stored event is re-hashed from its bytes and the trail's Merkle tree rebuilt; at each anchored
 * segment's end the root must be the one its signed checkpoint commits to. So an edit, a
 * deletion, an insertion or a reordering anywhere before the last anchor changes a root, and a
 * truncation leaves an anchored segment without its events.
 */
export type TrailProblemCode =
  | "hash-mismatch"
  | "seq-mismatch"
  | "chunk-gap"
  | "index-count-mismatch"
  | "segment-root-mismatch"
  | "segment-not-anchored-as-stored"
  | "checkpoint-invalid"
  | "truncated"
  | "column-mismatch"
  /** The alert store against the trail's log of alerts and evaluations (src/sources/alert-log.ts). */
  | "alert-missing"
  | "alert-altered"
  | "alert-unlogged"
  | "evaluation-missing"
  | "evaluation-altered"
  | "evaluation-unlogged"
  /** An anchor record's alert summary against the log's records it covers (src/trail/alert-summary.ts). */
  | "alert-summary-mismatch"
  /** A record of the evidence branch that is not canonical JSON: whatever anchor it held goes unchecked. */
  | "ledger-record-unreadable";

export interface TrailProblem {
  readonly code: TrailProblemCode;
  readonly seq?: number;
  readonly segment?: number;
  readonly message: string;
}

/** One segment as an anchor record on the evidence branch lists it. */
export interface AnchoredSegment {
  readonly index: number;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly root: string;
  /** The evidence record that anchors it. */
  readonly anchorSeq: number;
}

/** A signed checkpoint an anchor record carries (of the tree at its last segment's end). */
export interface AnchoredCheckpoint {
  readonly anchorSeq: number;
  readonly note: string;
}

export interface TrailVerifyInput {
  readonly origin: string;
  readonly verifierKeys: readonly string[];
  /**
   * The stored record: chunks of lines in seq order (first seq, last seq, lines, hashes), read
   * as they are checked. Nothing of a chunk is kept once it is checked, so memory stays bounded
   * whatever the trail's length: the caller should read them lazily too (a cursor, a page at a time).
   */
  readonly chunks: Iterable<readonly [number, number, Buffer, Buffer]> | AsyncIterable<readonly [number, number, Buffer, Buffer]>;
  /** Segments as the store holds them (index, range, root, checkpoint). */
  readonly segments: readonly { index: number; fromSeq: number; toSeq: number; root: string; checkpoint: string }[];
  readonly anchored: readonly AnchoredSegment[];
  readonly checkpoints: readonly AnchoredCheckpoint[];
  /** Rows in the query table, which must be exactly the chained events. */
  readonly indexRows: number;
  /** Called with each event's seq and bytes, for checks of the query columns (--deep). */
  readonly onEvent?: (seq: number, bytes: Buffer) => void;
}

export interface TrailVerifyReport {
  readonly ok: boolean;
  readonly events: number;
  readonly root: string;
  readonly anchoredThrough: number;
  readonly sealedThrough: number;
  readonly problems: readonly TrailProblem[];
}

const MAX_PROBLEMS = 100;
const SEQ_MARK = Buffer.from(',"seq":');

export async function verifyTrail(input: TrailVerifyInput): Promise<TrailVerifyReport> {
  const problems: TrailProblem[] = [];
  const add = (p: TrailProblem): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  // Where the tree's root must be checked: anchored segment ends first, the store's own segments too.
  const anchoredAt = new Map<number, AnchoredSegment>();
  for (const a of input.anchored) anchoredAt.set(a.toSeq, a);
  const storedAt = new Map(input.segments.map((s) => [s.toSeq, s]));

  for (const c of input.checkpoints) {
    try {
      const opened = openTrailCheckpoint(c.note, input.verifierKeys, input.origin);
      const segment = anchoredAt.get(opened.size);
      if (segment === undefined || segment.root !== opened.root) add({ code: "checkpoint-invalid", message: `the checkpoint in evidence record ${c.anchorSeq} (size ${opened.size}) matches no segment that record anchors` });
    } catch (error) {
      add({ code: "checkpoint-invalid", message: `the checkpoint in evidence record ${c.anchorSeq} does not verify: ${isCharterError(error) ? error.message.replace(/^charter: /, "") : String(error)}` });
    }
  }
  for (const a of input.anchored) {
    const stored = input.segments.find((s) => s.index === a.index);
    if (stored === undefined || stored.fromSeq !== a.fromSeq || stored.toSeq !== a.toSeq || stored.root !== a.root) {
      add({ code: "segment-not-anchored-as-stored", segment: a.index, message: `segment ${a.index} (events ${a.fromSeq}–${a.toSeq}) is ${stored === undefined ? "missing from the store" : "stored with another range or root than evidence record " + String(a.anchorSeq) + " anchors"}` });
    }
  }
  for (const s of input.segments) {
    try {
      const opened = openTrailCheckpoint(s.checkpoint, input.verifierKeys, input.origin);
      if (opened.size !== s.toSeq || opened.root !== s.root) add({ code: "checkpoint-invalid", segment: s.index, message: `segment ${s.index}'s checkpoint commits to size ${opened.size}, root ${opened.root.slice(0, 12)}, not to the segment` });
    } catch (error) {
      add({ code: "checkpoint-invalid", segment: s.index, message: `segment ${s.index}'s checkpoint does not verify: ${isCharterError(error) ? error.message.replace(/^charter: /, "") : String(error)}` });
    }
  }

  let frontier: Frontier = EMPTY_FRONTIER;
  let prev: Buffer = Buffer.from(GENESIS_HASH, "hex");
  let expected = 1;
  let events = 0;
  for await (const [first, last, lines, hashes] of input.chunks) {
    if (first !== expected) {
      add({ code: "chunk-gap", seq: expected, message: first > expected ? `events ${expected}–${first - 1} are missing from the store` : `events from ${first} are stored twice or out of order` });
    }
    let start = 0;
    let seq = first;
    for (; start < lines.length; seq++) {
      let end = lines.indexOf(0x0a, start);
      if (end === -1) end = lines.length;
      const bytes = lines.subarray(start, end);
      start = end + 1;
      const i = seq - first;
      const stored = hashes.subarray(i * 32, i * 32 + 32);
      const leaf = chainHashBytes(prev, bytes);
      if (stored.length !== 32 || !equalHashes(leaf, stored)) {
        add({ code: "hash-mismatch", seq, message: `event ${seq} does not hash to its stored chain hash: it (or the event before it) was altered` });
      }
      const inner = innerSeq(bytes);
      if (inner !== seq) add({ code: "seq-mismatch", seq, message: `the event stored at position ${seq} says it is event ${inner ?? "?"}: events were moved` });
      input.onEvent?.(seq, bytes);
      prev = stored.length === 32 ? stored : leaf;
      frontier = appendLeaf(frontier, leaf);
      events++;
      const anchor = anchoredAt.get(seq);
      const segment = storedAt.get(seq);
      if (anchor !== undefined || segment !== undefined) {
        const root = Buffer.from(frontierRoot(frontier)).toString("hex");
        if (anchor !== undefined && anchor.root !== root) {
          add({ code: "segment-root-mismatch", segment: anchor.index, message: `events ${anchor.fromSeq}–${anchor.toSeq} (segment ${anchor.index}) are not the events evidence record ${anchor.anchorSeq} anchored: one was edited, deleted, inserted or moved at or before event ${anchor.toSeq}` });
        } else if (anchor === undefined && segment !== undefined && segment.root !== root) {
          add({ code: "segment-root-mismatch", segment: segment.index, message: `events ${segment.fromSeq}–${segment.toSeq} (segment ${segment.index}, not yet anchored) no longer match its signed checkpoint` });
        }
      }
    }
    if (seq - 1 !== last) add({ code: "chunk-gap", seq: first, message: `the chunk of events ${first}–${last} holds ${seq - first} events` });
    expected = Math.max(expected, last + 1);
  }
  const anchoredThrough = input.anchored.reduce((m, a) => Math.max(m, a.toSeq), 0);
  const sealedThrough = input.segments.reduce((m, s) => Math.max(m, s.toSeq), 0);
  if (anchoredThrough > events) add({ code: "truncated", seq: events + 1, message: `the evidence branch anchors events up to ${anchoredThrough}, but the store ends at ${events}: the trail was truncated` });
  else if (sealedThrough > events) add({ code: "truncated", seq: events + 1, message: `the store's segments seal events up to ${sealedThrough}, but it holds only ${events}` });
  if (input.indexRows !== events) add({ code: "index-count-mismatch", message: `the query table holds ${input.indexRows} rows for ${events} stored events: rows were deleted or added behind the record` });
  return { ok: problems.length === 0, events, root: Buffer.from(frontierRoot(frontier)).toString("hex"), anchoredThrough, sealedThrough, problems };
}

/** The seq written inside an event's bytes (canonical order puts it after "resource"). */
function innerSeq(bytes: Buffer): number | null {
  // The last occurrence: "seq" is the last key that holds an object before it (detail), and a detail key of that name sits inside it.
  const at = bytes.lastIndexOf(SEQ_MARK);
  if (at === -1) return null;
  let n = 0;
  let i = at + SEQ_MARK.length;
  for (; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
  }
  return i === at + SEQ_MARK.length ? null : n;
}
