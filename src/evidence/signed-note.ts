import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign, verify } from "node:crypto";
import { CharterError } from "../errors.js";
import { sha256 } from "./merkle.js";

/**
 * C2SP signed-note with Ed25519 (signature type 0x01), in the key string formats of Go's
 * golang.org/x/mod/sumdb/note, so the checkpoints Charter signs can be checked by the Go tooling
 * and by witnesses written for it:
 *
 *   verifier key  <name>+<hex key ID>+<base64(type ‖ 32-byte public key)>
 *   signer key    PRIVATE+KEY+<name>+<hex key ID>+<base64(type ‖ 32-byte seed)>
 *   note          <text ending in \n>\n— <name> <base64(key ID[4] ‖ signature)>\n...
 *
 * key ID = SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]. The same key formats carry witness
 * cosigner keys (type 0x04, c2sp.org/tlog-cosignature; see cosignature.ts).
 */

/** Signature type bytes of C2SP signed-note that Charter uses. */
export const SIGNATURE_TYPE = { ed25519: 0x01, cosignatureV1: 0x04 } as const;
export type SignatureType = (typeof SIGNATURE_TYPE)[keyof typeof SIGNATURE_TYPE];

const ED25519 = SIGNATURE_TYPE.ed25519;
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

/** Checks one signature line's signature (the bytes after the key ID) over the note text. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: Uint8Array;
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSignature {
  readonly name: string;
  /** The key ID as 8 lowercase hex digits. */
  readonly keyId: string;
}

/** A signature that verified, with its bytes after the key ID (a cosignature's timestamp is there). */
export interface VerifiedSignature extends NoteSignature {
  readonly signature: Uint8Array;
}

export interface OpenedNote {
  /** The signed text, with its final newline. */
  readonly text: string;
  /** Signatures that verified against a supplied key. */
  readonly verified: readonly VerifiedSignature[];
  /** Signatures from keys the caller did not supply (e.g. witnesses): ignored, listed for display. */
  readonly unverified: readonly NoteSignature[];
}

/**
 * C2SP: "Key names MUST be non-empty and MUST NOT contain any Unicode spaces or plus (U+002B)
 * characters", and a note is UTF-8. "Unicode spaces" is the Unicode White_Space property, which
 * Go's verifier tests with unicode.IsSpace; JavaScript's \s is another set (it lacks U+0085 NEXT
 * LINE and adds U+FEFF), so the property is named explicitly. A lone surrogate has no UTF-8 form.
 */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\p{White_Space}+]/u.test(name) && !hasLoneSurrogate(name);
}

/**
 * What a key string's name must also satisfy: a name with an ASCII control character is valid
 * C2SP but can never appear in a note (notes refuse control characters), so such a key could
 * never verify anything and is refused where it is given.
 */
function checkKeyName(name: string, what: string): void {
  if (!isValidKeyName(name) || hasControlCharacters(name)) {
    throw new CharterError("INVALID_KEY", `${what} name ${JSON.stringify(name)} is empty or contains a space, a "+", a control character or invalid Unicode`, {
      hint: "Key names follow C2SP signed-note: no Unicode white space and no \"+\"; a schema-less URL such as example.com/evidence is typical.",
    });
  }
}

export function keyIdFor(name: string, publicKey: Uint8Array, type: SignatureType = ED25519): Uint8Array {
  return sha256(Buffer.concat([Buffer.from(name, "utf8"), Uint8Array.of(0x0a, type), publicKey])).subarray(0, 4);
}

/** A new random Ed25519 key pair, as the two key strings. */
export function generateSignerKey(name: string): { signerKey: string; verifierKey: string } {
  const signer = signerFromSeed(name, randomBytes(32));
  return { signerKey: formatSignerKey(name, rawSeed(signer.privateKey)), verifierKey: signer.verifierKey };
}

export function parseSignerKey(key: string): NoteSigner {
  const { name, keyId, seed } = parseTypedSignerKey(key, ED25519);
  const signer = signerFromSeed(name, seed);
  if (Buffer.compare(signer.keyId, keyId) !== 0) {
    throw new CharterError("INVALID_KEY", `signer key for "${name}" has key ID ${Buffer.from(keyId).toString("hex")}, but its key hashes to ${Buffer.from(signer.keyId).toString("hex")}`);
  }
  return signer;
}

/** A signer key string's parts, for a signature type; the key ID is not checked here. */
export function parseTypedSignerKey(key: string, type: SignatureType): { name: string; keyId: Uint8Array; seed: Uint8Array } {
  const parts = key.split("+");
  // The base64 may itself contain "+": everything after the fourth "+" is the key.
  if (parts.length < 5 || parts[0] !== "PRIVATE" || parts[1] !== "KEY" || !/^[0-9a-f]{8}$/.test(parts[3] ?? "")) {
    throw new CharterError("INVALID_KEY", "signer key must look like PRIVATE+KEY+<name>+<key id>+<base64 key>");
  }
  const name = parts[2] ?? "";
  checkKeyName(name, "signer key");
  return { name, keyId: Buffer.from(parts[3] ?? "", "hex"), seed: decodeTypedKey(parts.slice(4).join("+"), "signer", type) };
}

/** An Ed25519 verifier key string (type 0x01), as published for a log. */
export function parseVerifierKey(key: string): NoteVerifier {
  const { name, keyId, publicKey } = parseTypedVerifierKey(key, ED25519);
  return { name, keyId, verify: (text, signature) => verify(null, text, publicKey, signature) };
}

/** A verifier key string of a given signature type: its name, checked key ID and public key. */
export function parseTypedVerifierKey(key: string, type: SignatureType): { name: string; keyId: Uint8Array; publicKey: KeyObject } {
  const first = key.indexOf("+");
  const second = key.indexOf("+", first + 1);
  if (first < 0 || second < 0) throw new CharterError("INVALID_KEY", "verifier key must look like <name>+<key id>+<base64 key>");
  const name = key.slice(0, first);
  const id = key.slice(first + 1, second);
  checkKeyName(name, "verifier key");
  if (!/^[0-9a-f]{8}$/.test(id)) throw new CharterError("INVALID_KEY", `verifier key ID "${id}" is not 8 lowercase hex digits`);
  const raw = decodeTypedKey(key.slice(second + 1), "verifier", type);
  const keyId = keyIdFor(name, raw, type);
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
 * signature from a supplied key fails to verify, or when no supplied key signed it (unless
 * `allowUnverified`, for a caller that only looks for some keys among many notes: an
 * INVALID_SIGNATURE then always means a bad signature by a supplied key). Signatures from other
 * keys are ignored, which is how witnesses add cosignatures.
 */
export function openNote(input: string | Uint8Array, verifierKeys: readonly (string | NoteVerifier)[], options: { readonly allowUnverified?: boolean } = {}): OpenedNote {
  const verifiers = verifierKeys.map((key) => (typeof key === "string" ? parseVerifierKey(key) : key));
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
  const verified: VerifiedSignature[] = [];
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
    if (!verifier.verify(message, blob.subarray(4))) {
      throw new CharterError("INVALID_SIGNATURE", `the signature by ${name}+${id.keyId} does not verify: the note was altered or signed with another key`);
    }
    const key = `${name}+${id.keyId}`;
    if (!seen.has(key)) verified.push({ ...id, signature: Uint8Array.from(blob.subarray(4)) });
    seen.add(key);
  }
  if (verified.length === 0 && options.allowUnverified !== true) {
    throw new CharterError("INVALID_SIGNATURE", `no signature on the note is from a trusted key (found: ${unverified.map((s) => `${s.name}+${s.keyId}`).join(", ")})`);
  }
  return { text, verified, unverified };
}

function signerFromSeed(name: string, seed: Uint8Array): NoteSigner {
  const { privateKey, keyId, verifierKey } = ed25519FromSeed(name, seed, ED25519);
  return { name, keyId, privateKey, verifierKey };
}

/** An Ed25519 key pair from its seed, with the key ID and verifier key string for a signature type. */
export function ed25519FromSeed(name: string, seed: Uint8Array, type: SignatureType): { privateKey: KeyObject; keyId: Uint8Array; verifierKey: string } {
  checkKeyName(name, "key");
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
  const publicKey = createPublicKey(privateKey).export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length);
  const keyId = keyIdFor(name, publicKey, type);
  const verifierKey = `${name}+${Buffer.from(keyId).toString("hex")}+${Buffer.concat([Uint8Array.of(type), publicKey]).toString("base64")}`;
  return { privateKey, keyId, verifierKey };
}

/** The signer key string for a seed, in the format parseTypedSignerKey reads. */
export function formatSignerKey(name: string, seed: Uint8Array, type: SignatureType = ED25519): string {
  const keyId = Buffer.from(ed25519FromSeed(name, seed, type).keyId).toString("hex");
  return `PRIVATE+KEY+${name}+${keyId}+${Buffer.concat([Uint8Array.of(type), seed]).toString("base64")}`;
}

function rawSeed(privateKey: KeyObject): Uint8Array {
  return privateKey.export({ format: "der", type: "pkcs8" }).subarray(PKCS8_PREFIX.length);
}

function decodeTypedKey(text: string, what: "signer" | "verifier", type: SignatureType): Uint8Array {
  const raw = Buffer.from(text, "base64");
  if (raw.toString("base64") !== text || raw.length !== 33 || raw[0] !== type) {
    const expected = type === ED25519 ? "0x01 (Ed25519)" : "0x04 (Ed25519 witness cosignature)";
    throw new CharterError("INVALID_KEY", `${what} key is not base64 of signature type ${expected} followed by 32 bytes`);
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
