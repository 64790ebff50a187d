import { describe, expect, it } from "vitest";
import { parseCanonical } from "../../src/evidence/canonical-json.js";
import { openCheckpoint } from "../../src/evidence/checkpoint.js";
import {
  appendRecord,
  appendToLedger,
  CHECKPOINT_PATH,
  EMPTY_LEDGER,
  idempotencyKey,
  objectPath,
  PUBLIC_KEY_PATH,
  recordPath,
  seqOfPath,
  tipOf,
} from "../../src/evidence/ledger.js";
import { leafHash, rootOf, sha256 } from "../../src/evidence/merkle.js";
import { recordHash } from "../../src/evidence/record.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { CharterError } from "../../src/errors.js";
import { buildLedger, changeBody, genesisBody, observedAt, ORIGIN } from "./ledger-fixture.js";

const hex = (h: Uint8Array): string => Buffer.from(h).toString("hex");

describe("branch layout", () => {
  it.each([
    [0, "records/000/000/000000000.json"],
    [999, "records/000/000/000000999.json"],
    [1000, "records/000/001/000001000.json"],
    [1_234_567, "records/001/234/001234567.json"],
    [2_000_000_000, "records/2000/000/2000000000.json"],
  ])("record %i lives at %s, and the path names it back", (seq, path) => {
    expect(recordPath(seq)).toBe(path);
    expect(seqOfPath(path)).toBe(seq);
  });

  it("refuses paths recordPath would not write", () => {
    for (const path of ["records/000/000/0.json", "records/000/001/000000001.json", "records/00/000/000000001.json", "checkpoint", "records/000/000/000000001.json.bak"]) {
      expect(seqOfPath(path), path).toBeUndefined();
    }
  });

  it("names content-addressed copies by their hash", () => {
    expect(objectPath("ab".repeat(32))).toBe(`objects/sha256/ab/${"ab".repeat(31)}`);
    expect(() => objectPath("AB".repeat(32))).toThrow(CharterError);
  });

  it("derives a stable idempotency key from repository id, PR number and merge SHA", () => {
    expect(idempotencyKey(123, 7, "ABCDEF0123")).toBe("github/123/pull/7/abcdef0123");
    expect(idempotencyKey("123", 7, "abcdef0123")).toBe(idempotencyKey(123, 7, "ABCDEF0123"));
  });
});

describe("appending", () => {
  const keys = generateSignerKey(ORIGIN);

  it("writes the genesis record, its checkpoint and the public key", () => {
    const first = appendToLedger(EMPTY_LEDGER, { kind: "genesis", body: genesisBody(keys.verifierKey), observedAt: observedAt(0) }, { signerKey: keys.signerKey });
    expect(first.seq).toBe(0);
    expect(first.files.map((f) => f.path)).toEqual(["records/000/000/000000000.json", CHECKPOINT_PATH, PUBLIC_KEY_PATH]);
    expect(Buffer.from(first.files[2]?.content ?? []).toString()).toBe(`${keys.verifierKey}\n`);
    expect(parseCanonical(first.bytes)).toMatchObject({ schema: "charter.evidence/v1", seq: 0, kind: "genesis", prev: null });
    const checkpoint = openCheckpoint(first.checkpoint, [keys.verifierKey]);
    expect(checkpoint).toMatchObject({ origin: ORIGIN, size: 1 });
    expect(hex(checkpoint.root)).toBe(hex(rootOf([leafHash(first.bytes)])));
    expect(first.root).toBe(hex(checkpoint.root));
  });

  it("chains each record to the previous one's stored bytes and signs every new root", () => {
    const ledger = buildLedger(5, keys);
    ledger.records.forEach(({ bytes }, seq) => {
      const record = parseCanonical(bytes) as { seq: number; prev: string | null };
      expect(record.seq).toBe(seq);
      expect(record.prev).toBe(seq === 0 ? null : recordHash(ledger.records[seq - 1]?.bytes ?? new Uint8Array()));
    });
    const roots = ledger.checkpoints.slice(1).map((note) => openCheckpoint(note, [keys.verifierKey]));
    roots.forEach((cp, i) => {
      expect(cp.size).toBe(i + 1);
      expect(hex(cp.root)).toBe(hex(rootOf(ledger.records.slice(0, i + 1).map((r) => leafHash(r.bytes)))));
    });
  });

  it("rebuilds the same tip from the stored records", () => {
    const ledger = buildLedger(4, keys);
    const rebuilt = tipOf(ledger.records.map((r) => r.bytes));
    expect(rebuilt.size).toBe(ledger.tip.size);
    expect(rebuilt.lastHash).toBe(ledger.tip.lastHash);
    expect(rebuilt.origin).toBe(ORIGIN);
    expect(rebuilt.frontier.nodes.map(hex)).toEqual(ledger.tip.frontier.nodes.map(hex));
  });

  it("writes content-addressed copies the record lists, and refuses copies it does not", () => {
    const ledger = buildLedger(0, keys);
    const copy = new TextEncoder().encode("id: support-triage\n");
    const digest = hex(sha256(copy));
    const body = { ...changeBody(1), copies: [digest] };
    const appended = appendToLedger(ledger.tip, { kind: "change", body, observedAt: observedAt(1) }, { signerKey: keys.signerKey, copies: [copy] });
    expect(appended.files.map((f) => f.path)).toEqual(["records/000/000/000000001.json", objectPath(digest), CHECKPOINT_PATH]);
    expect(() => appendToLedger(ledger.tip, { kind: "change", body, observedAt: observedAt(1) }, { signerKey: keys.signerKey })).toThrow(/copies/);
  });

  it("refuses a second genesis, a change first, an invalid body and a foreign public key", () => {
    const ledger = buildLedger(0, keys);
    expect(() => appendRecord(ledger.tip, { kind: "genesis", body: genesisBody(keys.verifierKey), observedAt: observedAt(1) })).toThrow(/exactly one genesis/);
    expect(() => appendRecord(EMPTY_LEDGER, { kind: "change", body: changeBody(1), observedAt: observedAt(1) })).toThrow(/must be its genesis/);
    expect(() => appendRecord(ledger.tip, { kind: "change", body: { ...changeBody(1), mergeSha: "nope" }, observedAt: observedAt(1) })).toThrow(/mergeSha/);
    const other = generateSignerKey(ORIGIN);
    expect(() => appendToLedger(EMPTY_LEDGER, { kind: "genesis", body: genesisBody(other.verifierKey), observedAt: observedAt(0) }, { signerKey: keys.signerKey })).toThrow(
      /public key does not match/,
    );
  });

  it("never lets observedAt go backwards when the writer's clock steps back", () => {
    const ledger = buildLedger(1, keys);
    const next = appendRecord(ledger.tip, { kind: "change", body: changeBody(2), observedAt: "2020-01-01T00:00:00.000Z" });
    expect(next.record.observedAt).toBe(observedAt(1));
  });
});
