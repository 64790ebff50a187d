import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node as YamlNode,
  parseAllDocuments,
  parseDocument,
  type YAMLError,
} from "yaml";
import { type Diagnostic, diagnostic, type RuleCode, type Span } from "./diagnostic.js";
import { pointerSegments } from "./json-pointer.js";
import type { Limits } from "./limits.js";

export interface ParsedYaml {
  /** Plain JSON-compatible data: objects, arrays, strings, numbers, booleans, null. */
  readonly value: unknown;
  /** Finds the span of a JSON Pointer, or of its nearest ancestor that exists. */
  locate(pointer: string, prefer?: "key" | "value"): Span;
}

export type ParseResult =
  | { readonly ok: true; readonly parsed: ParsedYaml }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

export type ParseStreamResult =
  | { readonly ok: true; readonly documents: readonly ParsedYaml[] }
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
    doc = parseDocument(text, { lineCounter, ...PARSE_OPTIONS });
  } catch (error) {
    return { ok: false, diagnostics: [unparseable(file, lineCounter, error)] };
  }

  const problems = problemDiagnostics(file, lineCounter, [doc]);
  if (problems.length > 0) return { ok: false, diagnostics: problems };

  const builder = new Builder(file, lineCounter, limits);
  const value = builder.build(doc, doc.contents, 0);
  if (builder.diagnostics.length > 0) return { ok: false, diagnostics: builder.diagnostics };

  return {
    ok: true,
    parsed: {
      value,
      // Positions are needed only for the few values that have problems, so they are looked up
      // on demand by walking the syntax tree instead of being recorded for every node.
      locate: (pointer, prefer = "value") => locateInDocument(doc, lineCounter, pointer, prefer),
    },
  };
}

/**
 * Parses a file of several YAML documents separated by `---` (detection rules keep a correlation
 * and the rules it joins in one file). The same defences as parseYaml apply, and the node and
 * alias budgets are shared by all documents of the file, so splitting a document in many does
 * not multiply what it may expand to.
 */
export function parseYamlDocuments(file: string, text: string, limits: Limits, maxDocuments: number): ParseStreamResult {
  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    const parsed = parseAllDocuments(text, { lineCounter, ...PARSE_OPTIONS });
    docs = Array.isArray(parsed) ? parsed : [];
  } catch (error) {
    return { ok: false, diagnostics: [unparseable(file, lineCounter, error)] };
  }
  if (docs.length > maxDocuments) {
    const extra = docs[maxDocuments]?.range[0] ?? 0;
    return {
      ok: false,
      diagnostics: [diagnostic(file, span(lineCounter, extra, extra), "yaml/multiple-documents", `more than ${maxDocuments} documents in one file`, "Split the file; keep related documents together.")],
    };
  }
  const problems = problemDiagnostics(file, lineCounter, docs);
  if (problems.length > 0) return { ok: false, diagnostics: problems };
  const builder = new Builder(file, lineCounter, limits);
  const documents: ParsedYaml[] = [];
  for (const doc of docs) {
    const value = builder.build(doc, doc.contents, 0);
    if (builder.diagnostics.length > 0) return { ok: false, diagnostics: builder.diagnostics };
    documents.push({ value, locate: (pointer, prefer = "value") => locateInDocument(doc, lineCounter, pointer, prefer) });
  }
  return { ok: true, documents };
}

const PARSE_OPTIONS = {
  uniqueKeys: true,
  strict: true,
  prettyErrors: false,
  version: "1.2",
  schema: "core",
  merge: false,
  keepSourceTokens: false,
} as const;

function unparseable(file: string, lineCounter: LineCounter, error: unknown): Diagnostic {
  // The yaml parser is iterative, but a defensive catch keeps a pathological input from
  // escaping as a stack trace.
  const message = error instanceof RangeError ? "document is nested too deeply to parse" : "document could not be parsed";
  return diagnostic(file, span(lineCounter, 0, 0), "yaml/too-deep", message, "Simplify the document's structure.");
}

function problemDiagnostics(file: string, lineCounter: LineCounter, docs: readonly Document.Parsed[]): Diagnostic[] {
  const problems: YAMLError[] = docs.flatMap((d) => [...d.errors, ...d.warnings]);
  return problems.slice(0, 20).map((e) => {
    const rule = ERROR_RULES[e.code] ?? "yaml/syntax";
    const [start, end] = e.pos;
    return diagnostic(file, span(lineCounter, start, Math.max(end, start)), rule, firstLine(e.message), FIXES[rule] ?? "");
  });
}

function locateInDocument(doc: Document.Parsed, lineCounter: LineCounter, pointer: string, prefer: "key" | "value"): Span {
  let node: unknown = doc.contents;
  let keyNode: unknown = undefined;
  let best: Span = span(lineCounter, 0, 0);
  const segments = pointerSegments(pointer);
  for (const segment of segments) {
    const here = rangeSpan(lineCounter, prefer === "key" && keyNode !== undefined ? keyNode : node);
    if (here) best = here;
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === segment);
      if (!pair) return best;
      keyNode = pair.key;
      // A key without a value ("key:") has no value node of its own; point at the key.
      node = pair.value ?? pair.key;
    } else if (isSeq(node)) {
      const item: unknown = node.items[Number(segment)];
      if (item === undefined) return best;
      keyNode = undefined;
      node = item;
    } else {
      return best;
    }
  }
  const target = prefer === "key" && keyNode !== undefined ? keyNode : node;
  return rangeSpan(lineCounter, target) ?? best;
}

function rangeSpan(lineCounter: LineCounter, node: unknown): Span | undefined {
  const range = (node as YamlNode | null | undefined)?.range;
  return range ? span(lineCounter, range[0], range[1]) : undefined;
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
  private nodes = 0;
  private aliases = 0;

  constructor(
    private readonly file: string,
    private readonly lineCounter: LineCounter,
    private readonly limits: Limits,
  ) {}

  build(doc: Document.Parsed, node: unknown, depth: number): unknown {
    if (this.diagnostics.length > 0) return null;
    if (++this.nodes > this.limits.maxNodes) {
      return this.fail(node, "yaml/too-many-nodes", `document expands to more than ${this.limits.maxNodes} values`, "Reduce the document's size and its use of aliases.");
    }
    if (node === null || node === undefined) return null;
    if (isScalar(node)) {
      const v = node.value;
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v === null) return v;
      // The core schema resolves nothing else; a big integer is the only conceivable extra.
      return typeof v === "bigint" ? Number(v) : null;
    }
    if (isAlias(node)) {
      if (++this.aliases > this.limits.maxAliases) {
        return this.fail(node, "yaml/alias-limit", `more than ${this.limits.maxAliases} alias references`, "Write the values out instead of referencing anchors so often.");
      }
      // An alias re-enters its anchor's subtree; the depth and node budgets bound the expansion.
      return this.build(doc, node.resolve(doc), depth);
    }
    if (depth >= this.limits.maxDepth) {
      return this.fail(node, "yaml/too-deep", `nesting deeper than ${this.limits.maxDepth} levels`, "Flatten the structure; manifests need only a few levels.");
    }
    if (isSeq(node)) {
      const out: unknown[] = [];
      for (const item of node.items) out.push(this.build(doc, item, depth + 1));
      return out;
    }
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      for (const pair of node.items) {
        const keyNode = pair.key;
        if (!isScalar(keyNode)) {
          return this.fail(keyNode ?? node, "yaml/key-not-string", "mapping keys must be plain strings", "Use a plain word as the key.");
        }
        const name = String(keyNode.value);
        if (FORBIDDEN_KEYS.has(name)) {
          return this.fail(keyNode, "yaml/forbidden-key", `key "${name}" is not allowed`, "Remove this key; it is reserved.");
        }
        out[name] = this.build(doc, pair.value, depth + 1);
      }
      return out;
    }
    return this.fail(node, "yaml/syntax", "unsupported YAML node", "Use plain mappings, lists and scalars.");
  }

  private fail(node: unknown, rule: RuleCode, message: string, fix: string): null {
    this.diagnostics.push(diagnostic(this.file, rangeSpan(this.lineCounter, node) ?? span(this.lineCounter, 0, 0), rule, message, fix));
    return null;
  }
}
