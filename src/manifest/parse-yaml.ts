import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node as YamlNode,
  parseDocument,
  type YAMLError,
} from "yaml";
import { type Diagnostic, diagnostic, type RuleCode, type Span, toPointer } from "./diagnostic.js";
import type { Limits } from "./limits.js";

/** Where a value and, for mapping entries, its key sit in the source. */
export interface NodeSpans {
  readonly value: Span;
  readonly key: Span | undefined;
}

export interface ParsedYaml {
  /** Plain JSON-compatible data: objects, arrays, strings, numbers, booleans, null. */
  readonly value: unknown;
  /** Finds the span of a JSON Pointer, or of its nearest ancestor that exists. */
  locate(pointer: string, prefer?: "key" | "value"): Span;
}

export type ParseResult =
  | { readonly ok: true; readonly parsed: ParsedYaml }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

// Keys that reach Object.prototype when assigned with []=. Nothing in any Charter schema uses
// them, so they are refused before any object is built.
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

const ERROR_RULES: Readonly<Record<string, RuleCode>> = {
  DUPLICATE_KEY: "yaml/duplicate-key",
  MULTIPLE_DOCS: "yaml/multiple-documents",
  TAG_RESOLVE_FAILED: "yaml/unsupported-tag",
  BAD_ALIAS: "yaml/syntax",
};

const FIXES: Readonly<Partial<Record<RuleCode, string>>> = {
  "yaml/duplicate-key": "Remove one of the two entries; YAML would silently keep only the last.",
  "yaml/multiple-documents": "Put one agent in one file; remove the '---' separator and what follows.",
  "yaml/unsupported-tag": "Remove the tag; manifests are plain data (strings, numbers, lists, mappings).",
  "yaml/syntax": "Fix the YAML syntax at this position.",
};

/**
 * Parses one YAML document into plain data while keeping a position for every value, so later
 * stages can report "file:line:col" for a JSON Pointer. The input is attacker-controlled:
 * aliases, nesting and total size are bounded, duplicate keys and custom tags are errors, and
 * keys that could pollute prototypes are refused.
 */
export function parseYaml(file: string, text: string, limits: Limits): ParseResult {
  const lineCounter = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, {
      lineCounter,
      uniqueKeys: true,
      strict: true,
      prettyErrors: false,
      version: "1.2",
      schema: "core",
      merge: false,
      keepSourceTokens: false,
    });
  } catch (error) {
    // The yaml parser is iterative, but a defensive catch keeps a pathological input from
    // escaping as a stack trace.
    const message = error instanceof RangeError ? "document is nested too deeply to parse" : "document could not be parsed";
    return { ok: false, diagnostics: [diagnostic(file, span(lineCounter, 0, 0), "yaml/too-deep", message, "Simplify the document's structure.")] };
  }

  const problems: YAMLError[] = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    return {
      ok: false,
      diagnostics: problems.slice(0, 20).map((e) => {
        const rule = ERROR_RULES[e.code] ?? "yaml/syntax";
        const [start, end] = e.pos;
        return diagnostic(file, span(lineCounter, start, Math.max(end, start)), rule, firstLine(e.message), FIXES[rule] ?? "");
      }),
    };
  }

  const builder = new Builder(file, doc, lineCounter, limits);
  const value = builder.build(doc.contents, [], 0);
  if (builder.diagnostics.length > 0) return { ok: false, diagnostics: builder.diagnostics };

  const spans = builder.spans;
  const whole = span(lineCounter, 0, 0);
  return {
    ok: true,
    parsed: {
      value,
      locate(pointer: string, prefer: "key" | "value" = "value"): Span {
        for (let p = pointer; ; p = p.slice(0, p.lastIndexOf("/"))) {
          const found = spans.get(p);
          if (found) return prefer === "key" && found.key ? found.key : found.value;
          if (p === "") return whole;
        }
      },
    },
  };
}

function firstLine(message: string): string {
  // yaml appends " at line X, column Y:" and a source excerpt; the position is reported separately.
  const line = message.split("\n", 1)[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, "");
}

function span(lineCounter: LineCounter, start: number, end: number): Span {
  const a = lineCounter.linePos(start);
  const b = lineCounter.linePos(end);
  return { start: { line: a.line, column: a.col }, end: { line: b.line, column: b.col } };
}

class Builder {
  readonly diagnostics: Diagnostic[] = [];
  readonly spans = new Map<string, NodeSpans>();
  private nodes = 0;
  private aliases = 0;

  constructor(
    private readonly file: string,
    private readonly doc: Document.Parsed,
    private readonly lineCounter: LineCounter,
    private readonly limits: Limits,
  ) {}

  build(node: unknown, path: (string | number)[], depth: number, key?: Span): unknown {
    if (this.diagnostics.length > 0) return null;
    if (++this.nodes > this.limits.maxNodes) {
      return this.fail(node, "yaml/too-many-nodes", `document expands to more than ${this.limits.maxNodes} values`, "Reduce the document's size and its use of aliases.");
    }
    if (node === null || node === undefined) return null;
    const here = this.rangeOf(node);
    const pointer = toPointer(path);
    // First one wins: an alias keeps its own position rather than its anchor's.
    if (here && !this.spans.has(pointer)) this.spans.set(pointer, { value: here, key });

    if (isAlias(node)) {
      if (++this.aliases > this.limits.maxAliases) {
        return this.fail(node, "yaml/alias-limit", `more than ${this.limits.maxAliases} alias references`, "Write the values out instead of referencing anchors so often.");
      }
      const target = node.resolve(this.doc);
      // An alias re-enters its anchor's subtree; the depth and node budgets bound the expansion.
      return this.build(target, path, depth, key);
    }
    if (isScalar(node)) {
      const v = node.value;
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v === null) return v;
      return String(v);
    }
    if (depth >= this.limits.maxDepth) {
      return this.fail(node, "yaml/too-deep", `nesting deeper than ${this.limits.maxDepth} levels`, "Flatten the structure; manifests need only a few levels.");
    }
    if (isSeq(node)) {
      const out: unknown[] = [];
      node.items.forEach((item, i) => {
        out.push(this.build(item, [...path, i], depth + 1));
      });
      return out;
    }
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key;
        if (!isScalar(keyNode)) {
          return this.fail(keyNode ?? node, "yaml/key-not-string", "mapping keys must be plain strings", "Use a plain word as the key.");
        }
        const name = String(keyNode.value);
        if (FORBIDDEN_KEYS.has(name)) {
          return this.fail(keyNode, "yaml/forbidden-key", `key "${name}" is not allowed`, "Remove this key; it is reserved.");
        }
        out[name] = this.build(pair.value, [...path, name], depth + 1, this.rangeOf(keyNode));
        if (pair.value === null) this.spans.set(toPointer([...path, name]), { value: this.rangeOf(keyNode) ?? zero, key: this.rangeOf(keyNode) });
      }
      return out;
    }
    return this.fail(node, "yaml/syntax", "unsupported YAML node", "Use plain mappings, lists and scalars.");
  }

  private rangeOf(node: unknown): Span | undefined {
    const range = (node as YamlNode | null)?.range;
    if (!range) return undefined;
    return span(this.lineCounter, range[0], range[1]);
  }

  private fail(node: unknown, rule: RuleCode, message: string, fix: string): null {
    this.diagnostics.push(diagnostic(this.file, this.rangeOf(node) ?? zero, rule, message, fix));
    return null;
  }
}

const zero: Span = { start: { line: 1, column: 1 }, end: { line: 1, column: 1 } };
