import type { Span } from "../../manifest/diagnostic.js";
import { type Reason, reason, type Severity } from "../alert.js";
import { type EventView, FIELD_NAMES, type FieldSpec, resolveField } from "../event-fields.js";
import type { TrailSourceKind, TrailSystem } from "../../trail/event.js";
import { type Condition, parseCondition } from "./condition.js";
import { type DocumentProblems, isRecord, typeName } from "./diagnostics.js";
import { type CompiledSelection, compileSelection, SELECTION_LIMITS } from "./selection.js";

/** A Sigma detection rule, compiled: one predicate over an event plus what it says about itself. */
export interface DetectionRule {
  readonly kind: "detection";
  /** Unique within a rule set: the file and the rule's id. */
  readonly key: string;
  readonly id: string;
  readonly name: string | null;
  readonly title: string;
  readonly file: string;
  /** Where the rule's detection section starts, for findings about the rule as a whole. */
  readonly span: Span;
  readonly level: Severity;
  readonly status: string | null;
  readonly matches: (view: EventView) => boolean;
  explain(view: EventView): Reason;
}

export type CorrelationType = "event_count" | "value_count" | "temporal" | "temporal_ordered";

/** A correlation as written: its references are resolved against the file's other documents. */
export interface CorrelationDraft {
  readonly kind: "correlation";
  readonly key: string;
  readonly id: string;
  readonly name: string | null;
  readonly title: string;
  readonly file: string;
  readonly span: Span;
  readonly level: Severity;
  readonly status: string | null;
  readonly type: CorrelationType;
  readonly refs: readonly string[];
  readonly groupBy: readonly FieldSpec[];
  readonly timespanMs: number;
  readonly threshold: { readonly op: "gt" | "gte"; readonly value: number } | null;
  readonly field: FieldSpec | null;
  readonly generate: boolean;
  /** Reports a problem on this document (reference errors are found once every document is read). */
  readonly problems: DocumentProblems;
}

export type RuleDocument = DetectionRule | CorrelationDraft;

const LEVELS: Readonly<Record<string, Severity>> = { informational: "low", low: "low", medium: "medium", high: "high", critical: "critical" };
const STATUSES = ["stable", "test", "experimental", "deprecated", "unsupported"];
const METADATA = new Set(["title", "id", "name", "status", "description", "references", "author", "date", "modified", "tags", "level", "falsepositives", "fields", "related", "license", "taxonomy", "scope"]);
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;
const SYSTEMS: readonly TrailSystem[] = ["postgres", "redis", "http", "github", "tool"];
const SOURCES: readonly TrailSourceKind[] = ["pgaudit", "otlp", "events", "redis-acl", "squid", "github-token"];
const CORRELATION_TYPES: readonly CorrelationType[] = ["event_count", "value_count", "temporal", "temporal_ordered"];
/** Longest correlation window: state is kept for this long per group. */
const MAX_TIMESPAN_MS = 7 * 86_400_000;
/** Highest event_count / value_count threshold: each group keeps up to this many events. */
const MAX_THRESHOLD = 10_000;

/**
 * Validates one YAML document of a rule file and compiles it. Problems are collected with their
 * positions (never thrown); undefined means the document has errors.
 */
export function compileDocument(value: unknown, file: string, problems: DocumentProblems): RuleDocument | undefined {
  if (!isRecord(value)) {
    problems.add([], "sigma/type", `a rule is a mapping; this document is ${typeName(value)}`, "Start the document with title:, id:, logsource: and detection:.");
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (key === "action") {
      problems.add([key], "sigma/unsupported", "action (Sigma v1 rule collections and global documents) is not supported", "Write each rule out in full.", { prefer: "key" });
    } else if (!METADATA.has(key) && key !== "logsource" && key !== "detection" && key !== "correlation") {
      problems.add([key], "sigma/unknown-key", `unknown key "${key}"; Charter reads ${[...METADATA, "logsource", "detection", "correlation"].join(", ")}`, "Remove the key or correct its spelling.", { severity: "warning", prefer: "key" });
    }
  }
  const title = requiredString(value, "title", problems, 256);
  const id = requiredString(value, "id", problems, 100);
  if (id !== undefined && !ID.test(id)) problems.add(["id"], "sigma/value", `id "${id.slice(0, 40)}" must be letters, digits and . _ : - (a UUID is usual)`, "Give the rule a UUID, e.g. from uuidgen.");
  const name = optionalString(value, "name", problems, 100);
  if (name !== undefined && !ID.test(name)) problems.add(["name"], "sigma/value", `name "${name.slice(0, 40)}" must be letters, digits and . _ : -`, "Use a short identifier such as many_denied_selects.");
  const status = optionalString(value, "status", problems, 20);
  if (status !== undefined && !STATUSES.includes(status)) problems.add(["status"], "sigma/value", `status "${status}" is not one of ${STATUSES.join(", ")}`, "Use one of the listed statuses.");
  const levelText = optionalString(value, "level", problems, 20);
  if (levelText !== undefined && !Object.hasOwn(LEVELS, levelText)) problems.add(["level"], "sigma/value", `level "${levelText}" is not one of ${Object.keys(LEVELS).join(", ")}`, "Use one of the listed levels.");
  const level = (levelText !== undefined ? LEVELS[levelText] : undefined) ?? "medium";

  const hasDetection = Object.hasOwn(value, "detection");
  const hasCorrelation = Object.hasOwn(value, "correlation");
  if (hasDetection && hasCorrelation) {
    problems.add(["correlation"], "sigma/type", "a document is either a detection rule or a correlation rule, not both", "Move the correlation into its own document, separated by ---.", { prefer: "key" });
    return undefined;
  }
  if (!hasDetection && !hasCorrelation) {
    problems.add([], "sigma/required", "missing detection (or correlation)", "Add a detection: section with selections and a condition.");
    return undefined;
  }
  const before = problems.errors;
  const span = problems.locate([hasCorrelation ? "correlation" : "detection"]);
  const base = { id: id ?? "", name: name ?? null, title: title ?? "", file, span, level, status: status ?? null, key: `${file}#${id ?? ""}` };
  if (hasCorrelation) {
    const draft = compileCorrelation(value["correlation"], problems, base);
    return problems.errors > before || title === undefined || id === undefined ? undefined : draft;
  }
  const source = checkLogsource(value, problems);
  const compiled = compileDetection(value["detection"], problems);
  if (!compiled || problems.errors > before || title === undefined || id === undefined) return undefined;
  const { category, service } = source;
  // logsource narrows the rule to one system (category) or one source (service), as Sigma means it.
  const matches = category === undefined && service === undefined ? compiled.matches : (view: EventView) => (category === undefined || view.event.system === category) && (service === undefined || view.event.source === service) && compiled.matches(view);
  return { kind: "detection", ...base, matches, explain: (view) => compiled.explain(view) };
}

function requiredString(doc: Record<string, unknown>, key: string, problems: DocumentProblems, max: number): string | undefined {
  if (!Object.hasOwn(doc, key)) {
    problems.add([], "sigma/required", `missing ${key}`, key === "id" ? "Add id: with a UUID; alerts are identified by it." : `Add ${key}:.`);
    return undefined;
  }
  return optionalString(doc, key, problems, max);
}

function optionalString(doc: Record<string, unknown>, key: string, problems: DocumentProblems, max: number): string | undefined {
  if (!Object.hasOwn(doc, key)) return undefined;
  const v = doc[key];
  if (typeof v !== "string" || v.length === 0) {
    problems.add([key], "sigma/type", `${key} must be a non-empty string; it is ${typeName(v)}`, `Write ${key}: as text.`);
    return undefined;
  }
  if (v.length > max) {
    problems.add([key], "sigma/limit", `${key} is longer than ${max} characters`, "Shorten it.");
    return undefined;
  }
  return v;
}

function checkLogsource(doc: Record<string, unknown>, problems: DocumentProblems): { category?: string; service?: string } {
  const logsource = doc["logsource"];
  const out: { category?: string; service?: string } = {};
  if (logsource === undefined) {
    problems.add([], "sigma/required", "missing logsource", "Add logsource: { product: charter } (optionally category: a system, service: a source).");
    return out;
  }
  if (!isRecord(logsource)) {
    problems.add(["logsource"], "sigma/type", `logsource must be a mapping; it is ${typeName(logsource)}`, "Write logsource: { product: charter }.");
    return out;
  }
  for (const [key, v] of Object.entries(logsource)) {
    if (key === "definition") continue;
    if (key !== "product" && key !== "category" && key !== "service") {
      problems.add(["logsource", key], "sigma/logsource", `unknown logsource key "${key}"; allowed: product, category, service, definition`, "Remove the key.", { prefer: "key" });
      continue;
    }
    const allowed = key === "product" ? ["charter"] : key === "category" ? SYSTEMS : SOURCES;
    if (typeof v !== "string" || !allowed.includes(v as never)) {
      problems.add(
        ["logsource", key],
        "sigma/logsource",
        `logsource ${key} ${JSON.stringify(v)} is not one Charter has; allowed: ${allowed.join(", ")}`,
        key === "product" ? "Charter evaluates rules over its own action trail: write product: charter." : `Use one of: ${allowed.join(", ")}, or leave ${key} out.`,
      );
    } else if (key === "category") out.category = v;
    else if (key === "service") out.service = v;
  }
  return out;
}

interface CompiledDetection {
  readonly matches: (view: EventView) => boolean;
  explain(view: EventView): Reason;
}

function compileDetection(detection: unknown, problems: DocumentProblems): CompiledDetection | undefined {
  if (!isRecord(detection)) {
    problems.add(["detection"], "sigma/type", `detection must be a mapping of selections and a condition; it is ${typeName(detection)}`, "Write named selections and a condition under detection:.");
    return undefined;
  }
  const names = Object.keys(detection).filter((k) => k !== "condition" && k !== "timeframe");
  if (Object.hasOwn(detection, "timeframe")) {
    problems.add(["detection", "timeframe"], "sigma/unsupported", "timeframe (Sigma v1) is not supported", "Write a correlation rule with a timespan that references this rule.", { prefer: "key" });
  }
  if (names.length === 0) {
    problems.add(["detection"], "sigma/required", "detection has no selection", "Add at least one named selection, e.g. selection: { action: select }.");
    return undefined;
  }
  if (names.length > SELECTION_LIMITS.maxSelections) {
    problems.add(["detection"], "sigma/limit", `more than ${SELECTION_LIMITS.maxSelections} selections`, "Split the rule.");
    return undefined;
  }
  const budget = { values: 0 };
  const selections = new Map<string, CompiledSelection>();
  for (const name of names) {
    if (!/^[A-Za-z0-9_]{1,64}$/.test(name)) {
      problems.add(["detection", name], "sigma/value", `selection name "${name.slice(0, 40)}" must be letters, digits and underscores`, "Rename the selection.", { prefer: "key" });
      continue;
    }
    const compiled = compileSelection(name, detection[name], problems, ["detection", name], budget);
    if (compiled) selections.set(name, compiled);
  }
  const conditionValue = detection["condition"];
  if (conditionValue === undefined) {
    problems.add(["detection"], "sigma/required", "detection has no condition", names.length === 1 ? `Add condition: ${names[0] ?? "selection"}.` : "Add a condition, e.g. condition: selection and not filter.");
    return undefined;
  }
  if (Array.isArray(conditionValue)) {
    problems.add(["detection", "condition"], "sigma/unsupported", "a list of conditions (Sigma v1) is not supported", "Join the conditions with or in one string.");
    return undefined;
  }
  if (typeof conditionValue !== "string") {
    problems.add(["detection", "condition"], "sigma/type", `condition must be a string; it is ${typeName(conditionValue)}`, "Write e.g. condition: selection and not filter.");
    return undefined;
  }
  const parsed = parseCondition(conditionValue, names);
  if (!parsed.ok) {
    problems.add(["detection", "condition"], "sigma/condition", `condition, at offset ${parsed.offset}: ${parsed.message}`, parsed.fix);
    return undefined;
  }
  for (const name of names) {
    if (!parsed.used.has(name)) problems.add(["detection", name], "sigma/unused-selection", `selection "${name}" is not used in the condition`, "Use it in the condition or remove it.", { severity: "warning", prefer: "key" });
  }
  if (selections.size !== names.length) return undefined;
  // The tree becomes nested closures once, so evaluating it per event walks no data structure.
  const compile = (c: Condition): ((view: EventView) => boolean) => {
    switch (c.t) {
      case "id":
        return selections.get(c.name)?.matches ?? (() => false);
      case "not": {
        const x = compile(c.x);
        return (view) => !x(view);
      }
      case "and": {
        const xs = c.xs.map(compile);
        return (view) => {
          for (const x of xs) if (!x(view)) return false;
          return true;
        };
      }
      case "or": {
        const xs = c.xs.map(compile);
        return (view) => {
          for (const x of xs) if (x(view)) return true;
          return false;
        };
      }
    }
  };
  const matches = compile(parsed.condition);
  return {
    matches,
    explain(view) {
      const children: Reason[] = [];
      for (const [name, sel] of selections) {
        const items = sel.explain(view);
        children.push(items.length > 0 ? reason(`selection ${name} matched`, items.map((i) => reason(i))) : reason(`selection ${name} did not match`));
      }
      return reason(`condition "${conditionValue}" held`, children);
    },
  };
}

function compileCorrelation(
  value: unknown,
  problems: DocumentProblems,
  base: { id: string; name: string | null; title: string; file: string; span: Span; level: Severity; status: string | null; key: string },
): CorrelationDraft | undefined {
  const at = ["correlation"];
  if (!isRecord(value)) {
    problems.add(at, "sigma/type", `correlation must be a mapping; it is ${typeName(value)}`, "Write type:, rules:, group-by:, timespan: and condition: under correlation:.");
    return undefined;
  }
  const known = new Set(["type", "rules", "group-by", "timespan", "condition", "generate", "aliases"]);
  for (const key of Object.keys(value)) {
    if (key === "aliases") problems.add([...at, key], "sigma/unsupported", "aliases are not supported: every Charter rule reads the same event fields, so there is nothing to alias", "Remove aliases and group by the field's own name.", { prefer: "key" });
    else if (!known.has(key)) problems.add([...at, key], "sigma/unknown-key", `unknown correlation key "${key}"; allowed: type, rules, group-by, timespan, condition, generate`, "Remove the key or correct its spelling.", { prefer: "key" });
  }
  const type = value["type"];
  if (typeof type !== "string" || !CORRELATION_TYPES.includes(type as CorrelationType)) {
    problems.add([...at, "type"], type === undefined ? "sigma/required" : "sigma/unsupported", `correlation type ${type === undefined ? "is missing" : JSON.stringify(type)}; supported: ${CORRELATION_TYPES.join(", ")}`, `Use one of: ${CORRELATION_TYPES.join(", ")}.`);
    return undefined;
  }
  const rules = value["rules"];
  const refs: string[] = [];
  if (typeof rules === "string") refs.push(rules);
  else if (Array.isArray(rules) && rules.length > 0 && rules.every((r) => typeof r === "string")) refs.push(...rules);
  else problems.add([...at, "rules"], rules === undefined ? "sigma/required" : "sigma/type", "rules must list the names or ids of the rules to correlate", "Write rules: [name_of_rule, ...].");
  if (refs.length > 16) problems.add([...at, "rules"], "sigma/limit", "a correlation joins at most 16 rules", "Split the correlation.");
  if ((type === "temporal" || type === "temporal_ordered") && refs.length < 2) problems.add([...at, "rules"], "sigma/value", `${type} needs at least two rules`, "List the rules whose matches must occur together.");

  const groupBy: FieldSpec[] = [];
  const group = value["group-by"];
  if (group !== undefined) {
    const names = typeof group === "string" ? [group] : Array.isArray(group) ? group : undefined;
    if (!names || names.length > 8) problems.add([...at, "group-by"], "sigma/type", "group-by must list up to 8 field names", "Write group-by: [agent].");
    else
      names.forEach((n: unknown, i) => {
        const spec = typeof n === "string" ? resolveField(n) : undefined;
        if (spec) groupBy.push(spec);
        else problems.add([...at, "group-by", ...(Array.isArray(group) ? [i] : [])], "sigma/unknown-field", `group-by field ${JSON.stringify(n)} is not an event field`, `Use one of: ${FIELD_NAMES.join(", ")}.`);
      });
  }

  const timespanMs = parseTimespan(value["timespan"]);
  if (timespanMs === undefined) problems.add([...at, "timespan"], value["timespan"] === undefined ? "sigma/required" : "sigma/value", `timespan ${value["timespan"] === undefined ? "is missing" : JSON.stringify(value["timespan"])}: write a number with s, m, h or d, at most 7d`, "Write e.g. timespan: 10m.");

  let threshold: CorrelationDraft["threshold"] = null;
  let field: FieldSpec | null = null;
  const condition = value["condition"];
  if (type === "temporal" || type === "temporal_ordered") {
    if (condition !== undefined) problems.add([...at, "condition"], "sigma/unsupported", `${type} takes no condition: it fires when every listed rule has matched within the timespan`, "Remove the condition.");
  } else if (!isRecord(condition)) {
    problems.add([...at, "condition"], condition === undefined ? "sigma/required" : "sigma/type", "condition must be a mapping such as { gte: 10 }", "Write condition: { gte: 10 }.");
  } else {
    for (const [op, v] of Object.entries(condition)) {
      if (op === "field") {
        const spec = typeof v === "string" ? resolveField(v) : undefined;
        if (type !== "value_count") problems.add([...at, "condition", op], "sigma/value", "field applies only to value_count", "Remove field, or use type: value_count.");
        else if (!spec) problems.add([...at, "condition", op], "sigma/unknown-field", `field ${JSON.stringify(v)} is not an event field`, `Use one of: ${FIELD_NAMES.join(", ")}.`);
        else field = spec;
      } else if (op === "gt" || op === "gte") {
        if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_THRESHOLD) problems.add([...at, "condition", op], "sigma/value", `${op} must be a whole number from 0 to ${MAX_THRESHOLD}`, "Write e.g. gte: 10.");
        else if (threshold) problems.add([...at, "condition", op], "sigma/unsupported", "only one threshold is supported", "Keep one of gt or gte.");
        else threshold = { op, value: v };
      } else if (op === "lt" || op === "lte" || op === "eq" || op === "neq") {
        problems.add([...at, "condition", op], "sigma/unsupported", `condition ${op} is not supported: Charter evaluates correlations as events arrive, and only a count that reaches a threshold (gt, gte) is known before the window closes`, "Use gt or gte.", { prefer: "key" });
      } else {
        problems.add([...at, "condition", op], "sigma/unknown-key", `unknown condition key "${op}"; allowed: gt, gte, field (value_count)`, "Use gt or gte.", { prefer: "key" });
      }
    }
    if (!threshold && !problems.list.some((d) => d.pointer.startsWith("/correlation/condition"))) problems.add([...at, "condition"], "sigma/required", "condition needs gt or gte", "Write condition: { gte: 10 }.");
    if (type === "value_count" && !field && !problems.list.some((d) => d.pointer === "/correlation/condition/field")) problems.add([...at, "condition"], "sigma/required", "value_count needs condition.field: the field whose distinct values are counted", "Add field: resource (for example) to the condition.");
  }
  const generate = value["generate"];
  if (generate !== undefined && typeof generate !== "boolean") problems.add([...at, "generate"], "sigma/type", "generate must be true or false", "Write generate: true to also alert on each referenced rule's matches.");
  if (timespanMs === undefined) return undefined;
  return { kind: "correlation", ...base, type: type as CorrelationType, refs, groupBy, timespanMs, threshold, field, generate: generate === true, problems };
}

/** `30s`, `10m`, `1h`, `2d` (Sigma's timespan form), at most MAX_TIMESPAN_MS. */
function parseTimespan(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const m = /^(\d{1,6})([smhd])$/.exec(value);
  if (!m) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s" | "m" | "h" | "d"];
  const ms = Number(m[1]) * unit;
  return ms > 0 && ms <= MAX_TIMESPAN_MS ? ms : undefined;
}
