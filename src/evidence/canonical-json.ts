import canonicalize from "canonicalize";
import { CharterError } from "../errors.js";

/**
 * RFC 8785 (JCS) canonical JSON. An evidence record is stored as its canonical text plus one
 * newline, and every hash is taken over exactly those stored bytes, so two honest writers
 * produce the same bytes for the same record and any reformatting is detectable.
 */

const encoder = new TextEncoder();
// fatal: refuse malformed UTF-8 instead of replacing it; ignoreBOM: keep a BOM so it fails the
// byte comparison rather than being silently dropped.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The RFC 8785 serialization of a JSON value, without the trailing newline. Accepts any finite
 * number (the RFC's own vectors use fractions); records go through canonicalBytes instead.
 */
export function canonicalText(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (cause) {
    throw new CharterError("NOT_CANONICAL", `value cannot be canonicalized: ${(cause as Error).message}`, { cause });
  }
  if (text === undefined) throw new CharterError("NOT_CANONICAL", "value cannot be canonicalized: it is not JSON");
  return text;
}

/**
 * The bytes to store and hash: canonical JSON and "\n". Numbers must be safe integers, because
 * JSON.parse silently rounds anything else and a verifier would then hash different bytes.
 */
export function canonicalBytes(value: unknown): Uint8Array {
  requireSafeIntegers(value, "");
  return encoder.encode(canonicalText(value) + "\n");
}

/**
 * Parses stored bytes, refusing anything that is not exactly what canonicalBytes would write:
 * invalid UTF-8, a byte-order mark, whitespace, key order, duplicate keys (JSON.parse keeps the
 * last one, so the re-serialization differs), escapes written another way, a missing or extra
 * newline, and numbers that are not safe integers. The bytes are attacker-controlled.
 */
export function parseCanonical(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch (cause) {
    throw new CharterError("NOT_CANONICAL", "record is not valid UTF-8", { cause });
  }
  if (!text.endsWith("\n")) throw new CharterError("NOT_CANONICAL", "record does not end with exactly one newline");
  let value: unknown;
  try {
    value = JSON.parse(text.slice(0, -1));
  } catch (cause) {
    throw new CharterError("NOT_CANONICAL", `record is not JSON: ${(cause as Error).message}`, { cause });
  }
  // The common case, at a fraction of the cost: JSON.stringify writes strings and integers as
  // RFC 8785 does and keys in enumeration order, so bytes it reproduces whose keys are already
  // sorted (by UTF-16 code units, which is what < compares) and whose numbers are safe integers
  // are canonical. Anything else (integer-like keys, which JavaScript enumerates first; a
  // duplicate key; another spelling; "\ud…", which JSON.stringify writes only for a lone
  // surrogate, which RFC 8785 refuses) takes the full comparison below, which decides.
  if (!text.includes("\\ud") && JSON.stringify(value) === text.slice(0, -1) && sortedWithSafeIntegers(value)) return value;
  requireSafeIntegers(value, "");
  if (canonicalText(value) + "\n" !== text) {
    throw new CharterError("NOT_CANONICAL", "record bytes differ from their RFC 8785 canonical form (reformatted, reordered or duplicate keys)");
  }
  return value;
}

function requireSafeIntegers(value: unknown, pointer: string): void {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new CharterError("NOT_CANONICAL", `number at "${pointer}" is not a safe integer: store it as a string`);
    }
  } else if (Array.isArray(value)) {
    value.forEach((item: unknown, i) => {
      requireSafeIntegers(item, `${pointer}/${i}`);
    });
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) requireSafeIntegers(item, `${pointer}/${key}`);
  }
}

function sortedWithSafeIntegers(value: unknown): boolean {
  if (typeof value === "number") return Number.isSafeInteger(value);
  if (value === null || typeof value !== "object") return true;
  if (Array.isArray(value)) return value.every(sortedWithSafeIntegers);
  let previous: string | undefined;
  for (const key in value) {
    if (previous !== undefined && !(previous < key)) return false;
    previous = key;
    if (!sortedWithSafeIntegers((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}
