import type { DriftFinding, Escalation, ProvisioningOperation } from "../schema-types/evidence-record.generated.js";
import type { SyncPlan, SyncResult } from "../provision/engine.js";
import { NO_AGENT } from "../provision/provider.js";

/** Text and JSON renderings of plan, sync and drift. Operations never carry secrets (see engine.ts). */
export const PROVISIONING_FORMATS = ["text", "json"] as const;
export type ProvisioningFormat = (typeof PROVISIONING_FORMATS)[number];

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;
const where = (x: { provider: string; instance?: string }): string => (x.instance === undefined ? x.provider : `${x.provider}@${x.instance}`);

function operationLine(op: ProvisioningOperation): string {
  const status = op.status === undefined ? "" : `[${op.status}] `;
  return `  ${status}${where(op)}  ${op.agent}  ${op.action}  ${op.target}${op.error === undefined ? "" : `  (${op.error})`}\n`;
}

/** "*" is a finding about every agent on a provider (a grant to PUBLIC, or to the marker role); NO_AGENT one about an identity no manifest owns. */
const agentName = (agent: string): string => (agent === "*" ? "every agent" : agent === NO_AGENT ? "no agent" : agent);

function fixLine(fix: string | undefined): string {
  return fix === undefined ? "" : `      fix: ${fix}\n`;
}

function findingLine(f: DriftFinding): string {
  const grantor = f.grantor === undefined || f.detail.includes(`by ${f.grantor}`) ? "" : ` (granted by ${f.grantor})`;
  const via = f.via === undefined ? "" : ` [via ${f.via}]`;
  return `  ${where(f)}  ${agentName(f.agent)}  ${f.kind}  ${f.detail}${grantor}${via}\n${fixLine(f.fix)}`;
}

function escalationLine(e: Escalation): string {
  return `  ${where(e)}  ${agentName(e.agent)}  ${e.reason}\n${fixLine(e.fix)}`;
}

export function renderPlan(plan: SyncPlan, commit: string, format: ProvisioningFormat): string {
  if (format === "json") return JSON.stringify({ commit, operations: plan.operations, findings: plan.findings }, null, 2) + "\n";
  let out = `plan for ${commit.slice(0, 12)}: ${plural(plan.operations.length, "operation")}, ${plural(plan.findings.length, "finding")}\n`;
  if (plan.operations.length > 0) out += "\noperations:\n" + plan.operations.map(operationLine).join("");
  if (plan.findings.length > 0) out += "\nfindings (left for a person; a sync does not change them):\n" + plan.findings.map(findingLine).join("");
  out += plan.operations.length === 0 ? "\nNothing to apply: the providers match the manifests.\n" : "\nRun charter sync to apply.\n";
  return out;
}

export function renderSync(result: SyncResult, format: ProvisioningFormat): string {
  if (format === "json") {
    const { commit, agents, plan, applied, verification, outcome } = result;
    return JSON.stringify({ commit, agents, outcome, plan, applied, verification }, null, 2) + "\n";
  }
  let out = `sync of ${result.commit.slice(0, 12)}: ${result.outcome} (${plural(result.applied.length, "operation")} applied, ${plural(result.verification.remaining.length, "operation")} remaining, ${plural(result.verification.escalations.length, "escalation")})\n`;
  if (result.applied.length > 0) out += "\napplied:\n" + result.applied.map(operationLine).join("");
  if (result.verification.remaining.length > 0) out += "\nstill pending after apply:\n" + result.verification.remaining.map(operationLine).join("");
  if (result.verification.escalations.length > 0) out += "\nescalations (need a person):\n" + result.verification.escalations.map(escalationLine).join("");
  return out;
}

export function renderDrift(findings: readonly DriftFinding[], commit: string, format: ProvisioningFormat): string {
  if (format === "json") return JSON.stringify({ commit, drift: findings.length > 0, findings }, null, 2) + "\n";
  if (findings.length === 0) return `no drift: the providers match the manifests at ${commit.slice(0, 12)}\n`;
  return `drift against ${commit.slice(0, 12)}: ${plural(findings.length, "finding")}\n` + findings.map(findingLine).join("");
}
