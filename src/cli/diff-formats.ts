import { posix } from "node:path";
import type { Change, ChangeSet } from "../change/change-set.js";
import { oneLine, plural } from "../change/display.js";
import type { Diagnostic } from "../manifest/diagnostic.js";
import { type DiagnosticJson, diagnosticJson } from "./validation-formats.js";

export const DIFF_FORMATS = ["text", "json"] as const;
export type DiffFormat = (typeof DIFF_FORMATS)[number];

export interface Revision {
  /** As given on the command line. */
  readonly ref: string;
  /** The commit it resolved to. */
  readonly commit: string;
}

export interface DiffResult {
  readonly base: Revision;
  readonly head: Revision;
  readonly changeSet: ChangeSet;
  /** Errors at head in the files of the agents the change touches. */
  readonly errors: readonly Diagnostic[];
  readonly pathsChanged: number;
}

/** The documented JSON shape of `charter diff --format json` (see README). */
export interface DiffJson {
  readonly base: Revision;
  readonly head: Revision;
  readonly changeSet: ChangeSet;
  readonly errors: readonly DiagnosticJson[];
}

export function renderDiff(result: DiffResult, format: DiffFormat): string {
  switch (format) {
    case "json":
      return JSON.stringify(toJson(result), null, 2) + "\n";
    case "text":
      return renderText(result);
  }
}

function toJson(result: DiffResult): DiffJson {
  return { base: result.base, head: result.head, changeSet: result.changeSet, errors: result.errors.map(diagnosticJson) };
}

/**
 * One line per change, columns separated by two spaces like `charter validate`'s output, so it
 * reads well and still splits with awk: agent (or governance file), kind, risk, summary.
 */
function renderText(result: DiffResult): string {
  const { changeSet, errors } = result;
  let out = "";
  for (const change of changeSet.changes) out += `${subject(change)}  ${change.kind}  ${change.risk}  ${change.summary}\n`;
  if (errors.length > 0) {
    if (out !== "") out += "\n";
    for (const d of errors) {
      out += `${oneLine(d.file, 300)}:${d.line}:${d.column}  ${d.rule}  ${d.message}\n`;
      if (d.fix) out += `    fix: ${d.fix}\n`;
    }
  }
  for (const dir of changeSet.unclassified) {
    out += `${oneLine(posix.basename(dir), 80)}  unclassified  -  the manifest at head is invalid: its changes are classified once it is fixed\n`;
  }
  return `${out}${out === "" ? "" : "\n"}${closing(result)}\n`;
}

function subject(change: Change): string {
  return change.agent ?? oneLine(change.path, 300);
}

function closing(result: DiffResult): string {
  const { changeSet, errors } = result;
  const range = `${result.base.commit.slice(0, 12)}..${result.head.commit.slice(0, 12)}`;
  const governance = new Set(changeSet.changes.filter((c) => c.agent === undefined).map((c) => c.path)).size;
  const parts: string[] = [];
  if (changeSet.changes.length === 0) {
    parts.push(`no agent or governance changes in ${range} (${plural(result.pathsChanged, "path")} changed)`);
  } else {
    const scope = [changeSet.agents.length > 0 ? plural(changeSet.agents.length, "agent") : "", governance > 0 ? plural(governance, "governance file") : ""].filter(Boolean).join(" and ");
    parts.push(`${plural(changeSet.changes.length, "change")} to ${scope} in ${range}, highest risk ${changeSet.maxRisk}`);
  }
  if (changeSet.unclassified.length > 0) parts.push(`${plural(changeSet.unclassified.length, "agent")} unclassified`);
  if (errors.length > 0) parts.push(`${plural(errors.length, "error")} at head`);
  return parts.join("; ");
}
