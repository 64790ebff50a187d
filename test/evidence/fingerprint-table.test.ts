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

  it("keeps its slots 64% full or more once past its first growths, so a string costs at most 38 bytes", () => {
    const table = new FingerprintTable();
    // Segments of 16 slots to start with (24 KiB): the density holds once they have grown.
    let worst = 0;
    for (let i = 0; i < 120_000; i++) {
      table.set(`github/123456789/pull/${i}/${i.toString(16).padStart(40, "0")}`, i);
      if (i >= 20_000 && i % 1_000 === 0) worst = Math.max(worst, table.bytes / table.size);
    }
    expect(worst).toBeGreaterThan(24);
    expect(worst).toBeLessThanOrEqual(38);
    expect(table.get(`github/123456789/pull/119999/${(119_999).toString(16).padStart(40, "0")}`)).toBe(119_999);
  });

  it("refuses a negative value, which would read back as absent", () => {
    expect(() => {
      new FingerprintTable().set("a", -1);
    }).toThrow(RangeError);
  });
});
