import { describe, expect, it } from "vitest";
import { openCheckpoint } from "../../src/evidence/checkpoint.js";
import { cosignatureVerifier, cosignCheckpoint, cosignedMessage, cosignerVerifierKey, generateCosignerKey, openCosigned } from "../../src/evidence/cosignature.js";
import { keyIdFor, parseVerifierKey } from "../../src/evidence/signed-note.js";
import { CharterError } from "../../src/errors.js";
import { buildLedger } from "./ledger-fixture.js";

const ledger = buildLedger(2);
const witness = generateCosignerKey("audit.example/witness");
const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof CharterError) return error.code;
    throw error;
  }
  return "none";
};

describe("C2SP tlog-cosignature v1 (Ed25519)", () => {
  it("adds a timestamped cosignature line that opens with the witness key, beside the log's signature", () => {
    const note = cosignCheckpoint(ledger.checkpoint, witness.signerKey, 1_700_000_000);
    expect(note.startsWith(ledger.checkpoint)).toBe(true);
    const line = note.slice(ledger.checkpoint.length);
    expect(line).toMatch(/^\u2014 audit\.example\/witness [A-Za-z0-9+/]+={0,2}\n$/);
    // key ID (4) ‖ timestamp (8) ‖ signature (64)
    expect(Buffer.from(line.trim().split(" ")[2] ?? "", "base64")).toHaveLength(76);
    const opened = openCosigned(note, [witness.verifierKey]);
    expect(opened.cosignatures).toEqual([{ name: "audit.example/witness", keyId: witness.verifierKey.split("+")[1], timestamp: 1_700_000_000 }]);
    expect(opened.checkpoint.size).toBe(3);
    // The log's own verifier ignores the witness line, as C2SP requires.
    expect(openCheckpoint(note, [ledger.verifierKey]).size).toBe(3);
  });

  it("signs the header, the time line and the checkpoint body, nothing else", () => {
    const body = ledger.checkpoint.slice(0, ledger.checkpoint.indexOf("\n\n") + 1);
    expect(cosignedMessage(body, 42).toString("utf8")).toBe(`cosignature/v1\ntime 42\n${body}`);
  });

  it("refuses a cosignature moved to another tree or given another time", () => {
    const note = cosignCheckpoint(ledger.checkpoint, witness.signerKey, 1_700_000_000);
    const line = note.slice(ledger.checkpoint.length);
    const other = buildLedger(3, { signerKey: ledger.signerKey, verifierKey: ledger.verifierKey });
    expect(codeOf(() => openCosigned(other.checkpoint + line, [witness.verifierKey]))).toBe("INVALID_SIGNATURE");
    const blob = Buffer.from(line.trim().split(" ")[2] ?? "", "base64");
    blob.writeBigUInt64BE(1_700_000_001n, 4);
    expect(codeOf(() => openCosigned(`${ledger.checkpoint}\u2014 audit.example/witness ${blob.toString("base64")}\n`, [witness.verifierKey]))).toBe("INVALID_SIGNATURE");
  });

  it("keeps witness keys and log keys apart: type 0x04 has its own key ID and is refused as a log key", () => {
    const key = witness.verifierKey;
    const raw = Buffer.from(key.slice(key.indexOf("+", key.indexOf("+") + 1) + 1), "base64");
    expect(raw[0]).toBe(0x04);
    const name = "audit.example/witness";
    expect(Buffer.from(keyIdFor(name, raw.subarray(1), 0x04)).toString("hex")).toBe(witness.verifierKey.split("+")[1]);
    expect(Buffer.from(keyIdFor(name, raw.subarray(1), 0x01)).toString("hex")).not.toBe(witness.verifierKey.split("+")[1]);
    expect(codeOf(() => parseVerifierKey(witness.verifierKey))).toBe("INVALID_KEY");
    expect(codeOf(() => cosignatureVerifier(ledger.verifierKey))).toBe("INVALID_KEY");
    expect(cosignerVerifierKey(witness.signerKey)).toBe(witness.verifierKey);
  });

  it("a note no given witness cosigned opens with no cosignatures; a cosignature time beyond 2^63-1 does not verify", () => {
    expect(openCosigned(ledger.checkpoint, [witness.verifierKey]).cosignatures).toEqual([]);
    const verifier = cosignatureVerifier(witness.verifierKey);
    const signature = Buffer.alloc(72, 0xff);
    expect(verifier.verify(Buffer.from("x\n"), signature)).toBe(false);
    expect(verifier.verify(Buffer.from("x\n"), Buffer.alloc(10))).toBe(false);
  });
});
