import type { Change, GovernanceChangeKind } from "./change-set.js";
import { compareChanges } from "./change-order.js";
import { oneLine } from "./display.js";
import { governanceKind } from "./governed-paths.js";

const SUMMARY: Readonly<Record<GovernanceChangeKind, string>> = {
  "policy-changed": "approval policy changed",
  "schema-changed": "schema changed",
  "codeowners-changed": "code owners changed",
  "ci-workflow-changed": "CI workflow changed",
  "detection-changed": "detection rules or settings changed",
  "catalog-changed": "resource catalog changed",
};

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

