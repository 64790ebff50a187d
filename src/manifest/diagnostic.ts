/**
 * A problem found in a file, pinned to a line and column. Schema violations, lint findings and
 * YAML syntax errors all become Diagnostics, so every front end (CLI text, JSON, GitHub workflow
 * annotations, check-run annotations) renders one shape.
 */
export type Severity = "error" | "warning";

export type RuleCode =
  | "file/too-large"
  | "file/encoding"
  | "file/control-character"
  | "file/not-a-file"
  | "yaml/syntax"
  | "yaml/duplicate-key"
  | "yaml/multiple-documents"
  | "yaml/unsupported-tag"
  | "yaml/alias-limit"
  | "yaml/too-deep"
  | "yaml/too-many-nodes"
  | "yaml/key-not-string"
  | "yaml/forbidden-key"
  | "schema/unknown-key"
  | "schema/required"
  | "schema/type"
  | "schema/enum"
  | "schema/const"
  | "schema/pattern"
  | "schema/format"
  | "schema/range"
  | "schema/length"
  | "schema/unique"
  | "schema/owner-shape"
  | "manifest/location"
  | "manifest/duplicate-id"
  | "model/unpinned"
  | "permission/invalid"
  | "permission/wildcard"
  | "tool/duplicate-name"
  | "credentials/lifetime-too-long"
  | "lifecycle/retired-with-permissions"
  | "lifecycle/retirement-missing"
  | "lifecycle/retirement-unexpected"
  | "runtime/unknown-tool"
  | "prompt/outside-directory"
  | "prompt/duplicate"
  | "prompt/missing"
  | "prompt/symlink-escape"
  | "prompt/not-a-file"
  | "prompt/too-large"
  | "secret/detected"
  | "text/hidden-characters"
  | "provisioning/unenforceable-permission"
  | "provisioning/unavailable-provider"
  | "provisioning/invalid-config"
  | "sigma/required"
  | "sigma/type"
  | "sigma/unknown-key"
  | "sigma/unsupported"
  | "sigma/unknown-field"
  | "sigma/condition"
  | "sigma/unused-selection"
  | "sigma/regex"
  | "sigma/value"
  | "sigma/logsource"
  | "sigma/duplicate-id"
  | "sigma/reference"
  | "sigma/limit"
  | "sigma/too-broad"
  | "policy/check-without-source"
  | "catalog/invalid-match"
  | "catalog/duplicate-match";

export interface Position {
  /** 1-based. */
  readonly line: number;
  /** 1-based, in UTF-16 code units like editors and GitHub count them. */
  readonly column: number;
}

export interface Diagnostic {
  /** Repository-relative path with forward slashes. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
  /** JSON Pointer (RFC 6901) to the offending value inside the manifest; "" for the whole file. */
  readonly pointer: string;
  readonly rule: RuleCode;
  readonly severity: Severity;
  readonly message: string;
  /** How to fix it, in one sentence. */
  readonly fix: string;
}

export interface Span {
  readonly start: Position;
  readonly end: Position;
}

export const FILE_START: Span = { start: { line: 1, column: 1 }, end: { line: 1, column: 1 } };

export function diagnostic(
  file: string,
  span: Span,
  rule: RuleCode,
  message: string,
  fix: string,
  options: { pointer?: string; severity?: Severity } = {},
): Diagnostic {
  return {
    file,
    line: span.start.line,
    column: span.start.column,
    endLine: span.end.line,
    endColumn: span.end.column,
    pointer: options.pointer ?? "",
    rule,
    severity: options.severity ?? "error",
    message,
    fix,
  };
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0);
}
