import type { ErrorObject, ValidateFunction } from "ajv/dist/2020.js";
import { type Diagnostic, diagnostic, type RuleCode } from "./diagnostic.js";
import { pointerSegment, pointerSegments } from "./json-pointer.js";
import type { ParsedYaml } from "./parse-yaml.js";

/**
 * A schema's validator, as ajv compiled it at generation time (src/schema-types/*.validator.generated.ts,
 * with allErrors and verbose errors): no process pays for compiling a schema, and each caller
 * imports only the validator of the schema it reads.
 */
export type SchemaValidator = ValidateFunction;

/**
 * Validates parsed data against one of Charter's schemas and turns ajv's errors into positioned
 * Diagnostics that say what is allowed instead of how the schema is written.
 */
export function validateAgainstSchema(validate: SchemaValidator, file: string, parsed: ParsedYaml): Diagnostic[] {
  if (validate(parsed.value)) return [];
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const error of validate.errors ?? []) {
    const d = translate(file, parsed, error);
    if (!d) continue;
    const key = `${d.pointer}|${d.rule}|${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

function translate(file: string, parsed: ParsedYaml, error: ErrorObject): Diagnostic | undefined {
  const at = error.instancePath;
  const where = describe(at);
  const parent = (error.parentSchema ?? {}) as Record<string, unknown>;
  const params = error.params as Record<string, unknown>;
  const make = (rule: RuleCode, message: string, fix: string, pointer = at, prefer: "key" | "value" = "value"): Diagnostic =>
    diagnostic(file, parsed.locate(pointer, prefer), rule, message, fix, { pointer });

  switch (error.keyword) {
    case "additionalProperties": {
      const key = String(params["additionalProperty"]);
      const allowed = Object.keys(parent["properties"] ?? {});
      return make(
        "schema/unknown-key",
        `unknown key "${key}"${at ? ` in ${where}` : ""}; allowed: ${allowed.join(", ")}`,
        "Remove the key or correct its spelling.",
        `${at}/${pointerSegment(key)}`,
        "key",
      );
    }
    case "required": {
      const key = String(params["missingProperty"]);
      return make("schema/required", `missing required key "${key}"${at ? ` in ${where}` : ""}`, `Add "${key}" (see the manifest reference in README.md).`, `${at}/${pointerSegment(key)}`, "key");
    }
    case "type":
      return make("schema/type", `${where} must be ${article(String(params["type"]))}`, "Change the value's type.");
    case "enum": {
      const allowed = (params["allowedValues"] as unknown[]).map((v) => JSON.stringify(v)).join(", ");
      return make("schema/enum", `${where} is ${show(error.data)}; allowed: ${allowed}`, "Use one of the allowed values.");
    }
    case "const":
      return make(
        "schema/const",
        `${where} is ${show(error.data)}; it must be ${JSON.stringify(params["allowedValue"])}`,
        at === "/apiVersion" ? "This version of Charter reads apiVersion charter/v1." : "Use the required value.",
      );
    case "pattern": {
      const description = typeof parent["description"] === "string" ? ` ${parent["description"]}` : "";
      return make("schema/pattern", `${where} ${show(error.data)} is not valid.${description}`, "Correct the value to the documented form.");
    }
    case "format":
      return make("schema/format", `${where} ${show(error.data)} is not a valid ${String(params["format"])}`, "Use the documented format, e.g. 2026-01-31 for a date.");
    case "minProperties":
    case "maxProperties":
      if (/^\/owners\/\d+$/.test(at)) {
        return make("schema/owner-shape", `${where} must name exactly one of user or team`, "Write each owner as `- user: login` or `- team: org/team-slug`.");
      }
      return make("schema/length", `${where} ${error.message ?? "has the wrong number of keys"}`, "Adjust the number of entries.");
    case "minLength":
    case "maxLength":
    case "minItems":
    case "maxItems":
      return make("schema/length", `${where} ${error.message ?? "has the wrong length"}`, "Adjust the value's length.");
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return make("schema/range", `${where} ${error.message ?? "is out of range"}`, "Use a value within the documented range.");
    case "uniqueItems":
      return make("schema/unique", `${where} has duplicate entries (items ${String(params["j"])} and ${String(params["i"])})`, "Remove the duplicate.");
    case "discriminator": {
      // A record-like document whose tag names no known variant: report the tag itself.
      const tag = String(params["tag"]);
      return make("schema/enum", `${tag} ${show(params["tagValue"])} is not one this schema defines`, `Use one of the ${tag}s in the schema.`, `${at}/${pointerSegment(tag)}`);
    }
    case "propertyNames":
      return make("schema/pattern", `${where} has an invalid key "${String(params["propertyName"])}"`, "Keys are lowercase words with hyphens.");
    default:
      // The keyword already produced a more specific error (e.g. pattern inside propertyNames).
      return error.keyword === "if" || error.keyword === "not" ? undefined : make("schema/type", `${where} ${error.message ?? "is invalid"}`, "See the manifest reference.");
  }
}

/** "/tools/0/permissions/2" → "tools[0].permissions[2]", the way a reader names it. */
function describe(pointer: string): string {
  // The same validator serves manifests, the policy file, snapshots and evidence records.
  if (pointer === "") return "the document";
  let out = "";
  for (const seg of pointerSegments(pointer)) {
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === "" ? seg : `.${seg}`;
  }
  return out;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function show(value: unknown): string {
  const text = (JSON.stringify(value) as string | undefined) ?? String(value);
  return text.length > 80 ? text.slice(0, 77) + "..." : text;
}
