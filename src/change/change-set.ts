/**
 * The semantic change set of a pull request: what really changed for each agent, and which
 * governance files changed, each with before/after values and a risk level. Approval rules
 * select on these kinds; reviewers read them instead of a YAML diff.
 */
export type Risk = "low" | "medium" | "high" | "critical";

export const RISK_ORDER: readonly Risk[] = ["low", "medium", "high", "critical"];

export type AgentChangeKind =
  | "agent-created"
  | "agent-retired"
  | "agent-reactivated"
  | "agent-deleted"
  | "model-changed"
  | "model-parameters-changed"
  | "prompt-added"
  | "prompt-removed"
  | "prompt-changed"
  | "tool-added"
  | "tool-removed"
  | "permission-added"
  | "permission-removed"
  | "permission-widened"
  | "permission-narrowed"
  | "owners-changed"
  | "credential-lifetime-raised"
  | "credential-lifetime-lowered"
  | "credential-provider-changed"
  | "data-classification-added"
  | "data-classification-removed"
  | "environment-changed"
  | "labels-changed"
  | "runtime-changed"
  | "description-only";

export type GovernanceChangeKind = "policy-changed" | "schema-changed" | "codeowners-changed" | "ci-workflow-changed" | "detection-changed" | "catalog-changed";

export type ChangeKind = AgentChangeKind | GovernanceChangeKind;

export const AGENT_CHANGE_KINDS: readonly AgentChangeKind[] = [
  "agent-created",
  "agent-retired",
  "agent-reactivated",
  "agent-deleted",
  "model-changed",
  "model-parameters-changed",
  "prompt-added",
  "prompt-removed",
  "prompt-changed",
  "tool-added",
  "tool-removed",
  "permission-added",
  "permission-removed",
  "permission-widened",
  "permission-narrowed",
  "owners-changed",
  "credential-lifetime-raised",
  "credential-lifetime-lowered",
  "credential-provider-changed",
  "data-classification-added",
  "data-classification-removed",
  "environment-changed",
  "labels-changed",
  "runtime-changed",
  "description-only",
];

export const GOVERNANCE_CHANGE_KINDS: readonly GovernanceChangeKind[] = ["policy-changed", "schema-changed", "codeowners-changed", "ci-workflow-changed", "detection-changed", "catalog-changed"];

export interface Change {
  readonly kind: ChangeKind;
  /** The agent's id; absent for governance changes. */
  readonly agent?: string;
  /** Repository-relative file the change is in (the manifest, a prompt, a governance file). */
  readonly path: string;
  /** JSON Pointer into the manifest where it applies, when it is one field. */
  readonly pointer?: string;
  /** Values before and after, JSON-compatible; null where the thing did not exist. */
  readonly before: unknown;
  readonly after: unknown;
  readonly risk: Risk;
  /** One line for people: "permission widened: redis:read:cache:customers:* → redis:read:cache:*". */
  readonly summary: string;
}

export interface ChangeSet {
  /** Every change, agents first (by id, then kind order above), then governance files. */
  readonly changes: readonly Change[];
  /** Ids of agents with at least one change. */
  readonly agents: readonly string[];
  /** Agent directories whose head manifest is invalid: their changes cannot be classified yet. */
  readonly unclassified: readonly string[];
  /** The highest risk among the changes; "low" when there are none. */
  readonly maxRisk: Risk;
}

export function maxRisk(risks: Iterable<Risk>): Risk {
  let best = 0;
  for (const r of risks) best = Math.max(best, RISK_ORDER.indexOf(r));
  return RISK_ORDER[best] ?? "low";
}
