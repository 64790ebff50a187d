import type { Diagnostic } from "../../manifest/diagnostic.js";

export type CheckConclusion = "success" | "failure" | "neutral" | "action_required";

/** One annotation as GitHub's check-runs API takes it. */
export interface CheckAnnotation {
  readonly path: string;
  readonly start_line: number;
  readonly end_line: number;
  readonly start_column?: number;
  readonly end_column?: number;
  readonly annotation_level: "failure" | "warning" | "notice";
  readonly title: string;
  readonly message: string;
  readonly raw_details?: string;
}

export interface CheckOutcome {
  readonly conclusion: CheckConclusion;
  readonly title: string;
  readonly summary: string;
  readonly annotations: readonly CheckAnnotation[];
}

/** The outcome when the pull request touches neither agents nor governance files. */
export function noAgentChanges(changedFiles: number): CheckOutcome {
  return {
    conclusion: "success",
    title: "No agent changes",
    summary: `This pull request changes ${changedFiles} file${changedFiles === 1 ? "" : "s"}, none of them an agent's or a governance file. Nothing for Charter to check.`,
    annotations: [],
  };
}

/** The outcome when Charter cannot see the whole pull request: it fails closed, never open. */
export function cannotCheck(reason: string, fix: string): CheckOutcome {
  return { conclusion: "failure", title: "Charter cannot check this pull request", summary: `**${reason}**\n\n${fix}\n`, annotations: [] };
}

export function toAnnotation(d: Diagnostic): CheckAnnotation {
  const sameLine = d.line === d.endLine;
  return {
    path: d.file,
    start_line: d.line,
    end_line: Math.max(d.endLine, d.line),
    // GitHub accepts columns only for single-line annotations.
    ...(sameLine ? { start_column: d.column, end_column: Math.max(d.endColumn, d.column) } : {}),
    annotation_level: d.severity === "error" ? "failure" : "warning",
    title: `Charter ${d.rule}`,
    message: d.message,
    raw_details: `How to fix: ${d.fix}${d.pointer ? `\nJSON Pointer: ${d.pointer}` : ""}`,
  };
}

/** Makes text safe inside a Markdown table cell. */
export function markdownCell(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("|", "\\|").replaceAll("\n", " ").replaceAll("`", "'");
}
