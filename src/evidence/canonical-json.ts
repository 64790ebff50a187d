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
  // The common case, at a fraction of the cost of serializing again: a scan of the text that
  // accepts only what RFC 8785 writes (see plainlyCanonical). Whatever it does not vouch for
  // takes the full comparison below, which decides.
  if (plainlyCanonical(text)) return value;
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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
// The escapes RFC 8785 (like JSON.stringify) writes: \b \f \n \r \t, \" and \\, and \u00xx in
// lowercase hex for the other control characters.
const SHORT_ESCAPES = new Set([0x62, 0x66, 0x6e, 0x72, 0x74, QUOTE, BACKSLASH]);
const SHORT_ESCAPED_CONTROLS = new Set([0x08, 0x0c, 0x0a, 0x0d, 0x09]);
const LOWER_HEX = /^[0-9a-f]{2}$/;

/**
 * True only when `text` (valid JSON, as JSON.parse has just shown, plus the newline) is exactly
 * RFC 8785's form of its value: no whitespace between tokens; strings written as RFC 8785 writes
 * them (every character as itself but the escapes above); numbers that are safe integers written
 * in their shortest decimal form; and at every level keys without escapes in strictly ascending
 * UTF-16 order (so no duplicates). A key with an escape, a valid but unusual spelling and
 * anything else it cannot vouch for return false, and the caller compares with a full
 * re-serialization instead: this scan may only ever be stricter than that comparison. One pass
 * over the characters, allocating only the keys: reading a large ledger, re-serializing every
 * record cost more than hashing it. Inside strings, which are most of a record, the scan jumps
 * from quote to quote with indexOf (native, many characters a step) instead of reading each
 * character: JSON.parse has already refused raw control characters, and a backslash (found the
 * same way, once for the text) is the only thing between two quotes that needs a look.
 */
function plainlyCanonical(text: string): boolean {
  const end = text.length - 1;
  // For each open container: where an object's previous key starts and ends in the text (NO_KEY
  // before its first), or IN_ARRAY for an array; and whether the next string is a key. Keys are
  // compared where they lie, so the scan allocates nothing per key.
  const keyStarts: number[] = [];
  const keyEnds: number[] = [];
  let expectKey = false;
  // The next backslash at or after the scan, or the end: backslashes only occur inside strings.
  let backslash = nextBackslash(text, 0, end);
  let i = 0;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i + 1;
      let escaped = false;
      i = start;
      for (;;) {
        // JSON.parse accepted the text, so every string is closed before the end.
        const quote = text.indexOf('"', i);
        if (quote < 0 || quote >= end) return false;
        if (quote < backslash) {
          i = quote;
          break;
        }
        escaped = true;
        i = backslash;
        const e = text.charCodeAt(i + 1);
        if (SHORT_ESCAPES.has(e)) i += 2;
        else if (e === 0x75 && text.charCodeAt(i + 2) === DIGIT_0 && text.charCodeAt(i + 3) === DIGIT_0 && LOWER_HEX.test(text.slice(i + 4, i + 6))) {
          const code = Number.parseInt(text.slice(i + 4, i + 6), 16);
          if (code >= 0x20 || SHORT_ESCAPED_CONTROLS.has(code)) return false;
          i += 6;
        } else return false;
        backslash = nextBackslash(text, i, end);
      }
      if (expectKey) {
        if (escaped) return false;
        const top = keyStarts.length - 1;
        const previous = keyStarts[top] ?? IN_ARRAY;
        if (previous === IN_ARRAY || (previous !== NO_KEY && !rangeBefore(text, previous, keyEnds[top] ?? 0, start, i))) return false;
        keyStarts[top] = start;
        keyEnds[top] = i;
        expectKey = false;
      }
      i += 1;
    } else if (c === 0x7b) {
      keyStarts.push(NO_KEY);
      keyEnds.push(NO_KEY);
      expectKey = true;
      i += 1;
    } else if (c === 0x5b) {
      keyStarts.push(IN_ARRAY);
      keyEnds.push(IN_ARRAY);
      i += 1;
    } else if (c === 0x7d || c === 0x5d) {
      keyStarts.pop();
      keyEnds.pop();
      i += 1;
    } else if (c === 0x2c) {
      expectKey = keyStarts[keyStarts.length - 1] !== IN_ARRAY;
      i += 1;
    } else if (c === 0x3a) {
      i += 1;
    } else if (c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) {
      const start = i;
      i += 1;
      for (let d = text.charCodeAt(i); (d >= DIGIT_0 && d <= DIGIT_9) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === MINUS; d = text.charCodeAt(i)) i += 1;
      const token = text.slice(start, i);
      const n = Number(token);
      if (!Number.isSafeInteger(n) || String(n) !== token) return false;
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
      // true, false, null: JSON.parse accepted the text, so the word is whole.
      i += c === 0x66 ? 5 : 4;
    } else {
      return false;
    }
  }
  return i === end;
}

const NO_KEY = -1;
const IN_ARRAY = -2;

/** text.slice(a, aEnd) < text.slice(b, bEnd), in UTF-16 code units as `<` compares strings, without slicing. */
function rangeBefore(text: string, a: number, aEnd: number, b: number, bEnd: number): boolean {
  const n = Math.min(aEnd - a, bEnd - b);
  for (let k = 0; k < n; k++) {
    const x = text.charCodeAt(a + k);
    const y = text.charCodeAt(b + k);
    if (x !== y) return x < y;
  }
  return aEnd - a < bEnd - b;
}

function nextBackslash(text: string, from: number, end: number): number {
  const at = text.indexOf("\\", from);
  return at < 0 ? end : at;
}
