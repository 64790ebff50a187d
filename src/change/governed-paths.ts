import type { GovernanceChangeKind } from "./change-set.js";

/**
 * The paths under change control, defined once: the pull request check classifies changed files
 * with them, the policy is read from POLICY_PATH, direct pushes and the reconciler look for
 * commits under them, and charter verify's completeness check asks git for them. A second list
 * that drifted from this one would be a silent gap in the control.
 */

/** Where manifests live: agents/<id>/agent.yaml, with everything the agent uses beside it. */
export const AGENTS_DIRECTORY = "agents";

/** The approval policy, read from the base branch: changing it changes how every change is judged. */
export const POLICY_PATH = ".github/charter.yml";

/** The resource catalog: which resources hold which classes of data, read from the default branch. */
export const CATALOG_PATH = ".github/charter-resources.yml";

interface GovernedPlace {
  /** A file, or a directory (everything under it). */
  readonly path: string;
  readonly directory: boolean;
  readonly kind: GovernanceChangeKind;
}

/**
 * Files that decide how changes are controlled rather than what an agent does: the policy, the
 * schema manifests are checked against, who owns which paths (the three places GitHub reads a
 * CODEOWNERS file from), the CI that runs the checks (local actions run inside the workflows as
 * much as the workflows' own steps do) and the detection rules and settings that watch agents at
 * run time (weakening one blinds the monitoring control), and the resource catalog (dropping a
 * table from it hides every read of that table from the auditor's questions).
 */
const GOVERNANCE: readonly GovernedPlace[] = [
  { path: POLICY_PATH, directory: false, kind: "policy-changed" },
  { path: "schemas", directory: true, kind: "schema-changed" },
  { path: "CODEOWNERS", directory: false, kind: "codeowners-changed" },
  { path: ".github/CODEOWNERS", directory: false, kind: "codeowners-changed" },
  { path: "docs/CODEOWNERS", directory: false, kind: "codeowners-changed" },
  { path: ".github/workflows", directory: true, kind: "ci-workflow-changed" },
  { path: ".github/actions", directory: true, kind: "ci-workflow-changed" },
  { path: "detection", directory: true, kind: "detection-changed" },
  { path: CATALOG_PATH, directory: false, kind: "catalog-changed" },
];

/** Which governance file, if any, a repository path is. */
export function governanceKind(path: string): GovernanceChangeKind | undefined {
  return GOVERNANCE.find((place) => (place.directory ? path.startsWith(`${place.path}/`) : path === place.path))?.kind;
}

/** Whether changing this path needs an approved pull request: an agent's files or a governance file. */
export function isGoverned(path: string): boolean {
  return path.startsWith(`${AGENTS_DIRECTORY}/`) || governanceKind(path) !== undefined;
}

/**
 * Every governed place, a directory or a file, as history filters take it (GitHub's
 * history(path:) and git's pathspecs, which git reads literally under GIT_LITERAL_PATHSPECS).
 */
export const GOVERNED_ROOTS: readonly string[] = [AGENTS_DIRECTORY, ...GOVERNANCE.map((place) => place.path)];

/** The same places as git pathspecs: a directory with its trailing slash, so a file of that name does not match. */
export const GOVERNED_PATHSPECS: readonly string[] = [`${AGENTS_DIRECTORY}/`, ...GOVERNANCE.map((place) => (place.directory ? `${place.path}/` : place.path))];
