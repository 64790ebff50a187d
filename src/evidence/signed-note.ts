import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign, verify } from "node:crypto";
import { CharterError } from "../errors.js";
import { sha256 } from "./merkle.js";

/**
 * C2SP signed-note with Ed25519 (signature type 0x01), in the key string formats of Go's
 * golang.org/x/mod/sumdb/note, so the checkpoints Charter signs can be checked by the Go tooling
 * and by witnesses written for it:
 *
 *   verifier key  <name>+<hex key ID>+<base64(0x01 ‖ 32-byte public key)>
 *   signer key    PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ‖ 32-byte seed)>
 *   note          <text ending in \n>\n— <name> <base64(key ID[4] ‖ signature)>\n...
 *
 * key ID = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4].
 */

const ED25519 = 0x01;
const DASH = "\u2014 ";
// DER prefixes that wrap a raw 32-byte Ed25519 seed (PKCS#8) or public key (SPKI) for node:crypto.
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
// C2SP asks verifiers to accept at least 16; more than this is treated as an attack on the verifier.
const MAX_SIGNATURES = 100;

export interface NoteSigner {
  readonly name: string;
  readonly keyId: Uint8Array;
  readonly privateKey: KeyObject;
  /** The matching verifier key string, for publishing. */
  readonly verifierKey: string;
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: Uint8Array;
  readonly publicKey: KeyObject;
}

export interface NoteSignature {
  readonly name: string;
  /** The key ID as 8 lowercase hex digits. */
  readonly keyId: string;
}

export interface OpenedNote {
  /** The signed text, with its final newline. */
  readonly text: string;
  /** Signatures that verified against a supplied key. */
  readonly verified: readonly NoteSignature[];
  /** Signatures from keys the caller did not supply (e.g. witnesses): ignored, listed for display. */
  readonly unverified: readonly NoteSignature[];
}

export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && !hasControlCharacters(name);
}

export function keyIdFor(name: string, publicKey: Uint8Array): Uint8Array {
  return sha256(Buffer.concat([Buffer.from(name, "utf8"), Uint8Array.of(0x0a, ED25519), publicKey])).subarray(0, 4);
}

/** A new random Ed25519 key pair, as the two key strings. */
export function generateSignerKey(name: string): { signerKey: string; verifierKey: string } {
  const signer = signerFromSeed(name, randomBytes(32));
  return { signerKey: formatSignerKey(name, rawSeed(signer.privateKey)), verifierKey: signer.verifierKey };
}

export function parseSignerKey(key: string): NoteSigner {
  const parts = key.split("+");
  // The base64 may itself contain "+": everything after the fourth "+" is the key.
  if (parts.length < 5 || parts[0] !== "PRIVATE" || parts[1] !== "KEY") {
    throw new CharterError("INVALID_KEY", "signer key must look like PRIVATE+KEY+<name>+<key id>+<base64 key>");
  }
  const name = parts[2] ?? "";
  const seed = decodeTypedKey(parts.slice(4).join("+"), "signer");
  const signer = signerFromSeed(name, seed);
  if (Buffer.from(signer.keyId).toString("hex") !== parts[3]) {
    throw new CharterError("INVALID_KEY", `signer key for "${name}" has key ID ${parts[3] ?? ""}, but its key hashes to ${Buffer.from(signer.keyId).toString("hex")}`);
  }
  return signer;
}

export function parseVerifierKey(key: string): NoteVerifier {
  const first = key.indexOf("+");
  const second = key.indexOf("+", first + 1);
  if (first < 0 || second < 0) throw new CharterError("INVALID_KEY", "verifier key must look like <name>+<key id>+<base64 key>");
  const name = key.slice(0, first);
  const id = key.slice(first + 1, second);
  if (!isValidKeyName(name)) throw new CharterError("INVALID_KEY", `verifier key name "${name}" is empty or contains spaces or "+"`);
  if (!/^[0-9a-f]{8}$/.test(id)) throw new CharterError("INVALID_KEY", `verifier key ID "${id}" is not 8 lowercase hex digits`);
  const raw = decodeTypedKey(key.slice(second + 1), "verifier");
  const keyId = keyIdFor(name, raw);
  if (Buffer.from(keyId).toString("hex") !== id) {
    throw new CharterError("INVALID_KEY", `verifier key for "${name}" has key ID ${id}, but its key hashes to ${Buffer.from(keyId).toString("hex")}`);
  }
  return { name, keyId, publicKey: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" }) };
}

/** Signs a note text (which must end in a newline) with one or more signer keys. */
export function signNote(text: string, signerKeys: readonly string[]): string {
  if (!isValidText(text)) {
    throw new CharterError("MALFORMED_NOTE", "note text must be non-empty UTF-8 ending in a newline, with no control characters other than newline");
  }
  if (signerKeys.length === 0) throw new CharterError("INVALID_KEY", "a note needs at least one signer key");
  const message = Buffer.from(text, "utf8");
  let lines = "";
  for (const key of signerKeys) {
    const signer = parseSignerKey(key);
    const signature = sign(null, message, signer.privateKey);
    lines += `${DASH}${signer.name} ${Buffer.concat([signer.keyId, signature]).toString("base64")}\n`;
  }
  return `${text}\n${lines}`;
}

/**
 * Opens a signed note. The note is attacker-controlled: it is refused when malformed, when a
 * signature from a supplied key fails to verify, or when no supplied key signed it. Signatures
 * from other keys are ignored, which is how witnesses add co-signatures.
 */
export function openNote(input: string | Uint8Array, verifierKeys: readonly string[]): OpenedNote {
  const verifiers = verifierKeys.map(parseVerifierKey);
  const note = typeof input === "string" ? input : decodeUtf8(input);
  if (hasControlCharacters(note.replaceAll("\n", "")) || hasLoneSurrogate(note)) {
    throw new CharterError("MALFORMED_NOTE", "note contains control characters or invalid UTF-8");
  }
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new CharterError("MALFORMED_NOTE", "note has no blank line before its signatures");
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block === "" || !block.endsWith("\n")) throw new CharterError("MALFORMED_NOTE", "note's signature block is empty or does not end in a newline");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw new CharterError("MALFORMED_NOTE", `note has more than ${MAX_SIGNATURES} signatures`);

  const message = Buffer.from(text, "utf8");
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    const match = /^\u2014 ([^ ]+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
    const name = match?.[1];
    const blob = match?.[2] === undefined ? undefined : Buffer.from(match[2], "base64");
    if (name === undefined || blob === undefined || !isValidKeyName(name) || blob.length < 5 || blob.toString("base64") !== match?.[2]) {
      throw new CharterError("MALFORMED_NOTE", `malformed signature line: ${JSON.stringify(line.slice(0, 120))}`);
    }
    const keyId = blob.subarray(0, 4);
    const id = { name, keyId: keyId.toString("hex") };
    const verifier = verifiers.find((v) => v.name === name && Buffer.compare(v.keyId, keyId) === 0);
    if (!verifier) {
      unverified.push(id);
      continue;
    }
    // Every signature by a known key must verify, repeated ones included: C2SP says to reject
    // the note rather than pick the good one.
    if (!verify(null, message, verifier.publicKey, blob.subarray(4))) {
      throw new CharterError("INVALID_SIGNATURE", `the signature by ${name}+${id.keyId} does not verify: the note was altered or signed with another key`);
    }
    const key = `${name}+${id.keyId}`;
    if (!seen.has(key)) verified.push(id);
    seen.add(key);
  }
  if (verified.length === 0) {
    throw new CharterError("INVALID_SIGNATURE", `no signature on the note is from a trusted key (found: ${unverified.map((s) => `${s.name}+${s.keyId}`).join(", ")})`);
  }
  return { text, verified, unverified };
}

function signerFromSeed(name: string, seed: Uint8Array): NoteSigner {
  if (!isValidKeyName(name)) throw new CharterError("INVALID_KEY", `key name "${name}" is empty or contains spaces or "+"`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
  const publicKey = createPublicKey(privateKey).export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length);
  const keyId = keyIdFor(name, publicKey);
  const verifierKey = `${name}+${Buffer.from(keyId).toString("hex")}+${Buffer.concat([Uint8Array.of(ED25519), publicKey]).toString("base64")}`;
  return { name, keyId, privateKey, verifierKey };
}

function formatSignerKey(name: string, seed: Uint8Array): string {
  const keyId = Buffer.from(keyIdFor(name, rawPublic(seed))).toString("hex");
  return `PRIVATE+KEY+${name}+${keyId}+${Buffer.concat([Uint8Array.of(ED25519), seed]).toString("base64")}`;
}

function rawSeed(privateKey: KeyObject): Uint8Array {
  return privateKey.export({ format: "der", type: "pkcs8" }).subarray(PKCS8_PREFIX.length);
}

function rawPublic(seed: Uint8Array): Uint8Array {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
  return createPublicKey(privateKey).export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length);
}

function decodeTypedKey(text: string, what: "signer" | "verifier"): Uint8Array {
  const raw = Buffer.from(text, "base64");
  if (raw.toString("base64") !== text || raw.length !== 33 || raw[0] !== ED25519) {
    throw new CharterError("INVALID_KEY", `${what} key is not base64 of 0x01 followed by 32 bytes (only Ed25519 is supported)`);
  }
  return raw.subarray(1);
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw new CharterError("MALFORMED_NOTE", "note is not valid UTF-8", { cause });
  }
}

function isValidText(text: string): boolean {
  return text.length > 0 && text.endsWith("\n") && !hasControlCharacters(text.replaceAll("\n", "")) && !hasLoneSurrogate(text);
}

/** ASCII control characters (below U+0020), which signed notes may not contain except newline. */
export function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x20) return true;
  return false;
}

function hasLoneSurrogate(text: string): boolean {
  // In a /u pattern a well-formed pair is one code point, so only a lone surrogate matches.
  return /\p{Cs}/u.test(text);
}
