import { decodeText } from "../manifest/decode.js";
import type { Diagnostic } from "../manifest/diagnostic.js";
import { DEFAULT_LIMITS } from "../manifest/limits.js";
import { parseYaml } from "../manifest/parse-yaml.js";
import { validateAgainstSchema } from "../manifest/schema-validator.js";
import type { CharterPolicy } from "./charter-policy.generated.js";

export const POLICY_PATH = ".github/charter.yml";

export type PolicyLoad = { readonly ok: true; readonly policy: CharterPolicy } | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/**
 * Parses and validates a policy file with the same hostile-input defences and positioned
 * errors as manifests. Loading (finding the bytes at the base branch) is the adapter's job;
 * this only judges them.
 */
export function parsePolicy(bytes: Uint8Array, file = POLICY_PATH): PolicyLoad {
  const decoded = decodeText(file, bytes, DEFAULT_LIMITS.maxManifestBytes, "manifest");
  if (!decoded.ok) return { ok: false, diagnostics: decoded.diagnostics };
  const parsed = parseYaml(file, decoded.text, DEFAULT_LIMITS);
  if (!parsed.ok) return { ok: false, diagnostics: parsed.diagnostics };
  const errors = validateAgainstSchema("charter-policy", file, parsed.parsed);
  if (errors.length > 0) return { ok: false, diagnostics: errors };
  return { ok: true, policy: parsed.parsed.value as CharterPolicy };
}
