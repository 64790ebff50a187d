import { describe, expect, it } from "vitest";
import {
  generateSignerKey,
  isValidKeyName,
  keyIdFor,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
} from "../../src/evidence/signed-note.js";
import { CharterError, type CharterErrorCode } from "../../src/errors.js";

// Known answer from the documentation of golang.org/x/mod/sumdb/note (data only): Ed25519 is
// deterministic, so signing the same text with the same key must give this exact note.
const GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

// The example of the C2SP signed-note specification, "Verifier keys" (c2sp.org/signed-note).
const SPEC_VERIFIER = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

function codeOf(fn: () => unknown): CharterErrorCode | "none" {
  try {
    fn();
  } catch (error) {
    if (error instanceof CharterError) return error.code;
    throw error;
  }
  return "none";
}

describe("known answers", () => {
  it("signs Go's example note byte for byte", () => {
    expect(signNote(GO_TEXT, [GO_SIGNER])).toBe(GO_NOTE);
    expect(parseSignerKey(GO_SIGNER).verifierKey).toBe(GO_VERIFIER);
  });

  it("opens Go's example note and the C2SP example note", () => {
    expect(openNote(GO_NOTE, [GO_VERIFIER])).toEqual({ text: GO_TEXT, verified: [expect.objectContaining({ name: "PeterNeumann", keyId: "c74f20a3" })], unverified: [] });
    expect(openNote(SPEC_NOTE, [SPEC_VERIFIER]).text).toBe("This is an example message.\n");
  });
});

describe("signNote and openNote", () => {
  const { signerKey, verifierKey } = generateSignerKey("charter.example/acme/agents");
  const other = generateSignerKey("charter.example/acme/agents");
  const witness = generateSignerKey("witness.example");

  it("round-trips a generated key", () => {
    expect(verifierKey).toMatch(/^charter\.example\/acme\/agents\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
    expect(signerKey.startsWith("PRIVATE+KEY+charter.example/acme/agents+")).toBe(true);
    expect(parseSignerKey(signerKey).verifierKey).toBe(verifierKey);
    const note = signNote("hello\n\nworld\n", [signerKey]);
    expect(openNote(note, [verifierKey]).text).toBe("hello\n\nworld\n");
    expect(openNote(new TextEncoder().encode(note), [verifierKey]).text).toBe("hello\n\nworld\n");
  });

  it("refuses a note signed by another key of the same name", () => {
    const note = signNote("hello\n", [other.signerKey]);
    expect(codeOf(() => openNote(note, [verifierKey]))).toBe("INVALID_SIGNATURE");
  });

  it("refuses a tampered body", () => {
    const note = signNote("size 5\n", [signerKey]);
    expect(codeOf(() => openNote(note.replace("5", "6"), [verifierKey]))).toBe("INVALID_SIGNATURE");
  });

  it("ignores an extra signature from an unknown key, and lists it", () => {
    const both = signNote("hello\n", [signerKey, witness.signerKey]);
    const opened = openNote(both, [verifierKey]);
    expect(opened.verified.map((s) => s.name)).toEqual(["charter.example/acme/agents"]);
    expect(opened.unverified.map((s) => s.name)).toEqual(["witness.example"]);
    expect(openNote(both, [witness.verifierKey]).verified.map((s) => s.name)).toEqual(["witness.example"]);
  });

  it("refuses a signature by a known key that does not verify, even beside a good one", () => {
    const good = signNote("hello\n", [signerKey]);
    const forged = signNote("bye\n", [signerKey]).split("\n\n")[1] ?? "";
    expect(codeOf(() => openNote(good + forged, [verifierKey]))).toBe("INVALID_SIGNATURE");
  });

  it.each([
    ["no blank line", "hello\n— x AAAAAAA=\n"],
    ["no signatures", "hello\n\n"],
    ["no final newline", "hello\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="],
    ["a hyphen instead of an em dash", GO_NOTE.replace("—", "-")],
    ["a short signature", `${GO_TEXT}\n— PeterNeumann AAAA\n`],
    ["bad base64", `${GO_TEXT}\n— PeterNeumann x08go/ZJ!!\n`],
    ["a control character", GO_NOTE.replace("If", "I\u0007f")],
    ["a carriage return", GO_NOTE.replace("\n\n", "\r\n\n")],
    ["a blank signature line", GO_NOTE + "\n"],
  ])("refuses a malformed note: %s", (_label, note) => {
    expect(codeOf(() => openNote(note, [GO_VERIFIER]))).toBe("MALFORMED_NOTE");
  });

  it("refuses invalid UTF-8", () => {
    const bytes = Buffer.concat([Buffer.from([0xff]), Buffer.from(GO_NOTE)]);
    expect(codeOf(() => openNote(bytes, [GO_VERIFIER]))).toBe("MALFORMED_NOTE");
  });

  it("refuses texts it cannot sign", () => {
    expect(codeOf(() => signNote("no newline", [signerKey]))).toBe("MALFORMED_NOTE");
    expect(codeOf(() => signNote("", [signerKey]))).toBe("MALFORMED_NOTE");
    expect(codeOf(() => signNote("tab\there\n", [signerKey]))).toBe("MALFORMED_NOTE");
  });

  it("refuses malformed keys", () => {
    expect(codeOf(() => parseVerifierKey("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"))).toBe("INVALID_KEY");
    expect(codeOf(() => parseVerifierKey("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"))).toBe("INVALID_KEY");
    expect(codeOf(() => parseVerifierKey("PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"))).toBe("INVALID_KEY");
    expect(codeOf(() => parseVerifierKey("no-plus-signs"))).toBe("INVALID_KEY");
    expect(codeOf(() => parseSignerKey(GO_VERIFIER))).toBe("INVALID_KEY");
    expect(codeOf(() => parseSignerKey(GO_SIGNER.replace("c74f20a3", "00000000")))).toBe("INVALID_KEY");
    expect(codeOf(() => generateSignerKey("has space"))).toBe("INVALID_KEY");
    expect(isValidKeyName("a+b")).toBe(false);
    expect(isValidKeyName("")).toBe(false);
  });
});

// Unicode's White_Space property (PropList.txt, Unicode 15), which C2SP's "Unicode spaces" and Go's
// unicode.IsSpace mean; written out here rather than derived, so the test does not share the
// implementation's definition.
const WHITE_SPACE = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028,
  0x2029, 0x202f, 0x205f, 0x3000,
];

describe("key names follow C2SP signed-note", () => {
  // A key whose key ID is right for its name: what an attacker who picks the name can always make.
  const keyNamed = (name: string): string => {
    const key = GO_VERIFIER.split("+")[2] ?? "";
    return `${name}+${Buffer.from(keyIdFor(name, Buffer.from(key, "base64").subarray(1))).toString("hex")}+${key}`;
  };

  it("refuses a verifier key named with U+0085 NEXT LINE, which Go's verifier refuses (JavaScript's \\s does not match it)", () => {
    expect(codeOf(() => parseVerifierKey(keyNamed("log\u0085example")))).toBe("INVALID_KEY");
  });

  it("refuses a note whose extra signature line names a key with U+0085, as Go does, instead of ignoring the line", () => {
    const line = `\u2014 witness\u0085example ${Buffer.alloc(68, 7).toString("base64")}\n`;
    expect(codeOf(() => openNote(GO_NOTE + line, [GO_VERIFIER]))).toBe("MALFORMED_NOTE");
  });

  it("refuses every Unicode white space character and accepts the invisible characters that are not white space, as Go does", () => {
    for (const cp of WHITE_SPACE) expect(isValidKeyName(`a${String.fromCodePoint(cp)}b`), cp.toString(16)).toBe(false);
    // Not White_Space: the byte order mark (which \\s matches), zero-width space and joiner, word joiner, Mongolian vowel separator.
    for (const cp of [0xfeff, 0x200b, 0x200d, 0x2060, 0x180e]) expect(isValidKeyName(`a${String.fromCodePoint(cp)}b`), cp.toString(16)).toBe(true);
    expect(parseVerifierKey(keyNamed("log\ufeffexample")).name).toBe("log\ufeffexample");
  });

  it("refuses a name that has no UTF-8 form and a key name with a control character, which no note can carry", () => {
    expect(isValidKeyName("a\ud800b")).toBe(false);
    expect(codeOf(() => parseVerifierKey(keyNamed("a\ud800b")))).toBe("INVALID_KEY");
    expect(codeOf(() => parseVerifierKey(keyNamed("a\u0001b")))).toBe("INVALID_KEY");
    expect(codeOf(() => generateSignerKey("a\u0085b"))).toBe("INVALID_KEY");
  });
});
