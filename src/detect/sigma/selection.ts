import { type EventView, closestField, FIELD_NAMES, type FieldSpec, resolveField } from "../event-fields.js";
import { compileRegex } from "../regex/linear-regex.js";
import { REGEX_SUPPORTED } from "../regex/parse-regex.js";
import { cidrContains, parseCidr } from "./cidr.js";
import { type DocumentProblems, isRecord, typeName } from "./diagnostics.js";
import { compileText, type StringMode } from "./wildcard.js";

/**
 * One Sigma selection (a mapping of `field|modifiers: values`, or a list of such mappings)
 * compiled into a predicate over an event. Every field and modifier is checked when the rule is
 * loaded, so evaluation cannot fail: it only answers true or false.
 */
export interface CompiledSelection {
  readonly name: string;
  readonly matches: (view: EventView) => boolean;
  /** The items of the alternative that matched, described with the event's values; [] when none did. */
  explain(view: EventView): string[];
}

export const SELECTION_LIMITS = {
  maxSelections: 64,
  maxItems: 64,
  maxValues: 1_024,
  maxValueLength: 4_096,
} as const;

const SUPPORTED_MODIFIERS: readonly string[] = ["contains", "startswith", "endswith", "all", "re", "i", "m", "s", "cidr", "gt", "gte", "lt", "lte", "exists", "cased", "neq", "fieldref"];
const UNSUPPORTED_MODIFIERS = new Set(["base64", "base64offset", "wide", "utf16", "utf16le", "utf16be", "windash", "expand", "minute", "hour", "day", "week", "month", "year"]);
const TYPE_MODIFIERS = new Set(["contains", "startswith", "endswith", "re", "cidr", "gt", "gte", "lt", "lte", "exists", "fieldref", "neq"]);

type Scalar = string | number | boolean;
/** A test on one scalar field value; `text` is its text form, lowercased unless the item is cased. */
type ScalarTest = (value: Scalar, text: string, view: EventView) => boolean;

interface CompiledItem {
  readonly describe: string;
  readonly field: FieldSpec;
  readonly matches: (view: EventView) => boolean;
}

export function compileSelection(name: string, value: unknown, problems: DocumentProblems, path: readonly (string | number)[], budget: { values: number }): CompiledSelection | undefined {
  const alternatives: CompiledItem[][] = [];
  if (isRecord(value)) {
    const items = compileMap(value, problems, path, budget);
    if (!items) return undefined;
    alternatives.push(items);
  } else if (Array.isArray(value)) {
    if (value.length === 0) {
      problems.add(path, "sigma/type", `selection "${name}" is an empty list`, "List one or more mappings of fields to values.");
      return undefined;
    }
    if (value.every((v) => !isRecord(v) && !Array.isArray(v))) {
      problems.add(path, "sigma/unsupported", `selection "${name}" is a list of keywords; full-text keyword search is not supported because trail events have no free-text message`, "Name the field to search, e.g. resource|contains: 'customers'.");
      return undefined;
    }
    let failed = 0;
    for (const [i, entry] of value.entries()) {
      if (!isRecord(entry)) {
        problems.add([...path, i], "sigma/type", `entry ${i} of selection "${name}" is ${typeName(entry)}; each entry of a list selection is a mapping of fields to values`, "Write each entry as field: value lines.");
        failed++;
        continue;
      }
      const items = compileMap(entry, problems, [...path, i], budget);
      if (items) alternatives.push(items);
      else failed++;
    }
    if (failed > 0) return undefined;
  } else {
    problems.add(path, "sigma/type", `selection "${name}" is ${typeName(value)}; a selection is a mapping of fields to values, or a list of such mappings`, "Write field: value lines under the selection's name.");
    return undefined;
  }

  const matchers = alternatives.map((items) => items.map((i) => i.matches));
  const matches =
    matchers.length === 1
      ? allOf(matchers[0] ?? [])
      : (view: EventView) => {
          for (const alt of matchers) if (allOf(alt)(view)) return true;
          return false;
        };
  return {
    name,
    matches,
    explain(view) {
      for (const items of alternatives) {
        if (items.every((i) => i.matches(view))) return items.map((i) => `${i.describe} (${i.field.name} = ${show(view.value(i.field))})`);
      }
      return [];
    },
  };
}

function allOf(tests: readonly ((view: EventView) => boolean)[]): (view: EventView) => boolean {
  if (tests.length === 1) return tests[0] ?? (() => true);
  return (view) => {
    for (const t of tests) if (!t(view)) return false;
    return true;
  };
}

function compileMap(map: Record<string, unknown>, problems: DocumentProblems, path: readonly (string | number)[], budget: { values: number }): CompiledItem[] | undefined {
  const keys = Object.keys(map);
  if (keys.length === 0) {
    problems.add(path, "sigma/type", "empty mapping in a selection", "Name at least one field.");
    return undefined;
  }
  if (keys.length > SELECTION_LIMITS.maxItems) {
    problems.add(path, "sigma/limit", `more than ${SELECTION_LIMITS.maxItems} fields in one mapping`, "Split the selection.");
    return undefined;
  }
  const out: CompiledItem[] = [];
  for (const key of keys) {
    const item = compileItem(key, map[key], problems, [...path, key], budget);
    if (item) out.push(item);
  }
  return out.length === keys.length ? out : undefined;
}

function compileItem(key: string, raw: unknown, problems: DocumentProblems, path: readonly (string | number)[], budget: { values: number }): CompiledItem | null | undefined {
  const [fieldName = "", ...modifiers] = key.split("|");
  const keyProblem = (rule: "sigma/unknown-field" | "sigma/unsupported" | "sigma/value", message: string, fix: string): null => {
    problems.add(path, rule, message, fix, { prefer: "key" });
    return null;
  };
  const field = resolveField(fieldName);
  if (!field) {
    const near = closestField(fieldName);
    return keyProblem("sigma/unknown-field", `unknown field "${fieldName}"`, near ? `Did you mean ${near}? Fields: ${FIELD_NAMES.join(", ")}.` : `Use one of Charter's event fields: ${FIELD_NAMES.join(", ")}.`);
  }
  for (const m of modifiers) {
    if (UNSUPPORTED_MODIFIERS.has(m)) return keyProblem("sigma/unsupported", `modifier "${m}" is not supported`, `Supported modifiers: ${SUPPORTED_MODIFIERS.join(", ")}.`);
    if (!SUPPORTED_MODIFIERS.includes(m)) return keyProblem("sigma/unsupported", `unknown modifier "${m}"`, `Supported modifiers: ${SUPPORTED_MODIFIERS.join(", ")}.`);
  }
  if (new Set(modifiers).size !== modifiers.length) return keyProblem("sigma/value", `a modifier is repeated in "${key}"`, "Name each modifier once.");
  const types = modifiers.filter((m) => TYPE_MODIFIERS.has(m));
  if (types.length > 1) return keyProblem("sigma/value", `modifiers ${types.join(" and ")} cannot be combined`, "Keep one of them; write a second field item for the other test.");
  const type = types[0];
  const all = modifiers.includes("all");
  const cased = modifiers.includes("cased");
  const reFlags = modifiers.filter((m) => m === "i" || m === "m" || m === "s");
  if (reFlags.length > 0 && type !== "re") return keyProblem("sigma/value", `modifier ${reFlags.join(", ")} applies only after re`, "Write field|re|i, or remove it.");
  if (cased && type !== undefined && !["contains", "startswith", "endswith", "fieldref", "neq"].includes(type)) {
    return keyProblem("sigma/value", `cased has no meaning with ${type}`, type === "re" ? "Regular expressions are case-sensitive unless re|i is given." : "Remove cased.");
  }
  if (all && (type === "exists" || type === "neq")) return keyProblem("sigma/value", `all has no meaning with ${type}`, "Remove all.");

  const values = Array.isArray(raw) ? raw : [raw];
  if (values.length === 0) {
    problems.add(path, "sigma/value", `"${key}" has an empty list of values`, "Give at least one value.");
    return undefined;
  }
  budget.values += values.length;
  if (values.length > SELECTION_LIMITS.maxValues || budget.values > SELECTION_LIMITS.maxValues * 10) {
    problems.add(path, "sigma/limit", `too many values (the limit is ${SELECTION_LIMITS.maxValues} per field and ${SELECTION_LIMITS.maxValues * 10} per rule)`, "Split the rule, or match a common prefix with startswith.");
    return undefined;
  }
  const describe = `${key}: ${values.length === 1 ? show(values[0]) : `[${values.map(show).join(", ")}]`}`.slice(0, 300);
  const valuePath = (i: number) => (Array.isArray(raw) ? [...path, i] : path);

  if (type === "exists") {
    if (values.length !== 1 || typeof values[0] !== "boolean") {
      problems.add(path, "sigma/value", `${key} takes true or false`, "Write exists: true or exists: false.");
      return undefined;
    }
    const want = values[0];
    return { describe, field, matches: (view) => present(view.value(field)) === want };
  }

  let nullAllowed = false;
  const tests: ScalarTest[] = [];
  for (let i = 0; i < values.length; i++) {
    const v: unknown = values[i];
    const at = valuePath(i);
    if (v === null) {
      if (type !== undefined && type !== "neq") {
        problems.add(at, "sigma/value", `null cannot be used with ${type}`, "Use field|exists: false to match an absent field.");
        return undefined;
      }
      nullAllowed = true;
      continue;
    }
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
      problems.add(at, "sigma/value", `value is ${typeName(v)}; values are strings, numbers, booleans or null`, "Write a plain value, or a list of plain values.");
      return undefined;
    }
    if (typeof v === "string" && v.length > SELECTION_LIMITS.maxValueLength) {
      problems.add(at, "sigma/limit", `value is longer than ${SELECTION_LIMITS.maxValueLength} characters`, "Match a shorter distinctive part with contains.");
      return undefined;
    }
    const test = scalarTest(type, v, cased, reFlags, field, problems, at, key);
    if (!test) return undefined;
    tests.push(test);
  }

  if (type === "neq") {
    return {
      describe,
      field,
      matches: (view) => {
        const v = view.value(field);
        if (!present(v)) return !nullAllowed;
        return !anyElement(view, field, v, tests, cased);
      },
    };
  }
  return {
    describe,
    field,
    matches: (view) => {
      const v = view.value(field);
      if (!present(v)) return nullAllowed;
      if (all) {
        for (const t of tests) if (!anyElement(view, field, v, [t], cased)) return false;
        return tests.length > 0;
      }
      return anyElement(view, field, v, tests, cased);
    },
  };
}

function present(v: unknown): boolean {
  return v !== null && !(Array.isArray(v) && v.length === 0);
}

/** Whether some element of the field's value (the value itself for a scalar) passes some test. */
function anyElement(view: EventView, field: FieldSpec, v: unknown, tests: readonly ScalarTest[], cased: boolean): boolean {
  const lower = view.text(field, !cased);
  if (Array.isArray(v)) {
    const lowers = (lower ?? []) as readonly string[];
    for (let i = 0; i < v.length; i++) {
      const element = v[i] as string;
      for (const t of tests) if (t(element, lowers[i] ?? element, view)) return true;
    }
    return false;
  }
  const scalar = v as Scalar;
  const text = typeof lower === "string" ? lower : String(scalar);
  for (const t of tests) if (t(scalar, text, view)) return true;
  return false;
}

function scalarTest(type: string | undefined, v: Scalar, cased: boolean, reFlags: readonly string[], field: FieldSpec, problems: DocumentProblems, at: readonly (string | number)[], key: string): ScalarTest | undefined {
  switch (type) {
    case "gt":
    case "gte":
    case "lt":
    case "lte": {
      if (typeof v !== "number" || !Number.isFinite(v)) {
        problems.add(at, "sigma/value", `${key} compares numbers; ${show(v)} is not one`, "Write a number, e.g. gte: 1000.");
        return undefined;
      }
      const cmp = type === "gt" ? (x: number) => x > v : type === "gte" ? (x: number) => x >= v : type === "lt" ? (x: number) => x < v : (x: number) => x <= v;
      return (value) => {
        const n = typeof value === "number" ? value : typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
        return !Number.isNaN(n) && cmp(n);
      };
    }
    case "cidr": {
      const block = typeof v === "string" ? parseCidr(v) : undefined;
      if (!block) {
        problems.add(at, "sigma/value", `${show(v)} is not a CIDR block`, "Write an IPv4 or IPv6 block such as 10.0.0.0/8 or fd00::/8.");
        return undefined;
      }
      return (value) => typeof value === "string" && cidrContains(block, value);
    }
    case "re": {
      if (typeof v !== "string") {
        problems.add(at, "sigma/regex", `${key} needs a pattern string`, "Quote the pattern.");
        return undefined;
      }
      const compiled = compileRegex(v, { ignoreCase: reFlags.includes("i"), multiline: reFlags.includes("m"), dotAll: reFlags.includes("s") });
      if (!compiled.ok) {
        problems.add(at, "sigma/regex", `regular expression, at offset ${compiled.offset}: ${compiled.message}`, compiled.message.includes("supported:") ? "Rewrite the pattern within the supported subset." : `Fix the pattern; ${REGEX_SUPPORTED}.`);
        return undefined;
      }
      const regex = compiled.regex;
      return (value) => regex.test(typeof value === "string" ? value : String(value));
    }
    case "fieldref": {
      const other = typeof v === "string" ? resolveField(v) : undefined;
      if (!other) {
        problems.add(at, "sigma/unknown-field", `fieldref names ${show(v)}, which is not a field`, `Name one of: ${FIELD_NAMES.join(", ")}.`);
        return undefined;
      }
      return (_value, text, view) => {
        const otherText = view.text(other, !cased);
        return typeof otherText === "string" && otherText === text;
      };
    }
    default: {
      const mode: StringMode = type === "contains" || type === "startswith" || type === "endswith" ? type : "equals";
      if (mode === "equals" && typeof v === "number" && field.kind === "number") return (value) => value === v;
      if (mode === "equals" && typeof v === "boolean") {
        const text = String(v);
        return (value, lower) => value === v || lower === text;
      }
      const text = compileText(String(v), mode, !cased);
      return (_value, lower) => text(lower);
    }
  }
}

function show(v: unknown): string {
  const text = typeof v === "string" ? `'${v}'` : v === undefined ? "undefined" : JSON.stringify(v);
  return text.length > 80 ? text.slice(0, 77) + "..." : text;
}
