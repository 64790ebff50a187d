import { describe, expect, it } from "vitest";
import { compileRegex } from "../../src/detect/regex/linear-regex.js";

// JavaScript's own RegExp is the oracle for patterns inside the subset: both must agree.
const AGREEMENT: readonly [string, string, string][] = [
  ["abc", "", "xxabcxx"],
  ["^abc", "", "xabc"],
  ["^abc$", "", "abc"],
  ["a|b", "", "zzb"],
  ["colou?r", "", "color"],
  ["\\d{3}-\\d{4}", "", "call 555-1234"],
  ["[^a-z]", "", "abc"],
  ["[^a-z]", "", "abC"],
  ["ABC", "i", "xabcx"],
  ["[^a]", "i", "A"],
  ["\\bcat\\b", "", "a cat!"],
  ["\\bcat\\b", "", "concat"],
  ["\\Bcat", "", "concat"],
  ["a.c", "", "a\nc"],
  ["a.c", "s", "a\nc"],
  ["^b", "m", "a\nb"],
  ["a$", "m", "a\nb"],
  ["x{2,3}y", "", "xxy"],
  ["x{2,3}y", "", "xy"],
  ["x{2,}y", "", "xxxxxy"],
  ["[\\x41-\\x43]+", "", "zzBzz"],
  ["(a|ab)(c|bcd)(d*)", "", "abcd"],
  ["(?:ab)+c", "", "ababc"],
  ["[\\]]", "", "]"],
  ["[a-]", "", "-"],
  ["\\s+drop\\s+table", "i", "; DROP   TABLE users"],
  ["^/v1/(refunds|payouts)/\\d+$", "", "/v1/refunds/42"],
  ["^/v1/(refunds|payouts)/\\d+$", "", "/v1/refunds/42/x"],
  ["(?<year>\\d{4})-\\d\\d", "", "on 2026-03"],
  ["a*?b", "", "aaab"],
  ["", "", ""],
  ["\\u00e9t\\u00e9", "i", "ÉTÉ"],
];

describe("the linear-time regex subset", () => {
  it.each(AGREEMENT)("/%s/%s on %j agrees with RegExp", (pattern, flags, input) => {
    const compiled = compileRegex(pattern, { ignoreCase: flags.includes("i"), multiline: flags.includes("m"), dotAll: flags.includes("s") });
    expect(compiled.ok).toBe(true);
    if (!compiled.ok) return;
    expect(compiled.regex.test(input)).toBe(new RegExp(pattern, flags).test(input));
  });

  it("accepts a leading inline flag group as Sigma rules written for PCRE use it", () => {
    const compiled = compileRegex("(?i)select .* from");
    expect(compiled.ok && compiled.regex.test("SELECT * FROM t")).toBe(true);
  });

  // (a+)+$ on "aaa…a!" takes a backtracking engine 2^n steps: at n = 5,000 it would not finish
  // in the age of the universe. Here the number of automaton steps is bounded by
  // (n + 1) × program size × 2 and is reported, so the test checks the bound itself, not a clock.
  // The answers are written out: asking JavaScript's RegExp would hang this very test.
  it.each([
    ["(a+)+$", "a".repeat(5_000) + "!", false],
    ["(a|a)*b", "a".repeat(5_000), false],
    ["(x+x+)+y", "x".repeat(5_000), false],
    ["^(([a-z])+.)+[A-Z]([a-z])+$", "a".repeat(5_000) + "!", false],
    ["(.*a){20}", "a".repeat(3_000), true],
    ["(.*a){20}b", "a".repeat(3_000), false],
  ] as const)("matches the catastrophic-backtracking pattern %s in linear steps", (pattern, input, expected) => {
    const compiled = compileRegex(pattern);
    expect(compiled.ok).toBe(true);
    if (!compiled.ok) return;
    const run = compiled.regex.testCounted(input);
    expect(run.matched).toBe(expected);
    expect(run.steps).toBeLessThanOrEqual((input.length + 1) * compiled.regex.size * 2);
  });

  it("takes steps proportional to the input: ten times the input, at most ten times the steps (plus one program)", () => {
    const compiled = compileRegex("(a+)+$");
    if (!compiled.ok) throw new Error(compiled.message);
    const small = compiled.regex.testCounted("a".repeat(1_000) + "!").steps;
    const large = compiled.regex.testCounted("a".repeat(10_000) + "!").steps;
    expect(large).toBeLessThanOrEqual(small * 10 + compiled.regex.size * 2);
  });

  it.each([
    ["(a)\\1", "backreferences"],
    ["(?=a)b", "lookaround"],
    ["(?<!a)b", "lookaround"],
    ["(?>a)", "atomic"],
    ["a(?i)b", "inline flags"],
    ["\\p{L}", "Unicode property"],
    ["a++", "possessive"],
    ["[[:alpha:]]", "POSIX"],
    ["(a", "unterminated group"],
    ["a)", "unmatched )"],
    ["[a", "unterminated character class"],
    ["*a", "nothing to repeat"],
    ["a{3,1}", "reversed"],
    ["(((a{100}){100}){100})", "automaton states"],
    ["a".repeat(1_001), "limit is 1000"],
  ])("refuses %s, saying what is wrong", (pattern, words) => {
    const compiled = compileRegex(pattern);
    expect(compiled.ok).toBe(false);
    if (!compiled.ok) expect(compiled.message).toContain(words);
  });

  it("names what is supported when it refuses a feature", () => {
    const compiled = compileRegex("(?=x)");
    expect(!compiled.ok && compiled.message).toContain("supported:");
  });
});
