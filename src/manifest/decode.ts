import { type Diagnostic, diagnostic, FILE_START } from "./diagnostic.js";
import { positionAt, spanAt } from "./text-position.js";

export type DecodeResult =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

const utf8 = new TextDecoder("utf-8", { fatal: true });
const lenient = new TextDecoder("utf-8");

// C0 controls other than tab, LF and CR, and DEL: YAML forbids them and no prompt needs them.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

// Characters that change how text is displayed without being visible: bidirectional overrides
// ("Trojan Source") and Unicode tag characters ("ASCII smuggling"). In a prompt they can carry
// instructions a reviewer never sees, so they are refused outright.
const HIDDEN = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]|[\u{E0000}-\u{E007F}]/u;

/**
 * Turns bytes into text or explains, with a position, why it cannot. The bytes come from a pull
 * request and may be anything: oversized, UTF-16, invalid UTF-8, binary.
 */
export function decodeText(file: string, bytes: Uint8Array, maxBytes: number, what: "manifest" | "prompt"): DecodeResult {
  if (bytes.byteLength > maxBytes) {
    return fail(
      diagnostic(
        file,
        FILE_START,
        what === "manifest" ? "file/too-large" : "prompt/too-large",
        `${what} is ${bytes.byteLength} bytes; the limit is ${maxBytes}`,
        what === "manifest" ? "Keep manifests small: move long text into prompt files." : "Split the prompt or shorten it.",
      ),
    );
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return fail(diagnostic(file, FILE_START, "file/encoding", "file is UTF-16 encoded", "Save the file as UTF-8."));
  }
  let text: string;
  try {
    // TextDecoder drops a leading UTF-8 byte order mark, so offsets below match what editors show.
    text = utf8.decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const before = lenient.decode(bytes.subarray(0, offset));
    const at = positionAt(before, before.length);
    return fail(
      diagnostic(
        file,
        { start: at, end: { line: at.line, column: at.column + 1 } },
        "file/encoding",
        `invalid UTF-8 byte 0x${(bytes[offset] ?? 0).toString(16).padStart(2, "0")} at byte offset ${offset}`,
        "Save the file as UTF-8; binary files cannot be manifests or prompts.",
      ),
    );
  }
  const control = CONTROL.exec(text);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).padStart(4, "0");
    return fail(
      diagnostic(
        file,
        spanAt(text, control.index, control.index + 1),
        "file/control-character",
        `control character U+${code.toUpperCase()} is not allowed`,
        "Remove the character; only tab, line feed and carriage return are allowed.",
      ),
    );
  }
  const hidden = HIDDEN.exec(text);
  if (hidden) {
    const code = (hidden[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
    return fail(
      diagnostic(
        file,
        spanAt(text, hidden.index, hidden.index + hidden[0].length),
        "text/hidden-characters",
        `invisible character U+${code} can hide text from reviewers`,
        "Remove bidirectional-override and Unicode tag characters; reviewers must see exactly what the agent sees.",
      ),
    );
  }
  return { ok: true, text };
}

function fail(d: Diagnostic): DecodeResult {
  return { ok: false, diagnostics: [d] };
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return bytes.length;
}
