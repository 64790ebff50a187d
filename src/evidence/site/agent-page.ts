import type { EvidenceRecord } from "../../schema-types/evidence-record.generated.js";
import type { NewRecord } from "../record.js";
import { mdCode, mdLink, mdText } from "./markdown.js";
import { agentPagePath, INVENTORY_MD_PATH, pagePath, README_PATH } from "./site-paths.js";

const HEADER = ["| Record | Time | Kind | What happened | Outcome |", "| --- | --- | --- | --- | --- |"];

/**
 * An agent's history page: one row per record that concerns it, oldest first. Appending adds
 * rows to the page as it stands, so an append never reads the agent's older records.
 */
export function appendAgentHistory(existing: string | null, agentId: string, records: readonly EvidenceRecord[]): string {
  const self = agentPagePath(agentId);
  const page =
    existing ??
    [
      `# Agent ${mdCode(agentId)}`,
      "",
      `${mdLink("← Evidence index", self, README_PATH)} · ${mdLink("Current inventory", self, INVENTORY_MD_PATH)}`,
      "",
      "Every record of the evidence log that concerns this agent, oldest first.",
      "",
      ...HEADER,
      "",
    ].join("\n");
  const rows = records.filter((r) => agentsOf(r).includes(agentId)).map((r) => row(r, agentId, self));
  return rows.length === 0 ? page : `${page.replace(/\n*$/, "\n")}${rows.join("\n")}\n`;
}

function row(record: EvidenceRecord, agentId: string, self: string): string {
  const link = mdLink(String(record.seq), self, pagePath(record.seq));
  switch (record.kind) {
    case "change": {
      const mine = record.body.changes.changes.filter((c) => c.agent === agentId);
      const what = mine.map((c) => mdText(c.summary, 120)).join("; ") || "—";
      const approvers = record.body.approvals.map((a) => mdText(a.reviewer)).join(", ");
      return `| ${link} | ${mdText(record.body.mergedAt)} | change (#${record.body.pullRequest.number}) | ${what} | ${record.body.decision}${record.body.emergency.active ? ", emergency" : ""}${approvers ? `; approved by ${approvers}` : ""} |`;
    }
    case "exception":
      return `| ${link} | ${mdText(record.observedAt)} | exception | ${mdText(record.body.reason, 160)} | ${record.body.kind} |`;
    case "provisioning":
      return `| ${link} | ${mdText(record.observedAt)} | provisioning | at ${mdCode(record.body.commit.slice(0, 12))} | ${record.body.outcome} |`;
    case "drift": {
      const findings = record.body.findings.filter((f) => f.agent === agentId).map((f) => mdText(`${f.kind}: ${f.detail}`, 120));
      return `| ${link} | ${mdText(record.observedAt)} | drift | ${findings.join("; ")} | drift |`;
    }
    default:
      return `| ${link} | ${mdText(record.observedAt)} | ${record.kind} | | |`;
  }
}

/** The agents a record concerns. */
export function agentsOf(record: NewRecord): string[] {
  switch (record.kind) {
    case "change":
      return record.body.changes.agents;
    case "exception":
      return record.body.agents;
    case "provisioning":
      return record.body.agents;
    case "drift":
      return [...new Set(record.body.findings.map((f) => f.agent))];
    default:
      return [];
  }
}
