import type { AgentManifest } from "../../schema-types/agent-manifest.generated.js";
import { type Diagnostic, diagnostic, type RuleCode, type Severity } from "../diagnostic.js";
import type { ParsedYaml } from "../parse-yaml.js";

/** What every lint sees: one schema-valid manifest, where it lives, and how to report. */
export interface LintContext {
  readonly file: string;
  readonly manifest: AgentManifest;
  report(pointer: string, rule: RuleCode, message: string, fix: string, options?: { prefer?: "key" | "value"; severity?: Severity }): void;
}

export interface Lint {
  /**
   * The parts of the manifest this lint reads, as JSON Pointers. It runs only when none of them
   * has a schema error, so a typo in one field does not hide findings about another.
   */
  readonly reads: readonly string[];
  readonly run: (ctx: LintContext) => void;
}

export function lintContext(file: string, manifest: AgentManifest, parsed: ParsedYaml, out: Diagnostic[]): LintContext {
  return {
    file,
    manifest,
    report(pointer, rule, message, fix, options = {}) {
      out.push(
        diagnostic(file, parsed.locate(pointer, options.prefer ?? "value"), rule, message, fix, {
          pointer,
          severity: options.severity ?? "error",
        }),
      );
    },
  };
}
