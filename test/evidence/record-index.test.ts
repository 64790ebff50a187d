import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { RecordIndex } from "../../src/evidence/record-index.js";

const digest = (n: number): Uint8Array => createHash("sha256").update(`record ${n}`).digest();
const hex = (n: number): string => Buffer.from(digest(n)).toString("hex");

describe("RecordIndex", () => {
  it("finds each record by seq and its whole hash, across chunk boundaries", () => {
    const index = new RecordIndex();
    for (let seq = 0; seq < 40_000; seq++) index.append(seq, digest(seq), seq % 7 === 0 ? "emergency-change" : "change");
    for (const seq of [0, 1, 16_383, 16_384, 39_999]) expect(index.kindOf(seq, hex(seq))).toBe(seq % 7 === 0 ? "emergency-change" : "change");
    expect(index.kindOf(40_000, hex(40_000))).toBeUndefined();
    expect(index.kindOf(-1, hex(0))).toBeUndefined();
  });

  it("refuses a hash that agrees with the record's only in its first half", () => {
    // The reference must name the record's hash exactly, as an independent verifier compares it.
    const index = new RecordIndex();
    index.append(0, digest(0), "change");
    const forged = hex(0).slice(0, 32) + hex(1).slice(32);
    expect(index.kindOf(0, forged)).toBeUndefined();
    expect(index.kindOf(0, hex(0).toUpperCase())).toBeUndefined();
  });

  it("keeps seqs after a gap, without spending memory on the seqs skipped", () => {
    const index = new RecordIndex();
    index.append(0, digest(0), "other");
    index.append(1, digest(1), "exception");
    // A forged path of seq 10^15 - 1: a dense array by seq would need petabytes.
    index.append(999_999_999_999_999, digest(2), "change");
    index.append(1_000_000_000_000_000, digest(3), "emergency-change");
    expect(index.kindOf(1, hex(1))).toBe("exception");
    expect(index.kindOf(2, hex(2))).toBeUndefined();
    expect(index.kindOf(999_999_999_999_999, hex(2))).toBe("change");
    expect(index.kindOf(1_000_000_000_000_000, hex(3))).toBe("emergency-change");
    expect(() => {
      index.append(5, digest(5), "other");
    }).toThrow(RangeError);
  });
});
