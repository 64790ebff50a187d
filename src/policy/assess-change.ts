import { affectedAgentDirectories, manifestCandidates } from "../change/affected-agents.js";
import type { ChangeSet } from "../change/change-set.js";
import { governanceKind } from "../change/governed-paths.js";
import { diffAgents } from "../change/semantic-diff.js";
import { isCharterError } from "../errors.js";
import { type Diagnostic, diagnostic, FILE_START } from "../manifest/diagnostic.js";
import { providerDescriptors, provisioningSettings } from "../provision/config.js";
import { checkEnforceability } from "../provision/enforceability.js";
import { DEFAULT_LIMITS } from "../manifest/limits.js";
import type { RepoReader } from "../manifest/repo-reader.js";
import { sha256Hex, validateManifests, type ValidationReport } from "../manifest/validate.js";
import type { CharterPolicy } from "../schema-types/charter-policy.generated.js";
import { DEFAULT_POLICY } from "./default-policy.js";
import { evaluatePolicy, type PolicyAgent } from "./evaluate.js";
import { parsePolicy } from "./load-policy.js";
import { POLICY_PATH } from "../change/governed-paths.js";
import type { PullFacts } from "./pull-facts.js";
import type { Evaluation } from "./result.js";

/** What a change between two commits does to agents, validated and classified. */
export interface Classification {
  readonly dirs: readonly string[];
  readonly governancePaths: readonly string[];
  readonly head: ValidationReport;
  readonly base: ValidationReport;
  readonly changeSet: ChangeSet;
  readonly agents: readonly PolicyAgent[];
}

/** Everything about a change that the repository's content decides, before any review is read. */
export interface Assessment extends Classification {
  /** The policy that judges the change: the base branch's, or the default. */
  readonly policy: CharterPolicy;
  readonly policySource: Evaluation["policy"];
  /** Problems in the head's policy file (when the change edits it) and, as warnings, in the base's. */
  readonly policyDiagnostics: readonly Diagnostic[];
  readonly headPolicyErrors: number;
}

/**
 * Checks the head's copies of governed files that a layer above the policy owns: the detection
 * rules and settings and the resource catalog (detect/check-runtime-files.ts), which the policy may not import since
 * detection reads the trail, whose records build on the evidence that freezes the policy's
 * evaluations. Its problems are validation problems of the head.
 */
export type HeadFileCheck = (head: RepoReader, changedPaths: readonly string[]) => Promise<Diagnostic[]>;

/**
 * Reads and classifies a change between two commits: the agents its paths touch, validated at
 * base and head, the semantic change set, and the policy from the base. The GitHub App and
 * `charter evaluate` both call this with their own readers and the same head file check, so they
 * cannot disagree.
 */
export async function assessChange(base: RepoReader, head: RepoReader, changedPaths: readonly string[], checkHeadFiles: HeadFileCheck): Promise<Assessment> {
  // Reads at base and head are started together so that batching readers can merge them.
  const [classification, basePolicy, headPolicy, headFiles] = await Promise.all([
    classifyChange(base, head, changedPaths),
    readPolicy(base),
    changedPaths.includes(POLICY_PATH) ? readPolicy(head) : Promise.resolve(undefined),
    checkHeadFiles(head, changedPaths),
  ]);
  // A policy the pull request proposes must be whole: its unsatisfiable parts are errors too.
  const headPolicyDiagnostics = [...(headPolicy?.diagnostics ?? []), ...(headPolicy?.problems ?? [])];
  const policy = basePolicy.policy ?? DEFAULT_POLICY;
  // Detection rule and catalog problems are validation problems of the head, annotated on their lines like a manifest's.
  const unenforceable = [...enforceabilityDiagnostics(policy, classification.head), ...headFiles];
  return {
    ...classification,
    head: unenforceable.length === 0 ? classification.head : { ...classification.head, ok: classification.head.ok && !unenforceable.some((d) => d.severity === "error"), diagnostics: [...classification.head.diagnostics, ...unenforceable] },
    policy,
    policySource: { source: basePolicy.policy ? "base" : "default", path: POLICY_PATH, sha256: basePolicy.sha256 },
    // The base's schema errors are warnings (the default policy applies instead); the problems
    // of a base policy that applies are errors, and the rules they sit in block.
    policyDiagnostics: [...headPolicyDiagnostics, ...basePolicy.diagnostics.map((d) => ({ ...d, severity: "warning" as const })), ...basePolicy.problems],
    headPolicyErrors: headPolicyDiagnostics.length,
  };
}

/**
 * The agents a change's paths touch, validated at base and head, and the semantic change set.
 * `charter diff` stops here; assessChange adds the policy.
 */
export async function classifyChange(base: RepoReader, head: RepoReader, changedPaths: readonly string[]): Promise<Classification> {
  const dirs = affectedAgentDirectories(changedPaths);
  const governancePaths = changedPaths.filter((p) => governanceKind(p) !== undefined);
  const [headRead, baseRead] = await Promise.all([validateAt(head, dirs), validateAt(base, dirs)]);
  // A directory whose manifest exists at head but yields no agent (it does not parse or match
  // the schema) cannot be classified.
  const headInvalid = headRead.present.filter((dir) => !headRead.report.agents.some((a) => a.file.startsWith(dir + "/")));
  const changeSet = diffAgents({ dirs, base: baseRead.report.agents, head: headRead.report.agents, headInvalid, changedPaths });
  return { dirs, governancePaths, head: headRead.report, base: baseRead.report, changeSet, agents: policyAgents(dirs, baseRead.report, headRead.report) };
}

/**
 * Fail closed on provisioning: when the base policy configures provisioning, a permission that
 * no configured provider can enforce is an error on the manifest line that asks for it. Without
 * a provisioning section Charter provisions nothing, and nothing is claimed to be enforced.
 */
function enforceabilityDiagnostics(policy: CharterPolicy, head: ValidationReport): Diagnostic[] {
  if (policy.provisioning === undefined) return [];
  let descriptors;
  try {
    descriptors = providerDescriptors(provisioningSettings(policy));
  } catch (error) {
    if (!isCharterError(error)) throw error;
    return [diagnostic(POLICY_PATH, FILE_START, "provisioning/invalid-config", error.message.replace(/^charter: /, ""), error.hint ?? "Fix the provisioning section of the base branch's policy.")];
  }
  return checkEnforceability(head.agents, descriptors);
}

/**
 * Evaluates an assessed change against the pull request's facts. `agentIdentities` are the
 * GitHub identities of every agent in the inventory at base and head: none of them may approve.
 */
export function decide(assessment: Assessment, facts: PullFacts, agentIdentities: readonly string[]): Evaluation {
  return evaluatePolicy({
    policy: assessment.policy,
    policySource: assessment.policySource,
    changeSet: assessment.changeSet,
    agents: assessment.agents,
    facts,
    agentIdentities,
    headPolicyErrors: assessment.headPolicyErrors,
    validationErrors: assessment.head.diagnostics.filter((d) => d.severity === "error").length,
  });
}

async function validateAt(reader: RepoReader, dirs: readonly string[]): Promise<{ report: ValidationReport; present: string[] }> {
  const candidates = dirs.flatMap(manifestCandidates);
  const found = await reader.read(candidates, DEFAULT_LIMITS.maxManifestBytes);
  const manifests = candidates.filter((p) => found.get(p)?.kind !== "missing");
  const present = dirs.filter((dir) => manifests.some((m) => m.startsWith(dir + "/")));
  return { report: await validateManifests(manifests, reader), present };
}

interface PolicyRead {
  /** Undefined when the file is missing or invalid: the default policy applies. */
  readonly policy: CharterPolicy | undefined;
  readonly sha256: string | null;
  readonly diagnostics: readonly Diagnostic[];
  /** Unsatisfiable parts of a valid policy. */
  readonly problems: readonly Diagnostic[];
}

/**
 * The policy at one commit. A missing file means the default policy. An invalid one on the base
 * branch (only a direct push could put it there) also falls back to the secure default, so the
 * fix can still be merged through the governance rule instead of locking everyone out.
 */
async function readPolicy(reader: RepoReader): Promise<PolicyRead> {
  const entry = (await reader.read([POLICY_PATH], DEFAULT_LIMITS.maxManifestBytes)).get(POLICY_PATH);
  if (!entry || entry.kind === "missing") return { policy: undefined, sha256: null, diagnostics: [], problems: [] };
  if (entry.kind !== "file") {
    const what = entry.kind === "too-large" ? "too large" : `a ${entry.kind}`;
    return { policy: undefined, sha256: null, diagnostics: [diagnostic(POLICY_PATH, FILE_START, "file/not-a-file", `the policy file is ${what}`, "Commit .github/charter.yml as a small UTF-8 YAML file.")], problems: [] };
  }
  const parsed = parsePolicy(entry.bytes);
  const sha256 = sha256Hex(entry.bytes);
  return parsed.ok ? { policy: parsed.policy, sha256, diagnostics: [], problems: parsed.problems } : { policy: undefined, sha256, diagnostics: parsed.diagnostics, problems: [] };
}

function policyAgents(dirs: readonly string[], base: ValidationReport, head: ValidationReport): PolicyAgent[] {
  const inDir = (report: ValidationReport, dir: string) => report.agents.find((a) => a.file.startsWith(dir + "/"));
  const out: PolicyAgent[] = [];
  for (const dir of dirs) {
    const b = inDir(base, dir);
    const h = inDir(head, dir);
    if (b || h) out.push({ id: h?.id ?? b?.id ?? dir, base: b?.manifest, head: h?.manifest });
  }
  return out;
}
