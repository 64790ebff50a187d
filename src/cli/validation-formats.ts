import type { Diagnostic } from "../manifest/diagnostic.js";
import type { ValidationReport } from "../manifest/validate.js";

export const VALIDATION_FORMATS = ["text", "json", "github"] as const;
export type ValidationFormat = (typeof VALIDATION_FORMATS)[number];

/** The documented JSON shape of `charter validate --format json` (see README). */
export interface ValidationJson {
  readonly ok: boolean;
  readonly agentsChecked: number;
  readonly filesChecked: number;
  readonly errors: readonly DiagnosticJson[];
  readonly warnings: readonly DiagnosticJson[];
}

/** A diagnostic as the JSON formats print it: its severity is the list it is in. */
export type DiagnosticJson = Omit<Diagnostic, "severity">;

export function renderValidation(report: ValidationReport, format: ValidationFormat): string {
  switch (format) {
    case "json":
      return JSON.stringify(toJson(report), null, 2) + "\n";
    case "github":
      return renderGithub(report);
    case "text":
      return renderText(report);
  }
}

/** A diagnostic as the JSON formats print it: its severity is the list it is in. */
export function diagnosticJson({ severity: _severity, ...rest }: Diagnostic): DiagnosticJson {
  return rest;
}

function toJson(report: ValidationReport): ValidationJson {
  return {
    ok: report.ok,
    agentsChecked: report.agents.length,
    filesChecked: report.filesChecked,
    errors: report.diagnostics.filter((d) => d.severity === "error").map(diagnosticJson),
    warnings: report.diagnostics.filter((d) => d.severity === "warning").map(diagnosticJson),
  };
}

function renderText(report: ValidationReport): string {
  let out = "";
  for (const d of report.diagnostics) {
    out += `${d.file}:${d.line}:${d.column}  ${d.rule}  ${d.severity === "warning" ? "warning: " : ""}${d.message}\n`;
    if (d.fix) out += `    fix: ${d.fix}\n`;
  }
  const errors = report.diagnostics.filter((d) => d.severity === "error").length;
  const warnings = report.diagnostics.length - errors;
  const files = new Set(report.diagnostics.map((d) => d.file)).size;
  const counted = `${report.agents.length} agent${report.agents.length === 1 ? "" : "s"}, ${report.filesChecked} file${report.filesChecked === 1 ? "" : "s"} checked`;
  if (errors === 0) {
    out += `${report.diagnostics.length > 0 ? "\n" : ""}ok: ${counted}${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : ""}\n`;
  } else {
    out += `\nfailed: ${errors} error${errors === 1 ? "" : "s"} in ${files} file${files === 1 ? "" : "s"} (${counted})\n`;
  }
  return out;
}

/** GitHub Actions workflow commands: one ::error per diagnostic, shown as annotations on the PR. */
function renderGithub(report: ValidationReport): string {
  let out = "";
  for (const d of report.diagnostics) {
    const props = [
      `file=${escapeProperty(d.file)}`,
      `line=${d.line}`,
      `col=${d.column}`,
      `endLine=${d.endLine}`,
      `endColumn=${d.endColumn}`,
      `title=${escapeProperty(`Charter ${d.rule}`)}`,
    ].join(",");
    out += `::${d.severity} ${props}::${escapeData(`${d.message}. ${d.fix}`)}\n`;
  }
  return out;
}

function escapeData(text: string): string {
  return text.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
}

function escapeProperty(text: string): string {
  return escapeData(text).replaceAll(":", "%3A").replaceAll(",", "%2C");
}
