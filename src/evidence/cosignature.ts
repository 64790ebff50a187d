import { type KeyObject, randomBytes, sign, verify } from "node:crypto";
import { CharterError } from "../errors.js";
import { type Checkpoint, parseCheckpoint } from "./checkpoint.js";
import {
  ed25519FromSeed,
  formatSignerKey,
  type NoteVerifier,
  openNote,
  parseTypedSignerKey,
  parseTypedVerifierKey,
  SIGNATURE_TYPE,
} from "./signed-note.js";

/**
 * Witness cosignatures, C2SP tlog-cosignature v1 with Ed25519 (signature type 0x04). A witness
 * states that, at a time, the largest tree of a log it has seen, consistent with every earlier one
 * it saw, has this size and root. Its signature line joins the log's own on the checkpoint note:
 *
 *   — <witness name> base64(key ID[4] ‖ timestamp[8, big-endian] ‖ Ed25519 signature[64])
 *
 * and signs "cosignature/v1\ntime <timestamp>\n" followed by the checkpoint body. The key ID is
 * SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4], so a witness key can never be mistaken for a
 * log key, and keys are written in signed-note's key string formats with type byte 0x04.
 */
const COSIGNATURE_V1 = SIGNATURE_TYPE.cosignatureV1;
const HEADER = "cosignature/v1\n";
// C2SP: the timestamp must not exceed 2^63 - 1.
const MAX_TIMESTAMP = 2n ** 63n - 1n;

export interface Cosignature {
  readonly name: string;
  /** 8 lowercase hex digits. */
  readonly keyId: string;
  /** POSIX seconds at which the witness signed. */
  readonly timestamp: number;
}

export interface CosignedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The checkpoint body the cosignatures sign. */
  readonly body: string;
  readonly cosignatures: readonly Cosignature[];
}

/** A new random witness key pair, as C2SP key strings of type 0x04. */
export function generateCosignerKey(name: string): { signerKey: string; verifierKey: string } {
  const seed = randomBytes(32);
  return { signerKey: formatSignerKey(name, seed, COSIGNATURE_V1), verifierKey: ed25519FromSeed(name, seed, COSIGNATURE_V1).verifierKey };
}

/** The verifier key string of a witness signer key. */
export function cosignerVerifierKey(signerKey: string): string {
  return parseCosigner(signerKey).verifierKey;
}

/**
 * Adds the witness's cosignature line to a checkpoint note (the body and the log's signature
 * lines, which are kept as they are). The caller has already checked the log's signature and the
 * tree's consistency: signing is the last step.
 */
export function cosignCheckpoint(note: string, signerKey: string, timestamp: number): string {
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new CharterError("MALFORMED_NOTE", "the checkpoint to cosign is not a signed note");
  const body = note.slice(0, split + 1);
  parseCheckpoint(body);
  const signer = parseCosigner(signerKey);
  const time = timestampBytes(timestamp);
  const signature = sign(null, cosignedMessage(body, timestamp), signer.privateKey);
  return `${note}\u2014 ${signer.name} ${Buffer.concat([signer.keyId, time, signature]).toString("base64")}\n`;
}

/** A verifier for one witness key, for openNote: it checks the timestamped signature. */
export function cosignatureVerifier(verifierKey: string): NoteVerifier {
  const { name, keyId, publicKey } = parseTypedVerifierKey(verifierKey, COSIGNATURE_V1);
  return {
    name,
    keyId,
    verify(text, signature) {
      if (signature.length !== 8 + 64) return false;
      const timestamp = Buffer.from(signature.subarray(0, 8)).readBigUInt64BE();
      if (timestamp > MAX_TIMESTAMP) return false;
      return verify(null, cosignedMessage(new TextDecoder().decode(text), Number(timestamp)), publicKey, signature.subarray(8));
    },
  };
}

/**
 * Opens a note with witness keys only: the cosignatures that verify, and the checkpoint they
 * cosign. The note is attacker-controlled; the rules of openNote apply (a bad signature by a given
 * witness key refuses the note with INVALID_SIGNATURE). A note that no given witness cosigned
 * opens with no cosignatures.
 */
export function openCosigned(note: string | Uint8Array, witnessKeys: readonly string[]): CosignedCheckpoint {
  const opened = openNote(note, witnessKeys.map(cosignatureVerifier), { allowUnverified: true });
  const checkpoint = parseCheckpoint(opened.text);
  const cosignatures = opened.verified.map((s) => ({ name: s.name, keyId: s.keyId, timestamp: Number(Buffer.from(s.signature.subarray(0, 8)).readBigUInt64BE()) }));
  return { checkpoint, body: opened.text, cosignatures };
}

/** The bytes a v1 cosignature signs. */
export function cosignedMessage(body: string, timestamp: number): Buffer {
  return Buffer.from(`${HEADER}time ${String(timestamp)}\n${body}`, "utf8");
}

function parseCosigner(signerKey: string): { name: string; keyId: Uint8Array; privateKey: KeyObject; verifierKey: string } {
  const { name, keyId, seed } = parseTypedSignerKey(signerKey, COSIGNATURE_V1);
  const pair = ed25519FromSeed(name, seed, COSIGNATURE_V1);
  if (Buffer.compare(pair.keyId, keyId) !== 0) {
    throw new CharterError("INVALID_KEY", `witness key for "${name}" has key ID ${Buffer.from(keyId).toString("hex")}, but its key hashes to ${Buffer.from(pair.keyId).toString("hex")}`);
  }
  return { name, keyId: pair.keyId, privateKey: pair.privateKey, verifierKey: pair.verifierKey };
}

function timestampBytes(timestamp: number): Buffer {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new CharterError("OUT_OF_RANGE", `cosignature time ${timestamp} is not POSIX seconds`);
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(timestamp));
  return out;
}
