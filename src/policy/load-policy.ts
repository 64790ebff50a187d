import { decodeText } from "../manifest/decode.js";
import { type Diagnostic, diagnostic } from "../manifest/diagnostic.js";
import { DEFAULT_LIMITS } from "../manifest/limits.js";
import { type ParsedYaml, parseYaml } from "../manifest/parse-yaml.js";
import { validateAgainstSchema } from "../manifest/schema-validator.js";
import { validate as charterPolicyValidator } from "../schema-types/charter-policy.validator.generated.js";
import type { CharterPolicy, Requirement } from "../schema-types/charter-policy.generated.js";
import { POLICY_PATH } from "../change/governed-paths.js";
import { checkFix, checkSpec } from "./required-checks.js";

export type PolicyLoad =
  | {
      readonly ok: true;
      readonly policy: CharterPolicy;
      /** Parts of a valid policy that can never be satisfied as written (a required check with no source). */
      readonly problems: readonly Diagnostic[];
    }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

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
  const errors = validateAgainstSchema(charterPolicyValidator, file, parsed.parsed);
  if (errors.length > 0) return { ok: false, diagnostics: errors };
  const policy = parsed.parsed.value as CharterPolicy;
  return { ok: true, policy, problems: policyProblems(policy, parsed.parsed, file) };
}

/**
 * A required check must name the source that posts it. One that does not stays in the policy
 * (the rest of the policy still applies, instead of falling back to the default and losing the
 * check altogether) and is reported here and in the check run, where it blocks.
 */
function policyProblems(policy: CharterPolicy, parsed: ParsedYaml, file: string): Diagnostic[] {
  const requirements: [string, Requirement | undefined][] = [
    ...(policy.rules ?? []).map((r, i): [string, Requirement] => [`/rules/${i}/require`, r.require]),
    ["/governance/require", policy.governance?.require],
    ["/emergency/require", policy.emergency?.require],
  ];
  const out: Diagnostic[] = [];
  for (const [at, requirement] of requirements) {
    (requirement?.checks ?? []).forEach((entry, i) => {
      const spec = checkSpec(entry);
      if (spec.source) return;
      const pointer = `${at}/checks/${i}`;
      out.push(diagnostic(file, parsed.locate(pointer, "value"), "policy/check-without-source", `required check "${spec.name}" cannot be satisfied: ${spec.problem ?? "it names no source"}`, `In ${file}, ${checkFix(spec.name)}.`, { pointer }));
    });
  }
  return out;
}
