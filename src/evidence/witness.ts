import { CharterError, isCharterError } from "../errors.js";
import { type Checkpoint, parseCheckpoint } from "./checkpoint.js";
import { appendLeaf, consistencyProofFromFrontier, EMPTY_FRONTIER, equalHashes, type Frontier, frontierRoot, type Hash, verifyConsistency } from "./merkle.js";
import { openNote, parseVerifierKey } from "./signed-note.js";

/**
 * What a witness decides, with no I/O: the adapter fetches the branch, reads the records this
 * asks for and publishes the cosignature. A witness watches one log (one origin, one log key),
 * remembers the last tree it cosigned with that tree's compact range, and cosigns a new
 * checkpoint only when it is signed by the log's key and consistent with that tree: an RFC 6962
 * consistency proof from the remembered compact range and the records added since must lead to
 * the new root. It never cosigns a smaller tree, or another root for a size it cosigned.
 */
export interface WitnessedLog {
  readonly origin: string;
  /** The log's verifier key, given to the witness out of band on its first run. */
  readonly logKey: string;
  /** The last tree cosigned. */
  readonly size: number;
  readonly root: Hash;
  readonly frontier: Frontier;
  /** POSIX seconds of the last cosignature. */
  readonly cosignedAt: number;
  /** The last cosigned checkpoint note, for publishing it again. */
  readonly note: string;
}

export type RefusalCode = "log-key-changed" | "signature-invalid" | "checkpoint-malformed" | "origin-mismatch" | "truncated" | "forked" | "inconsistent";

/** Why the witness will not cosign: the log misbehaved, or is not the log it watches. */
export interface Refusal {
  readonly kind: "refuse";
  readonly code: RefusalCode;
  readonly message: string;
}

export type WitnessPlan =
  /** Nothing new since the last cosignature. */
  | { readonly kind: "unchanged"; readonly checkpoint: Checkpoint; readonly logKey: string }
  /** Read records from..to-1 (their leaf hashes), then call advanceWitness. */
  | { readonly kind: "read"; readonly checkpoint: Checkpoint; readonly logKey: string; readonly from: number; readonly to: number }
  | Refusal;

const refuse = (code: RefusalCode, message: string): Refusal => ({ kind: "refuse", code, message });

/**
 * The first step of a run: opens the branch's checkpoint with the log key and compares it with
 * the last tree cosigned.
 */
export function planWitness(state: WitnessedLog | null, note: string, logKey: string | undefined): WitnessPlan {
  const key = logKey ?? state?.logKey;
  if (key === undefined) throw new CharterError("USAGE", "the first run of a witness needs the log's verifier key", { hint: "Pass --log-key with the key the log's operator published." });
  if (state !== null && logKey !== undefined && logKey !== state.logKey) {
    return refuse("log-key-changed", `this witness has cosigned ${state.origin} under the key ${state.logKey}, not ${logKey}: a witness does not follow a key change by itself`);
  }
  parseVerifierKey(key);
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(openNote(note, [key]).text);
  } catch (error) {
    if (!isCharterError(error)) throw error;
    const reason = error.message.replace(/^charter: /, "");
    if (error.code === "INVALID_SIGNATURE") return refuse("signature-invalid", `the branch's checkpoint is not signed by the log's key: ${reason}`);
    return refuse("checkpoint-malformed", `the branch's checkpoint is malformed: ${reason}`);
  }
  if (state === null) return { kind: "read", checkpoint, logKey: key, from: 0, to: checkpoint.size };
  if (checkpoint.origin !== state.origin) return refuse("origin-mismatch", `the checkpoint is for log "${checkpoint.origin}", but this witness watches "${state.origin}"`);
  if (checkpoint.size < state.size) {
    return refuse("truncated", `the log now signs ${checkpoint.size} records, but this witness cosigned ${state.size}: the log was truncated or rolled back`);
  }
  if (checkpoint.size === state.size) {
    if (!equalHashes(checkpoint.root, state.root)) {
      return refuse("forked", `the log signs a second root for ${state.size} records: it forked (two different histories of the same length)`);
    }
    return { kind: "unchanged", checkpoint, logKey: key };
  }
  return { kind: "read", checkpoint, logKey: key, from: state.size, to: checkpoint.size };
}

export interface WitnessedTree {
  readonly kind: "cosign";
  readonly origin: string;
  readonly size: number;
  readonly root: Hash;
  readonly frontier: Frontier;
}

/**
 * The second step: the leaf hashes of the records the plan asked for, in order. Returns the tree
 * to remember once cosigned, or a refusal when the records and the checkpoint do not extend the
 * tree cosigned last.
 */
export function advanceWitness(state: WitnessedLog | null, checkpoint: Checkpoint, leaves: readonly Hash[]): WitnessedTree | Refusal {
  const from = state?.size ?? 0;
  if (leaves.length !== checkpoint.size - from) throw new CharterError("INTERNAL", `expected ${checkpoint.size - from} leaves, got ${leaves.length}`);
  let frontier = state?.frontier ?? EMPTY_FRONTIER;
  for (const leaf of leaves) frontier = appendLeaf(frontier, leaf);
  if (state === null) {
    if (!equalHashes(frontierRoot(frontier), checkpoint.root)) {
      return refuse("inconsistent", `the ${checkpoint.size} records on the branch do not hash to the root the checkpoint signs`);
    }
  } else {
    const proof = consistencyProofFromFrontier(state.frontier, leaves);
    if (!verifyConsistency(state.size, checkpoint.size, state.root, checkpoint.root, proof)) {
      return refuse("inconsistent", `the log of ${checkpoint.size} records is not an extension of the ${state.size} this witness cosigned: its history was rewritten`);
    }
  }
  return { kind: "cosign", origin: checkpoint.origin, size: checkpoint.size, root: checkpoint.root, frontier };
}

/** The witness's state file: JSON, written by the witness only. */
export function formatWitnessState(log: WitnessedLog): string {
  return (
    JSON.stringify(
      {
        version: 1,
        origin: log.origin,
        logKey: log.logKey,
        size: log.size,
        root: Buffer.from(log.root).toString("base64"),
        frontier: log.frontier.nodes.map((n) => Buffer.from(n).toString("hex")),
        cosignedAt: log.cosignedAt,
        note: log.note,
      },
      null,
      2,
    ) + "\n"
  );
}

export function parseWitnessState(text: string, file: string): WitnessedLog {
  const bad = (what: string): CharterError =>
    new CharterError("INVALID_CONFIG", `${file}: ${what}`, { hint: "The state file is the witness's memory of what it cosigned; restore it from your backup rather than editing it." });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad("is not JSON");
  }
  const v = value as Record<string, unknown> | null;
  if (v === null || typeof v !== "object" || v["version"] !== 1) throw bad("is not a version 1 witness state");
  const { origin, logKey, size, root, frontier, cosignedAt, note } = v;
  if (typeof origin !== "string" || typeof logKey !== "string" || typeof note !== "string") throw bad("origin, logKey and note must be strings");
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw bad("size must be a count");
  if (typeof cosignedAt !== "number" || !Number.isSafeInteger(cosignedAt)) throw bad("cosignedAt must be POSIX seconds");
  const rootBytes = typeof root === "string" ? Buffer.from(root, "base64") : Buffer.alloc(0);
  if (rootBytes.length !== 32) throw bad("root must be the base64 of a 32-byte hash");
  if (!Array.isArray(frontier) || !frontier.every((n): n is string => typeof n === "string" && /^[0-9a-f]{64}$/.test(n))) throw bad("frontier must list hex hashes");
  const nodes = frontier.map((n) => Uint8Array.from(Buffer.from(n, "hex")));
  const restored: Frontier = { size, nodes };
  if (nodes.length !== popCount(size) || !equalHashes(frontierRoot(restored), rootBytes)) throw bad("frontier does not hash to the root");
  return { origin, logKey, size, root: Uint8Array.from(rootBytes), frontier: restored, cosignedAt, note };
}

function popCount(n: number): number {
  let count = 0;
  for (let x = n; x > 0; x = Math.floor(x / 2)) count += x % 2;
  return count;
}
