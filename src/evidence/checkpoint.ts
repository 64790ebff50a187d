import { CharterError } from "../errors.js";
import type { Hash } from "./merkle.js";
import { hasControlCharacters, openNote, signNote } from "./signed-note.js";

/**
 * A C2SP tlog-checkpoint: the note body that commits the log to one size and root.
 *
 *   <origin>\n<size in decimal>\n<base64 root hash>\n[extension lines]
 *
 * The origin names the log, so a checkpoint for one repository's ledger cannot be replayed as
 * another's. The log signs exactly one root per size; any two checkpoints with the same size and
 * different roots prove the log forked.
 */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Hash;
  /** Optional lines after the root; Charter writes none and keeps any it reads. */
  readonly extensions: readonly string[];
}

export function formatCheckpoint(checkpoint: Checkpoint): string {
  if (checkpoint.origin === "" || hasControlCharacters(checkpoint.origin)) {
    throw new CharterError("MALFORMED_NOTE", "checkpoint origin must be a non-empty line");
  }
  if (!Number.isSafeInteger(checkpoint.size) || checkpoint.size < 0) throw new CharterError("MALFORMED_NOTE", `checkpoint size ${checkpoint.size} is not a count`);
  if (checkpoint.root.length !== 32) throw new CharterError("MALFORMED_NOTE", "checkpoint root must be a 32-byte SHA-256 hash");
  const extensions = checkpoint.extensions.map((line) => {
    if (line === "" || hasControlCharacters(line)) throw new CharterError("MALFORMED_NOTE", "checkpoint extension lines must be non-empty single lines");
    return `${line}\n`;
  });
  return `${checkpoint.origin}\n${checkpoint.size}\n${Buffer.from(checkpoint.root).toString("base64")}\n${extensions.join("")}`;
}

/** Parses a checkpoint body (the text of an opened note). The body is attacker-controlled. */
export function parseCheckpoint(body: string): Checkpoint {
  if (!body.endsWith("\n")) throw new CharterError("MALFORMED_NOTE", "checkpoint must end in a newline");
  const [origin, size, root, ...extensions] = body.slice(0, -1).split("\n");
  if (origin === undefined || origin === "") throw new CharterError("MALFORMED_NOTE", "checkpoint has no origin line");
  if (size === undefined || !/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) {
    throw new CharterError("MALFORMED_NOTE", `checkpoint size ${JSON.stringify(size ?? "")} is not a decimal count without leading zeros`);
  }
  const rootBytes = root === undefined ? undefined : Buffer.from(root, "base64");
  if (rootBytes?.length !== 32 || rootBytes.toString("base64") !== root) {
    throw new CharterError("MALFORMED_NOTE", "checkpoint root is not the base64 of a 32-byte hash");
  }
  if (extensions.some((line) => line === "")) throw new CharterError("MALFORMED_NOTE", "checkpoint has an empty extension line");
  return { origin, size: Number(size), root: Uint8Array.from(rootBytes), extensions };
}

/** A checkpoint signed as a note by each of the signer keys. */
export function signCheckpoint(checkpoint: Checkpoint, signerKeys: readonly string[]): string {
  return signNote(formatCheckpoint(checkpoint), signerKeys);
}

/** Verifies a signed checkpoint against the trusted keys and parses it. */
export function openCheckpoint(note: string | Uint8Array, verifierKeys: readonly string[]): Checkpoint {
  return parseCheckpoint(openNote(note, verifierKeys).text);
}
