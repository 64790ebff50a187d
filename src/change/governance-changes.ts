import type { Change, GovernanceChangeKind } from "./change-set.js";
import { compareChanges } from "./change-order.js";
import { oneLine } from "./display.js";
import { CATALOG_PATH } from "../trail/resource-catalog.js";

/** The approval policy, read from the base branch: changing it changes how every change is judged. */
export const POLICY_FILE = ".github/charter.yml";
/** The places GitHub reads a CODEOWNERS file from. */
export const CODEOWNERS_FILES: readonly string[] = ["CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS"];

const SUMMARY: Readonly<Record<GovernanceChangeKind, string>> = {
  "policy-changed": "approval policy changed",
  "schema-changed": "schema changed",
  "codeowners-changed": "code owners changed",
  "ci-workflow-changed": "CI workflow changed",
  "detection-changed": "detection rules or settings changed",
  "catalog-changed": "resource catalog changed",
};

/**
 * Where governed files live, as git pathspecs and GitHub history paths (a directory ends in /):
 * the agents and every path governanceKind names. `charter verify` and the app's reconciliation
 * look for direct pushes there, so a governance file missing here could be pushed unnoticed.
 */
export const GOVERNED_PATHS: readonly string[] = ["agents/", POLICY_FILE, "schemas/", ...CODEOWNERS_FILES, ".github/workflows/", ".github/actions/", "detection/", CATALOG_PATH];

/** Which governance file, if any, a repository path is. */
export function governanceKind(path: string): GovernanceChangeKind | undefined {
  if (path === POLICY_FILE) return "policy-changed";
  if (path.startsWith("schemas/")) return "schema-changed";
  if (CODEOWNERS_FILES.includes(path)) return "codeowners-changed";
  // Local actions run inside the workflows as much as the workflows' own steps do.
  if (path.startsWith(".github/workflows/") || path.startsWith(".github/actions/")) return "ci-workflow-changed";
  // Detection rules decide what is noticed at run time: weakening one blinds the monitoring control.
  if (path.startsWith("detection/")) return "detection-changed";
  // The catalog decides which events count as touching customer data: dropping a table from it
  // hides every read of that table from the auditor's questions.
  if (path === CATALOG_PATH) return "catalog-changed";
  return undefined;
}

/**
 * Changed files that decide how changes are controlled rather than what an agent does: the
 * policy, the schema manifests are checked against, who owns which paths, the CI that runs
 * the checks, the detection rules that watch agents at run time and the resource catalog that
 * says which resources hold customer data. Each is critical whatever its content, because weakening any of them weakens the
 * control itself.
 */
export function governanceChanges(changedPaths: readonly string[]): Change[] {
  const out: Change[] = [];
  for (const path of new Set(changedPaths)) {
    const kind = governanceKind(path);
    if (kind) out.push({ kind, path, before: null, after: null, risk: "critical", summary: `${SUMMARY[kind]}: ${oneLine(path, 300)}` });
  }
  return out.sort(compareChanges);
}

