import type { AgentManifest } from "../schema-types/agent-manifest.generated.js";
import { decodeText } from "./decode.js";
import type { Diagnostic } from "./diagnostic.js";
import type { Limits } from "./limits.js";
import { lintContext } from "./lints/lint-context.js";
import { MANIFEST_LINTS } from "./lints/index.js";
import { type ParsedYaml, parseYaml } from "./parse-yaml.js";
import { validate as agentManifestValidator } from "../schema-types/agent-manifest.validator.generated.js";
import { validateAgainstSchema } from "./schema-validator.js";
import { scanForSecrets } from "./secrets.js";

export interface ManifestCheck {
  readonly diagnostics: Diagnostic[];
  /** Present when the file parsed and matched the schema (lint findings may still exist). */
  readonly manifest: AgentManifest | undefined;
  readonly parsed: ParsedYaml | undefined;
}

/**
 * Everything that can be said about one manifest from its own bytes: encoding, YAML, schema,
 * lints and secrets. Secrets are scanned even when the file is otherwise broken, because a
 * leaked key matters more than a typo.
 */
export function checkManifest(file: string, bytes: Uint8Array, limits: Limits): ManifestCheck {
  const decoded = decodeText(file, bytes, limits.maxManifestBytes, "manifest");
  if (!decoded.ok) return { diagnostics: [...decoded.diagnostics], manifest: undefined, parsed: undefined };

  const diagnostics = scanForSecrets(file, decoded.text);
  const result = parseYaml(file, decoded.text, limits);
  if (!result.ok) return { diagnostics: [...diagnostics, ...result.diagnostics], manifest: undefined, parsed: undefined };

  const schemaErrors = validateAgainstSchema(agentManifestValidator, file, result.parsed);
  diagnostics.push(...schemaErrors);

  // Until the schema passes, the value is only partly an AgentManifest: each lint declares the
  // fields it reads and runs only where those fields passed the schema.
  const value = result.parsed.value as AgentManifest;
  const broken = schemaErrors.map((d) => d.pointer);
  const ctx = lintContext(file, value, result.parsed, diagnostics);
  for (const lint of MANIFEST_LINTS) {
    if (broken.length === 0 || lint.reads.every((field) => !broken.some((p) => overlaps(p, field)))) lint.run(ctx);
  }
  const manifest = schemaErrors.length === 0 ? value : undefined;
  return { diagnostics, manifest, parsed: result.parsed };
}

/** Whether an error at `error` can affect a lint reading `field` (same node, ancestor or descendant). */
function overlaps(error: string, field: string): boolean {
  return error === field || error.startsWith(field + "/") || field.startsWith(error + "/") || error === "";
}
