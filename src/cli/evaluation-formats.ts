import type { Diagnostic } from "../manifest/diagnostic.js";
import type { Evaluation, ResultNode, Status } from "../policy/result.js";

export const EVALUATION_FORMATS = ["text", "json"] as const;
export type EvaluationFormat = (typeof EVALUATION_FORMATS)[number];

/** The documented JSON shape of `charter evaluate --format json` (see docs/policy.md). */
export interface EvaluationJson {
  readonly decision: Evaluation["decision"];
  readonly base: string;
  readonly head: string;
  readonly policy: Evaluation["policy"];
  readonly emergency: Evaluation["emergency"];
  readonly changeSet: Evaluation["changeSet"];
  /** Separation of duties, the contributors, and the reviews that could not count and why. */
  readonly approvers: Evaluation["approvers"];
  readonly rules: ResultNode;
  readonly errors: readonly Diagnostic[];
}

const MARK: Readonly<Record<Status, string>> = { satisfied: "[ok]", pending: "[waiting]", blocked: "[blocked]", skipped: "[-]" };

export function renderEvaluation(evaluation: Evaluation, commits: { base: string; head: string }, errors: readonly Diagnostic[], format: EvaluationFormat): string {
  if (format === "json") {
    const json: EvaluationJson = { decision: evaluation.decision, ...commits, policy: evaluation.policy, emergency: evaluation.emergency, changeSet: evaluation.changeSet, approvers: evaluation.approvers, rules: evaluation.root, errors };
    return JSON.stringify(json, null, 2) + "\n";
  }
  let out = `decision: ${evaluation.decision}${evaluation.emergency.active ? " (EMERGENCY)" : ""}\n`;
  out += `policy: ${evaluation.policy.source === "base" ? `${evaluation.policy.path} at ${commits.base.slice(0, 12)}` : "Charter's default policy"}\n`;
  out += `${evaluation.root.summary}\n`;
  for (const d of evaluation.root.details) out += `${d}\n`;
  if (evaluation.changeSet.changes.length > 0) {
    out += "\nchanges:\n";
    for (const c of evaluation.changeSet.changes) out += `  ${c.agent ?? "governance"}  ${c.kind}  ${c.risk}  ${c.summary}\n`;
  }
  for (const d of errors) out += `${d.file}:${d.line}:${d.column}  ${d.rule}  ${d.message}\n`;
  out += "\nrules:\n" + tree(evaluation.root.children, 1);
  return out;
}

function tree(nodes: readonly ResultNode[], depth: number): string {
  let out = "";
  const pad = "  ".repeat(depth);
  for (const n of nodes) {
    out += `${pad}${MARK[n.status]} ${n.name}: ${n.summary}\n`;
    if (n.status === "skipped") continue;
    for (const d of n.details) out += `${pad}    ${d}\n`;
    for (const m of n.missing) out += `${pad}    missing: ${m.detail}\n`;
    out += tree(n.children, depth + 1);
  }
  return out;
}
