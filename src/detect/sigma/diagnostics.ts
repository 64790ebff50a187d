import { type Diagnostic, diagnostic, type RuleCode, type Severity, type Span } from "../../manifest/diagnostic.js";
import { toPointer } from "../../manifest/json-pointer.js";
import type { ParsedYaml } from "../../manifest/parse-yaml.js";

/** Collects positioned problems for one YAML document of a rule file. */
export class DocumentProblems {
  readonly list: Diagnostic[] = [];

  constructor(
    readonly file: string,
    private readonly parsed: ParsedYaml,
    /** Prefix added to messages so that a multi-document file says which document. */
    private readonly where: string,
  ) {}

  add(path: readonly (string | number)[], rule: RuleCode, message: string, fix: string, options: { severity?: Severity; prefer?: "key" | "value" } = {}): void {
    const pointer = toPointer(path);
    this.list.push(diagnostic(this.file, this.parsed.locate(pointer, options.prefer ?? "value"), rule, `${this.where}${message}`, fix, { pointer, severity: options.severity ?? "error" }));
  }

  /** Where a path of this document sits in the file (its key, for a mapping entry). */
  locate(path: readonly (string | number)[]): Span {
    return this.parsed.locate(toPointer(path), "key");
  }

  get errors(): number {
    return this.list.filter((d) => d.severity === "error").length;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `a ${typeof value}`;
}
