import { describe, expect, it } from "vitest";
import { type Checkpoint, formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from "../../src/evidence/checkpoint.js";
import { rootOf } from "../../src/evidence/merkle.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { CharterError } from "../../src/errors.js";

// parseCheckpoint returns a plain Uint8Array; compare like with like.
const ROOT = Uint8Array.from(rootOf([]));

function malformed(fn: () => unknown): void {
  expect(fn).toThrow(CharterError);
  try {
    fn();
  } catch (error) {
    expect((error as CharterError).code).toBe("MALFORMED_NOTE");
  }
}

describe("checkpoints", () => {
  const checkpoint: Checkpoint = { origin: "github.com/acme/agents/evidence", size: 42, root: ROOT, extensions: [] };

  it("formats the C2SP tlog-checkpoint body", () => {
    expect(formatCheckpoint(checkpoint)).toBe("github.com/acme/agents/evidence\n42\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
  });

  it("round-trips through parse, with extension lines", () => {
    const withExtensions = { ...checkpoint, extensions: ["timestamp 1700000000"] };
    expect(parseCheckpoint(formatCheckpoint(withExtensions))).toEqual(withExtensions);
  });

  it("round-trips through a signed note and refuses another key", () => {
    const key = generateSignerKey("github.com/acme/agents/evidence");
    const other = generateSignerKey("github.com/acme/agents/evidence");
    const note = signCheckpoint(checkpoint, [key.signerKey]);
    expect(openCheckpoint(note, [key.verifierKey])).toEqual(checkpoint);
    expect(() => openCheckpoint(note, [other.verifierKey])).toThrow(/no signature on the note is from a trusted key/);
  });

  it.each([
    ["empty", ""],
    ["no final newline", "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="],
    ["no origin", "\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"],
    ["a leading zero", "o\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"],
    ["a negative size", "o\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"],
    ["a huge size", "o\n99999999999999999999\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"],
    ["a short root", "o\n1\nAAAA\n"],
    ["no root", "o\n1\n"],
    ["an empty extension line", "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n"],
  ])("refuses a body with %s", (_label, body) => {
    malformed(() => parseCheckpoint(body));
  });

  it("refuses to format what it could not parse", () => {
    malformed(() => formatCheckpoint({ ...checkpoint, origin: "" }));
    malformed(() => formatCheckpoint({ ...checkpoint, size: -1 }));
    malformed(() => formatCheckpoint({ ...checkpoint, root: new Uint8Array(3) }));
    malformed(() => formatCheckpoint({ ...checkpoint, extensions: ["two\nlines"] }));
  });
});
