import canonicalize from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalBytes, canonicalText, parseCanonical } from "../../src/evidence/canonical-json.js";
import { CharterError } from "../../src/errors.js";

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function expectNotCanonical(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CharterError);
    expect((error as CharterError).code).toBe("NOT_CANONICAL");
    return;
  }
  expect.fail("expected a NOT_CANONICAL error");
}

// RFC 8785 §3.2.3's expected output, with the non-ASCII characters written as escapes here.
const SORTED_3_2_3 =
  '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
  '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';

// Vectors: RFC 8785, https://www.rfc-editor.org/rfc/rfc8785 (§3.2.2, §3.2.3, Appendix B).
describe("canonicalText against RFC 8785's published vectors", () => {
  // RFC 8785 §3.2.2 (the example input, written here as the object JSON.parse makes of it).
  it("§3.2.2: numbers, escapes and literals", () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        '"literals": [null, true, false]}',
    ) as unknown;
    expect(canonicalText(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  // RFC 8785 §3.2.3: property names sort by UTF-16 code units, not code points.
  it("§3.2.3: sorting of object properties", () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One",' +
        ' "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", "\\u00f6": "Latin Small Letter O With Diaeresis"}',
    ) as Record<string, string>;
    expect(canonicalText(input)).toBe(SORTED_3_2_3);
  });

  // RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
  it.each([
    ["0000000000000000", "0"],
    ["8000000000000000", "0"],
    ["0000000000000001", "5e-324"],
    ["8000000000000001", "-5e-324"],
    ["7fefffffffffffff", "1.7976931348623157e+308"],
    ["ffefffffffffffff", "-1.7976931348623157e+308"],
    ["4340000000000000", "9007199254740992"],
    ["c340000000000000", "-9007199254740992"],
    ["4430000000000000", "295147905179352830000"],
    ["44b52d02c7e14af5", "9.999999999999997e+22"],
    ["44b52d02c7e14af6", "1e+23"],
    ["44b52d02c7e14af7", "1.0000000000000001e+23"],
    ["444b1ae4d6e2ef4e", "999999999999999700000"],
    ["444b1ae4d6e2ef4f", "999999999999999900000"],
    ["444b1ae4d6e2ef50", "1e+21"],
    ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
    ["3eb0c6f7a0b5ed8d", "0.000001"],
    ["41b3de4355555553", "333333333.3333332"],
    ["41b3de4355555554", "333333333.33333325"],
    ["41b3de4355555555", "333333333.3333333"],
    ["41b3de4355555556", "333333333.3333334"],
    ["41b3de4355555557", "333333333.33333343"],
    ["becbf647612f3696", "-0.0000033333333333333333"],
    ["43143ff3c1cb0959", "1424953923781206.2"],
  ])("Appendix B: %s → %s", (bits, expected) => {
    const value = Buffer.from(bits, "hex").readDoubleBE(0);
    expect(canonicalText(value)).toBe(expected);
  });

  it("Appendix B: NaN and Infinity are refused", () => {
    expectNotCanonical(() => canonicalText(Number.NaN));
    expectNotCanonical(() => canonicalText(Number.POSITIVE_INFINITY));
  });
});

describe("canonicalBytes and parseCanonical", () => {
  it("stores canonical text plus one newline and reads it back", () => {
    const value = { b: [1, "two", null], a: { z: true, y: "ü" } };
    const bytes = canonicalBytes(value);
    expect(Buffer.from(bytes).toString("utf8")).toBe('{"a":{"y":"ü","z":true},"b":[1,"two",null]}\n');
    expect(parseCanonical(bytes)).toEqual(value);
  });

  it("round-trips the §3.2.3 sorting vector, whose values are all strings", () => {
    expect(Object.keys(parseCanonical(utf8(SORTED_3_2_3 + "\n")) as object)).toHaveLength(7);
  });

  it("refuses numbers that are not safe integers, on both sides", () => {
    expectNotCanonical(() => canonicalBytes({ n: 1.5 }));
    expectNotCanonical(() => canonicalBytes({ n: 2 ** 53 }));
    expectNotCanonical(() => parseCanonical(utf8('{"n":9007199254740993}\n')));
    expectNotCanonical(() => parseCanonical(utf8('{"n":0.5}\n')));
  });

  it.each([
    ["reformatted", '{ "a": 1 }\n'],
    ["keys out of order", '{"b":1,"a":2}\n'],
    ["duplicate keys", '{"a":1,"a":1}\n'],
    ["escape written differently", '{"a":"\\u0041"}\n'],
    ["no final newline", '{"a":1}'],
    ["two final newlines", '{"a":1}\n\n'],
    ["CRLF", '{"a":1}\r\n'],
    ["a byte-order mark", '\ufeff{"a":1}\n'],
    ["exponent form of an integer", '{"a":1e2}\n'],
    ["not JSON", "{a:1}\n"],
    ["a lone surrogate", '{"a":"\\ud800"}\n'],
  ])("refuses %s", (_label, text) => {
    expectNotCanonical(() => parseCanonical(utf8(text)));
  });

  it("reads integer-like keys in RFC 8785's order, not the order JavaScript enumerates them in", () => {
    // JavaScript lists "9" before "10" whatever the text says; RFC 8785 sorts "10" first.
    expect(parseCanonical(utf8('{"10":1,"9":2,"a":{"11":0,"2":0}}\n'))).toEqual({ 10: 1, 9: 2, a: { 2: 0, 11: 0 } });
    expectNotCanonical(() => parseCanonical(utf8('{"9":2,"10":1}\n')));
    expectNotCanonical(() => parseCanonical(utf8('{"a":1,"a":1}\n')));
    expectNotCanonical(() => parseCanonical(utf8('{"b":1,"a":1}\n')));
    // An escaped backslash before "ud": not a surrogate, and canonical.
    expect(parseCanonical(utf8('{"a":"\\\\ud800"}\n'))).toEqual({ a: "\\ud800" });
  });

  it("refuses malformed UTF-8", () => {
    expectNotCanonical(() => parseCanonical(Uint8Array.from([0x22, 0xc3, 0x28, 0x22, 0x0a])));
  });

  it("refuses values JSON cannot carry", () => {
    expectNotCanonical(() => canonicalBytes(undefined));
    expectNotCanonical(() => canonicalBytes({ n: Number.NaN }));
  });
});

describe("canonical bytes, as a property", () => {
  // JSON values with only safe integers as numbers: what records may hold.
  const value = fc.letrec((tie) => ({
    json: fc.oneof(
      { depthSize: "small" },
      fc.constant(null),
      fc.boolean(),
      fc.maxSafeInteger(),
      fc.string({ unit: "grapheme" }),
      fc.array(tie("json"), { maxLength: 5 }),
      fc.dictionary(fc.string({ unit: "grapheme" }), tie("json"), { maxKeys: 5 }),
    ),
  })).json;

  it("every value round-trips, and any reformatting of its bytes is refused", () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = canonicalBytes(v);
        expect(canonicalBytes(parseCanonical(bytes))).toEqual(bytes);
        const pretty = JSON.stringify(v, null, 1) + "\n";
        if (pretty !== Buffer.from(bytes).toString("utf8")) expectNotCanonical(() => parseCanonical(utf8(pretty)));
      }),
      { numRuns: 300 },
    );
  });
});

describe("parseCanonical's quick scan, against an independent serializer", () => {
  // Records' values, with keys and strings that need escapes, integer-like keys and non-ASCII.
  const text = fc.string({ unit: fc.constantFrom("a", "b", "Z", "1", "10", "9", "é", "\u2028", "\u007f", "\u001f", "\n", '"', "\\", "/", "\ud83d\ude00", " ") });
  const value = fc.letrec((tie) => ({
    json: fc.oneof(
      { depthSize: "small" },
      fc.constant(null),
      fc.boolean(),
      fc.integer({ min: -1000, max: 1000 }),
      fc.maxSafeInteger(),
      text,
      fc.array(tie("json"), { maxLength: 4 }),
      fc.dictionary(text, tie("json"), { maxKeys: 4 }),
    ),
  })).json;
  // What an attacker might write instead: whitespace, other escapes, other number spellings,
  // repeated keys, the same keys in another order.
  const snippet = fc.constantFrom(" ", "\n", "\\u0041", "\\u00E9", "\\u001F", "\\/", "\\u000a", "-0", "1.0", "1e1", "0", '"a":1,', '"":0,', ",", "\\ud83d", "\ufeff");
  const mutation = fc.tuple(fc.nat(), snippet);

  /** The verdict the specification gives, from the canonicalize package rather than Charter's code. */
  function canonical(candidate: string): boolean {
    if (!candidate.endsWith("\n")) return false;
    let parsed: unknown;
    try {
      parsed = JSON.parse(candidate.slice(0, -1));
    } catch {
      return false;
    }
    const safe = (v: unknown): boolean =>
      typeof v === "number" ? Number.isSafeInteger(v) : Array.isArray(v) ? v.every(safe) : v !== null && typeof v === "object" ? Object.values(v).every(safe) : true;
    try {
      return safe(parsed) && `${canonicalize(parsed) ?? ""}\n` === candidate;
    } catch {
      return false;
    }
  }

  function accepted(candidate: string): boolean {
    try {
      parseCanonical(utf8(candidate));
      return true;
    } catch (error) {
      expect(error).toBeInstanceOf(CharterError);
      return false;
    }
  }

  it("accepts exactly what RFC 8785 writes, whatever was inserted into it or reordered", () => {
    fc.assert(
      fc.property(value, fc.array(mutation, { maxLength: 3 }), fc.boolean(), (v, mutations, enumerationOrder) => {
        // JSON.stringify writes keys in JavaScript's enumeration order: integer-like keys first.
        let candidate = `${enumerationOrder ? JSON.stringify(v) : (canonicalize(v) ?? "")}\n`;
        for (const [at, piece] of mutations) {
          const i = at % candidate.length;
          candidate = candidate.slice(0, i) + piece + candidate.slice(i);
        }
        // An insertion may split a surrogate pair; judge the text the bytes actually hold.
        candidate = new TextDecoder().decode(utf8(candidate));
        expect(accepted(candidate)).toBe(canonical(candidate));
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ["a repeated empty key", '{"":1,"":1}\n'],
    ["a repeated key after others", '{"a":1,"b":{"c":0},"b":2}\n'],
    ["negative zero", '{"a":-0}\n'],
    ["an upper-case escape of a control character", '{"a":"\\u001F"}\n'],
    ["an escaped solidus", '{"a":"\\/"}\n'],
    ["a control character's long escape where a short one exists", '{"a":"\\u000a"}\n'],
    ["a key whose escape sorts it differently", '{"b":1,"\\u0061":2}\n'],
  ])("refuses %s", (_label, candidate) => {
    expect(canonical(candidate)).toBe(false);
    expectNotCanonical(() => parseCanonical(utf8(candidate)));
  });
});
