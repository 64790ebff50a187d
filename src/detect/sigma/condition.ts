import { compileText } from "./wildcard.js";

/**
 * Sigma's `condition`: selection names joined by and, or, not and parentheses, plus
 * `1 of pattern`, `all of pattern` and `them`. Parsed by recursive descent with a depth bound;
 * the quantifiers are expanded against the rule's selection names at parse time, so evaluation
 * only ever walks a plain boolean tree.
 */
export type Condition =
  | { readonly t: "id"; readonly name: string }
  | { readonly t: "not"; readonly x: Condition }
  | { readonly t: "and"; readonly xs: readonly Condition[] }
  | { readonly t: "or"; readonly xs: readonly Condition[] };

export type ConditionParse = { readonly ok: true; readonly condition: Condition; readonly used: ReadonlySet<string> } | { readonly ok: false; readonly offset: number; readonly message: string; readonly fix: string };

const CONDITION_LIMITS = { maxLength: 4_000, maxDepth: 32, maxTokens: 500 } as const;

const SUPPORTED = "Conditions use selection names with and, or, not, parentheses, and 1 of / all of a name pattern or them.";

interface Token {
  readonly text: string;
  readonly offset: number;
}

class ConditionError extends Error {
  constructor(
    readonly offset: number,
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

export function parseCondition(text: string, selections: readonly string[]): ConditionParse {
  try {
    if (text.length > CONDITION_LIMITS.maxLength) throw new ConditionError(0, `condition is ${text.length} characters long; the limit is ${CONDITION_LIMITS.maxLength}`, "Split the rule.");
    const tokens = tokenize(text);
    const parser = new Parser(tokens, selections, text.length);
    const condition = parser.expression(0);
    if (parser.pos < tokens.length) {
      const t = tokens[parser.pos];
      const lowered = t?.text.toLowerCase() ?? "";
      if (t && KEYWORDS.has(lowered) && lowered !== t.text) throw new ConditionError(t.offset, `"${t.text}": keywords are lowercase`, `Write "${lowered}".`);
      throw new ConditionError(t?.offset ?? text.length, `unexpected "${t?.text ?? ""}"`, t?.text === ")" ? "Remove the unmatched parenthesis." : `Join expressions with and or or. ${SUPPORTED}`);
    }
    return { ok: true, condition, used: parser.used };
  } catch (error) {
    if (error instanceof ConditionError) return { ok: false, offset: error.offset, message: error.message, fix: error.fix };
    throw error;
  }
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  const re = /\s*(?:([()])|([A-Za-z0-9_*]+)|(\S))/y;
  for (;;) {
    const start = re.lastIndex;
    if (start >= text.length || /^\s*$/.test(text.slice(start))) break;
    const m = re.exec(text);
    if (!m) break;
    const offset = m.index + m[0].length - (m[1] ?? m[2] ?? m[3] ?? "").length;
    if (m[3] !== undefined) {
      if (m[3] === "|") {
        throw new ConditionError(offset, "aggregations after | (count(), near) are not supported", "Write a correlation rule (type event_count or value_count) that references this rule instead.");
      }
      throw new ConditionError(offset, `unexpected character "${m[3]}"`, SUPPORTED);
    }
    out.push({ text: m[1] ?? m[2] ?? "", offset });
    if (out.length > CONDITION_LIMITS.maxTokens) throw new ConditionError(offset, `condition has more than ${CONDITION_LIMITS.maxTokens} words`, "Split the rule.");
  }
  return out;
}

const KEYWORDS = new Set(["and", "or", "not", "of", "them", "all"]);

class Parser {
  pos = 0;
  readonly used = new Set<string>();

  constructor(
    private readonly tokens: readonly Token[],
    private readonly selections: readonly string[],
    private readonly length: number,
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private is(word: string): boolean {
    return this.peek()?.text === word;
  }

  private checkDepth(depth: number): void {
    if (depth > CONDITION_LIMITS.maxDepth) throw new ConditionError(this.peek()?.offset ?? 0, `condition nested deeper than ${CONDITION_LIMITS.maxDepth} levels`, "Flatten the condition.");
  }

  expression(depth: number): Condition {
    this.checkDepth(depth);
    const xs = [this.conjunction(depth + 1)];
    while (this.is("or")) {
      this.pos++;
      xs.push(this.conjunction(depth + 1));
    }
    return xs.length === 1 ? (xs[0] as Condition) : { t: "or", xs };
  }

  private conjunction(depth: number): Condition {
    const xs = [this.negation(depth + 1)];
    while (this.is("and")) {
      this.pos++;
      xs.push(this.negation(depth + 1));
    }
    return xs.length === 1 ? (xs[0] as Condition) : { t: "and", xs };
  }

  private negation(depth: number): Condition {
    this.checkDepth(depth);
    if (this.is("not")) {
      this.pos++;
      return { t: "not", x: this.negation(depth + 1) };
    }
    return this.primary(depth + 1);
  }

  private primary(depth: number): Condition {
    const t = this.peek();
    if (!t) throw new ConditionError(this.length, "the condition ends where a selection name is expected", SUPPORTED);
    if (t.text === "(") {
      this.pos++;
      const inner = this.expression(depth + 1);
      if (!this.is(")")) throw new ConditionError(this.peek()?.offset ?? this.length, "missing )", "Close every parenthesis you open.");
      this.pos++;
      return inner;
    }
    if ((t.text === "1" || t.text === "all" || t.text === "any") && this.tokens[this.pos + 1]?.text === "of") {
      if (t.text === "any") throw new ConditionError(t.offset, '"any of" is not Sigma', 'Write "1 of".');
      this.pos += 2;
      return this.quantifier(t.text === "all", t);
    }
    const lowered = t.text.toLowerCase();
    if (KEYWORDS.has(lowered) && lowered !== t.text) {
      throw new ConditionError(t.offset, `"${t.text}": keywords are lowercase`, `Write "${lowered}".`);
    }
    if (KEYWORDS.has(t.text) || t.text === ")") throw new ConditionError(t.offset, `"${t.text}" where a selection name is expected`, SUPPORTED);
    if (/^\d+$/.test(t.text) && this.tokens[this.pos + 1]?.text === "of") {
      throw new ConditionError(t.offset, `"${t.text} of" is not supported`, 'Use "1 of" (any) or "all of".');
    }
    if (t.text.includes("*")) throw new ConditionError(t.offset, `the pattern "${t.text}" needs "1 of" or "all of" before it`, `Write "1 of ${t.text}" or "all of ${t.text}".`);
    if (!this.selections.includes(t.text)) {
      throw new ConditionError(t.offset, `"${t.text}" is not a selection of this rule's detection`, this.selections.length > 0 ? `Use one of: ${this.selections.join(", ")}.` : "Define the selection under detection.");
    }
    this.pos++;
    this.used.add(t.text);
    return { t: "id", name: t.text };
  }

  private quantifier(all: boolean, at: Token): Condition {
    const target = this.peek();
    if (!target || target.text === "(" || target.text === ")") throw new ConditionError(target?.offset ?? this.length, `"${at.text} of" needs a name pattern or them`, 'Write e.g. "1 of selection_*" or "all of them".');
    this.pos++;
    let names: string[];
    if (target.text === "them") {
      // Names starting with an underscore are helpers that "them" leaves out (Sigma v2).
      names = this.selections.filter((s) => !s.startsWith("_"));
    } else {
      // The pattern is written by whoever proposes the rule: matched as a linear glob, never a RegExp.
      const matches = compileText(target.text, "equals", false);
      names = this.selections.filter((s) => matches(s));
    }
    if (names.length === 0) throw new ConditionError(target.offset, `"${target.text}" matches no selection of this rule`, this.selections.length > 0 ? `Selections: ${this.selections.join(", ")}.` : "Define selections under detection.");
    for (const n of names) this.used.add(n);
    const xs: Condition[] = names.map((name) => ({ t: "id", name }));
    return xs.length === 1 ? (xs[0] as Condition) : { t: all ? "and" : "or", xs };
  }
}
