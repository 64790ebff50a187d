/**
 * The regular-expression subset that detection rules may use, parsed into a small syntax tree.
 * Patterns come from rule files anyone can propose, so the subset is exactly what an automaton
 * can match in time linear in the input: no backreferences, no lookaround, no atomic groups.
 * Everything outside the subset is refused with the offset and what is supported instead of being
 * approximated.
 */

/** Inclusive UTF-16 code unit ranges, as [lo0, hi0, lo1, hi1, ...]; `negated` inverts the set. */
export interface CharSet {
  readonly ranges: readonly number[];
  readonly negated: boolean;
}

export type RegexNode =
  | { readonly t: "empty" }
  | { readonly t: "set"; readonly set: CharSet }
  /** `.`: any code unit but a line break, unless the s flag is set. */
  | { readonly t: "dot" }
  | { readonly t: "cat"; readonly items: readonly RegexNode[] }
  | { readonly t: "alt"; readonly items: readonly RegexNode[] }
  /** max -1 means unbounded. */
  | { readonly t: "rep"; readonly node: RegexNode; readonly min: number; readonly max: number }
  | { readonly t: "assert"; readonly kind: "bol" | "eol" | "word" | "not-word" };

export interface RegexFlags {
  readonly ignoreCase: boolean;
  readonly multiline: boolean;
  readonly dotAll: boolean;
}

export type RegexParse = { readonly ok: true; readonly node: RegexNode; readonly flags: RegexFlags } | { readonly ok: false; readonly offset: number; readonly message: string };

const REGEX_LIMITS = {
  /** Longest pattern, in UTF-16 code units. */
  maxPatternLength: 1_000,
  /** Deepest group nesting. */
  maxDepth: 32,
  /** Largest bound in a counted repetition {n,m}. */
  maxRepeat: 1_000,
} as const;

/** One sentence that says what the subset offers, for error messages. */
export const REGEX_SUPPORTED =
  "supported: literals and escapes, ., [classes] and [^negated], \\d \\w \\s \\D \\W \\S, \\b \\B, ^ $, groups (…) (?:…) (?<name>…), |, * + ? {n} {n,} {n,m} (lazy forms too), and a leading (?i) (?m) (?s)";

const DIGIT: readonly number[] = [0x30, 0x39];
const WORD: readonly number[] = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
const SPACE: readonly number[] = [0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff];

class RegexSyntaxError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

export function parseRegex(pattern: string, base: Partial<RegexFlags> = {}): RegexParse {
  if (pattern.length > REGEX_LIMITS.maxPatternLength) {
    return { ok: false, offset: 0, message: `pattern is ${pattern.length} characters long; the limit is ${REGEX_LIMITS.maxPatternLength}` };
  }
  const flags = { ignoreCase: base.ignoreCase ?? false, multiline: base.multiline ?? false, dotAll: base.dotAll ?? false };
  let start = 0;
  // A leading inline flag group is common in Sigma rules written for PCRE backends.
  const inline = /^\(\?([ims]+)\)/.exec(pattern);
  if (inline) {
    for (const f of inline[1] ?? "") {
      if (f === "i") flags.ignoreCase = true;
      else if (f === "m") flags.multiline = true;
      else flags.dotAll = true;
    }
    start = inline[0].length;
  }
  try {
    const parser = new Parser(pattern, start);
    const node = parser.parseAll();
    return { ok: true, node, flags };
  } catch (error) {
    if (error instanceof RegexSyntaxError) return { ok: false, offset: error.offset, message: error.message };
    throw error;
  }
}

class Parser {
  private pos: number;
  private depth = 0;

  constructor(
    private readonly src: string,
    start: number,
  ) {
    this.pos = start;
  }

  parseAll(): RegexNode {
    const node = this.alternation();
    if (this.pos < this.src.length) {
      // Only an unbalanced ")" stops the alternation before the end.
      throw new RegexSyntaxError(this.pos, "unmatched )");
    }
    return node;
  }

  private fail(message: string, at = this.pos): never {
    throw new RegexSyntaxError(at, message);
  }

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private alternation(): RegexNode {
    const items = [this.sequence()];
    while (this.peek() === "|") {
      this.pos++;
      items.push(this.sequence());
    }
    return items.length === 1 ? (items[0] ?? { t: "empty" }) : { t: "alt", items };
  }

  private sequence(): RegexNode {
    const items: RegexNode[] = [];
    for (let c = this.peek(); c !== undefined && c !== "|" && c !== ")"; c = this.peek()) {
      items.push(this.quantified(this.atom()));
    }
    if (items.length === 0) return { t: "empty" };
    return items.length === 1 ? (items[0] ?? { t: "empty" }) : { t: "cat", items };
  }

  private quantified(atom: RegexNode): RegexNode {
    let node = atom;
    for (;;) {
      const c = this.peek();
      const at = this.pos;
      let min: number;
      let max: number;
      if (c === "*") [min, max] = [0, -1];
      else if (c === "+") [min, max] = [1, -1];
      else if (c === "?") [min, max] = [0, 1];
      else if (c === "{") {
        const counted = this.counted();
        if (!counted) return node;
        [min, max] = counted;
      } else return node;
      if (c !== "{") this.pos++;
      if (node.t === "assert") this.fail("a quantifier cannot follow an anchor or \\b", at);
      if (node.t === "rep" && this.src[at - 1] !== ")") this.fail("nested quantifier; group the expression first, e.g. (a+)*", at);
      // Lazy forms match the same strings; only which match is reported differs, and rules only ask whether one exists.
      if (this.peek() === "?") this.pos++;
      else if (this.peek() === "+") this.fail("possessive quantifiers are not supported; " + REGEX_SUPPORTED);
      node = { t: "rep", node, min, max };
    }
  }

  /** {n}, {n,}, {n,m}; a "{" that does not start one is a literal, as in PCRE. */
  private counted(): [number, number] | undefined {
    const m = /^\{(\d{1,6})(,(\d{0,6}))?\}/.exec(this.src.slice(this.pos, this.pos + 16));
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" || m[3] === undefined ? -1 : Number(m[3]);
    if (max !== -1 && max < min) this.fail(`repetition {${min},${max}} has its bounds reversed`);
    if (min > REGEX_LIMITS.maxRepeat || max > REGEX_LIMITS.maxRepeat) this.fail(`repetition bound above ${REGEX_LIMITS.maxRepeat}`);
    this.pos += m[0].length;
    return [min, max];
  }

  private atom(): RegexNode {
    const at = this.pos;
    const c = this.src[this.pos++];
    switch (c) {
      case "(":
        return this.group(at);
      case "[":
        return { t: "set", set: this.charClass() };
      case ".":
        return { t: "dot" };
      case "^":
        return { t: "assert", kind: "bol" };
      case "$":
        return { t: "assert", kind: "eol" };
      case "\\":
        return this.escape(false);
      case "*":
      case "+":
      case "?":
        return this.fail(`nothing to repeat before ${c}`, at);
      case undefined:
        return this.fail("unexpected end of pattern", at);
      default:
        return literal(c.charCodeAt(0));
    }
  }

  private group(at: number): RegexNode {
    if (++this.depth > REGEX_LIMITS.maxDepth) this.fail(`groups nested deeper than ${REGEX_LIMITS.maxDepth}`, at);
    if (this.peek() === "?") {
      const next = this.src.slice(this.pos, this.pos + 3);
      if (next.startsWith("?:")) this.pos += 2;
      else if (/^\?<[A-Za-z]/.test(next)) {
        const close = this.src.indexOf(">", this.pos);
        if (close === -1) this.fail("unterminated group name", at);
        this.pos = close + 1;
      } else if (next.startsWith("?=") || next.startsWith("?!") || next.startsWith("?<=") || next.startsWith("?<!")) {
        this.fail("lookaround assertions are not supported (they need backtracking); " + REGEX_SUPPORTED, at);
      } else if (next.startsWith("?>")) {
        this.fail("atomic groups are not supported; " + REGEX_SUPPORTED, at);
      } else {
        this.fail("inline flags are supported only at the very start of the pattern, e.g. (?i); " + REGEX_SUPPORTED, at);
      }
    }
    const node = this.alternation();
    if (this.peek() !== ")") this.fail("unterminated group: missing )", at);
    this.pos++;
    this.depth--;
    return node;
  }

  private escape(inClass: boolean): RegexNode {
    const at = this.pos - 1;
    const c = this.src[this.pos++];
    switch (c) {
      case undefined:
        return this.fail("the pattern ends with a lone backslash", at);
      case "d":
        return { t: "set", set: { ranges: DIGIT, negated: false } };
      case "D":
        return { t: "set", set: { ranges: DIGIT, negated: true } };
      case "w":
        return { t: "set", set: { ranges: WORD, negated: false } };
      case "W":
        return { t: "set", set: { ranges: WORD, negated: true } };
      case "s":
        return { t: "set", set: { ranges: SPACE, negated: false } };
      case "S":
        return { t: "set", set: { ranges: SPACE, negated: true } };
      case "b":
        return inClass ? literal(0x08) : { t: "assert", kind: "word" };
      case "B":
        if (inClass) this.fail("\\B has no meaning inside a class", at);
        return { t: "assert", kind: "not-word" };
      case "t":
        return literal(0x09);
      case "n":
        return literal(0x0a);
      case "r":
        return literal(0x0d);
      case "f":
        return literal(0x0c);
      case "v":
        return literal(0x0b);
      case "0":
        return literal(0);
      case "x": {
        const hex = /^[0-9A-Fa-f]{2}/.exec(this.src.slice(this.pos, this.pos + 2));
        if (!hex) this.fail("\\x needs two hex digits", at);
        this.pos += 2;
        return literal(parseInt(hex[0], 16));
      }
      case "u": {
        const hex = /^[0-9A-Fa-f]{4}/.exec(this.src.slice(this.pos, this.pos + 4));
        if (!hex) this.fail("\\u needs four hex digits", at);
        this.pos += 4;
        return literal(parseInt(hex[0], 16));
      }
      default:
        if (/[1-9]/.test(c)) this.fail("backreferences are not supported (they need backtracking); " + REGEX_SUPPORTED, at);
        if (c === "k") this.fail("named backreferences are not supported; " + REGEX_SUPPORTED, at);
        if (c === "p" || c === "P") this.fail("Unicode property classes are not supported; " + REGEX_SUPPORTED, at);
        if (/[A-Za-z]/.test(c)) this.fail(`unknown escape \\${c}; ` + REGEX_SUPPORTED, at);
        // Any escaped punctuation stands for itself.
        return literal(c.charCodeAt(0));
    }
  }

  private charClass(): CharSet {
    const at = this.pos - 1;
    let negated = false;
    if (this.peek() === "^") {
      negated = true;
      this.pos++;
    }
    const ranges: number[] = [];
    const members: CharSet[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail("unterminated character class: missing ]", at);
      if (c === "]" && !first) break;
      first = false;
      const lo = this.classAtom();
      if (typeof lo !== "number") {
        members.push(lo);
        continue;
      }
      if (this.peek() === "-" && this.src[this.pos + 1] !== "]" && this.src[this.pos + 1] !== undefined) {
        const dash = this.pos++;
        const hi = this.classAtom();
        if (typeof hi !== "number") this.fail("a range cannot end in a class shorthand", dash);
        if (hi < lo) this.fail("character range is out of order", dash);
        ranges.push(lo, hi);
      } else {
        ranges.push(lo, lo);
      }
    }
    this.pos++;
    for (const m of members) ranges.push(...(m.negated ? complement(m.ranges) : m.ranges));
    return { ranges: normalize(ranges), negated };
  }

  /** One member of a class: a code unit, or a shorthand set such as \d. */
  private classAtom(): number | CharSet {
    const c = this.src[this.pos++];
    if (c === "\\") {
      const node = this.escape(true);
      if (node.t !== "set") return this.fail("assertions have no meaning inside a class");
      // An escaped single character (\n, \x41, \]) can end a range; a shorthand (\d) cannot.
      const [lo, hi] = node.set.ranges;
      return node.set.ranges.length === 2 && lo === hi && !node.set.negated && lo !== undefined ? lo : node.set;
    }
    if (c === "[" && this.peek() === ":") this.fail("POSIX classes such as [:alpha:] are not supported; " + REGEX_SUPPORTED);
    return (c ?? "").charCodeAt(0);
  }
}

function literal(code: number): RegexNode {
  return { t: "set", set: { ranges: [code, code], negated: false } };
}

/** Sorts and merges ranges so that membership is a short scan. */
function normalize(ranges: readonly number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i + 1 < ranges.length; i += 2) pairs.push([ranges[i] ?? 0, ranges[i + 1] ?? 0]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const last = out.length - 1;
    if (last >= 0 && lo <= (out[last] ?? 0) + 1) out[last] = Math.max(out[last] ?? 0, hi);
    else out.push(lo, hi);
  }
  return out;
}

function complement(ranges: readonly number[]): number[] {
  const sorted = normalize(ranges);
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i + 1 < sorted.length; i += 2) {
    const lo = sorted[i] ?? 0;
    if (lo > next) out.push(next, lo - 1);
    next = (sorted[i + 1] ?? 0) + 1;
  }
  if (next <= 0xffff) out.push(next, 0xffff);
  return out;
}
