import { describe, expect, it } from "vitest";
import { FingerprintTable } from "../../src/evidence/fingerprint-table.js";

describe("FingerprintTable", () => {
  it("stores, replaces and finds numbers through many growths, and knows what it never held", () => {
    const table = new FingerprintTable();
    for (let i = 0; i < 50_000; i++) table.set(`key-${i}`, i);
    table.set("key-7", 70);
    expect(table.size).toBe(50_000);
    expect(table.get("key-7")).toBe(70);
    for (let i = 8; i < 50_000; i += 499) expect(table.get(`key-${i}`)).toBe(i);
    expect(table.get("key-50000")).toBeUndefined();
    expect(table.get("")).toBeUndefined();
    table.set("", 0);
    expect(table.get("")).toBe(0);
  });

  it("refuses a negative value, which would read back as absent", () => {
    expect(() => {
      new FingerprintTable().set("a", -1);
    }).toThrow(RangeError);
  });
});
