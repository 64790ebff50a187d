import type { AgentChange } from "../change/agent-changes.js";
import type { Diagnostic } from "../manifest/diagnostic.js";

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

// GitHub refuses summaries over 65,535 characters; keep a margin for the truncation notice.
const MAX_SUMMARY = 60_000;
const MAX_TABLE_ROWS = 100;

/** The outcome when the pull request does not touch agents. */
export function noAgentChanges(changedFiles: number): CheckOutcome {
  return {
    conclusion: "success",
    title: "No agent changes",
    summary: `This pull request changes ${changedFiles} file${changedFiles === 1 ? "" : "s"}, none under \`agents/\`. Nothing for Charter to check.`,
    annotations: [],
  };
}

/** The outcome when Charter cannot see the whole pull request: it fails closed, never open. */
export function cannotCheck(reason: string, fix: string): CheckOutcome {
  return { conclusion: "failure", title: "Charter cannot check this pull request", summary: `**${reason}**\n\n${fix}\n`, annotations: [] };
}

/** Renders the validation of a pull request's agents into a check run's conclusion, text and annotations. */
export function validationOutcome(changes: readonly AgentChange[], diagnostics: readonly Diagnostic[]): CheckOutcome {
  const errors = diagnostics.filter((d) => d.severity === "error");
  const files = new Set(errors.map((d) => d.file));
  const agents = changes.filter((c) => c.kind !== "unchanged").length;
  const title =
    errors.length === 0
      ? `${agents} agent${agents === 1 ? "" : "s"} changed, all valid`
      : `${errors.length} problem${errors.length === 1 ? "" : "s"} in ${files.size === 1 ? [...files][0] ?? "" : `${files.size} files`}`;

  let summary = errors.length === 0 ? `**All manifests and prompt files this pull request touches are valid.**\n` : `**${title}.** Each is annotated on its line; the table says how to fix it.\n`;
  summary += "\n### What changed\n\n| Agent | Change | Files |\n|---|---|---|\n";
  for (const change of changes) {
    const shown = change.changedFiles.map((f) => `\`${cell(f)}\``).join(", ") || "—";
    summary += `| \`${cell(change.id)}\` | ${KIND_TEXT[change.kind]} | ${shown} |\n`;
  }
  if (diagnostics.length > 0) {
    summary += "\n### Problems\n\n| Where | Rule | Problem | How to fix |\n|---|---|---|---|\n";
    for (const d of diagnostics.slice(0, MAX_TABLE_ROWS)) {
      summary += `| \`${cell(d.file)}:${d.line}:${d.column}\` | \`${d.rule}\` | ${cell(d.message)} | ${cell(d.fix)} |\n`;
    }
    if (diagnostics.length > MAX_TABLE_ROWS) summary += `\n…and ${diagnostics.length - MAX_TABLE_ROWS} more, all annotated on their lines.\n`;
  }
  if (summary.length > MAX_SUMMARY) summary = summary.slice(0, MAX_SUMMARY) + "\n\n…summary truncated; every problem is annotated on its line.\n";

  return { conclusion: errors.length === 0 ? "success" : "failure", title, summary, annotations: diagnostics.map(toAnnotation) };
}

const KIND_TEXT: Readonly<Record<AgentChange["kind"], string>> = {
  added: "new agent",
  removed: "manifest deleted",
  retired: "retired",
  reactivated: "reactivated",
  modified: "modified",
  unchanged: "unchanged",
  invalid: "cannot be classified until the manifest is valid",
};

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
function cell(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("|", "\\|").replaceAll("\n", " ").replaceAll("`", "'");
}
