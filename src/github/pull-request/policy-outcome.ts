import type { Change } from "../../change/change-set.js";
import type { Diagnostic } from "../../manifest/diagnostic.js";
import type { Decision, Evaluation, ResultNode, Status } from "../../policy/result.js";
import { type CheckConclusion, type CheckOutcome, markdownCell as cell, toAnnotation } from "./check-outcome.js";

const MAX_SUMMARY = 60_000;
const MAX_CHANGE_ROWS = 200;

const CONCLUSION: Readonly<Record<Decision, CheckConclusion>> = {
  approved: "success",
  pending: "action_required",
  blocked: "failure",
  invalid: "failure",
};

const ICON: Readonly<Record<Status, string>> = { satisfied: "✅", pending: "⏳", blocked: "⛔", skipped: "➖" };

/**
 * Renders a policy evaluation as the Charter check run: the conclusion, a title that says the
 * most important missing thing, the change set, the whole rule tree with who can give what is
 * missing, and every validation problem as an annotation.
 */
export function policyOutcome(evaluation: Evaluation, diagnostics: readonly Diagnostic[]): CheckOutcome {
  const errors = diagnostics.filter((d) => d.severity === "error");
  const emergency = evaluation.emergency.active ? "EMERGENCY — " : "";
  const title = emergency + titleFor(evaluation, errors.length);

  let summary = "";
  if (evaluation.emergency.active) {
    summary += `> [!CAUTION]\n> **EMERGENCY CHANGE.** Reduced approval requirements apply; a retro-review issue will be opened after merge.\n> Reason: ${oneLine(evaluation.emergency.reason ?? "")}\n\n`;
  }
  summary += `${ICON[evaluation.root.status]} **${oneLine(evaluation.root.summary)}**\n`;
  const missing = collectMissing(evaluation.root);
  if (missing.length > 0) summary += "\n**Still needed:**\n" + missing.map((m) => `- ${m}`).join("\n") + "\n";

  summary += "\n### What changed\n\n";
  if (evaluation.changeSet.changes.length === 0) summary += "No agent or governance changes.\n";
  else {
    summary += "| Agent | Change | Risk | Details |\n|---|---|---|---|\n";
    for (const c of evaluation.changeSet.changes.slice(0, MAX_CHANGE_ROWS)) summary += changeRow(c);
    if (evaluation.changeSet.changes.length > MAX_CHANGE_ROWS) summary += `\n…and ${evaluation.changeSet.changes.length - MAX_CHANGE_ROWS} more changes.\n`;
  }
  if (evaluation.changeSet.unclassified.length > 0) {
    summary += `\nNot classified until their manifests are valid: ${evaluation.changeSet.unclassified.map((d) => `\`${cell(d)}\``).join(", ")}.\n`;
  }

  summary += "\n### Rules\n\n" + evaluation.root.details.map((d) => `${oneLine(d)}\n\n`).join("") + renderTree(evaluation.root.children, 0);
  if (diagnostics.length > 0) {
    summary += "\n### Problems\n\n| Where | Rule | Problem | How to fix |\n|---|---|---|---|\n";
    for (const d of diagnostics.slice(0, 100)) summary += `| \`${cell(d.file)}:${d.line}:${d.column}\` | \`${d.rule}\` | ${cell(d.message)} | ${cell(d.fix)} |\n`;
    if (diagnostics.length > 100) summary += `\n…and ${diagnostics.length - 100} more, all annotated on their lines.\n`;
  }
  const source = evaluation.policy.source === "base" ? `\`${evaluation.policy.path}\` on the base branch${evaluation.policy.sha256 ? ` (sha256 ${evaluation.policy.sha256.slice(0, 12)})` : ""}` : "Charter's default policy (no `.github/charter.yml` on the base branch)";
  summary += `\n<sub>Rules from ${source}; a pull request cannot change the rules it is judged by.</sub>\n`;
  if (summary.length > MAX_SUMMARY) summary = summary.slice(0, MAX_SUMMARY) + "\n\n…summary truncated.\n";

  return { conclusion: CONCLUSION[evaluation.decision], title, summary, annotations: diagnostics.map(toAnnotation) };
}

function titleFor(evaluation: Evaluation, errors: number): string {
  switch (evaluation.decision) {
    case "invalid":
      return `${errors} problem${errors === 1 ? "" : "s"} to fix before review`;
    case "approved": {
      const agents = evaluation.changeSet.agents.length;
      return evaluation.changeSet.changes.length === 0 ? "No agent changes" : `Approved: ${agents} agent${agents === 1 ? "" : "s"} changed, every rule satisfied`;
    }
    case "blocked":
    case "pending": {
      const first = collectMissing(evaluation.root)[0] ?? "requirements missing";
      return `${evaluation.decision === "blocked" ? "Blocked" : "Waiting"}: ${first}`.slice(0, 200);
    }
  }
}

function collectMissing(node: ResultNode): string[] {
  const agent = node.name.startsWith("Approval for ") ? ` (${node.name.slice("Approval for ".length)})` : "";
  const here = node.missing.map((m) => `${m.detail.replace(/\.$/, "")}${agent}`);
  return [...(node.status === "blocked" ? here : []), ...node.children.flatMap(collectMissing), ...(node.status !== "blocked" ? here : [])];
}

function renderTree(nodes: readonly ResultNode[], depth: number): string {
  let out = "";
  const indent = "  ".repeat(depth);
  for (const n of nodes) {
    const name = depth === 0 ? `**${cell(n.name)}**` : cell(n.name);
    out += `${indent}- ${ICON[n.status]} ${name} — ${oneLine(n.summary)}\n`;
    if (n.status === "skipped") continue;
    for (const d of n.details) out += `${indent}  - ${oneLine(d)}\n`;
    for (const m of n.missing) out += `${indent}  - **Missing:** ${oneLine(m.detail)}\n`;
    out += renderTree(n.children, depth + 1);
  }
  return out;
}

function changeRow(c: Change): string {
  return `| ${c.agent ? `\`${cell(c.agent)}\`` : "governance"} | ${c.kind} | ${c.risk} | ${cell(c.summary)} |\n`;
}

function oneLine(text: string): string {
  return text.replaceAll("\n", " ").trim();
}
