import type { ChangeBody, EvidenceRecord, ExceptionBody, RecordedResultNode } from "../../schema-types/evidence-record.generated.js";
import { objectPath } from "../ledger.js";
import { mdCode, mdLink, mdTable, mdText, mdUrl } from "./markdown.js";
import { agentPagePath, pagePath, README_PATH } from "./site-paths.js";

const STATUS_MARK: Readonly<Record<RecordedResultNode["status"], string>> = { satisfied: "✅", pending: "⏳", blocked: "❌", skipped: "➖" };

/**
 * The human-readable page of one record. It restates the record for reading on GitHub and
 * links to the record file itself, which is what `charter verify` checks: the page is a view,
 * the JSON is the evidence.
 */
export function renderRecordPage(record: EvidenceRecord, recordFile: string, sha256: string, repositoryUrl: string): string {
  const self = pagePath(record.seq);
  const head = [
    mdLink("← Evidence index", self, README_PATH),
    "",
    `Record ${mdLink(mdCode(recordFile), self, recordFile)} · SHA-256 ${mdCode(sha256)} · previous ${mdCode(record.prev ?? "none")} · written ${mdText(record.observedAt)}`,
    "",
  ];
  switch (record.kind) {
    case "change":
      return [`# Change ${record.seq}: ${mdText(record.body.pullRequest.title)} (#${record.body.pullRequest.number})`, "", ...head, ...changeSections(record.body, self)].join("\n");
    case "exception":
      return [`# Exception ${record.seq}: ${record.body.kind}`, "", ...head, ...exceptionSections(record.body, self, repositoryUrl)].join("\n");
    default:
      return [
        `# Record ${record.seq}: ${record.kind}`,
        "",
        ...head,
        "The record as stored (canonical JSON, shown indented):",
        "",
        "```json",
        JSON.stringify(record.body, null, 2).replace(/```/g, "`\u200b``"),
        "```",
        "",
      ].join("\n");
  }
}

function changeSections(b: ChangeBody, self: string): string[] {
  const copies = new Set(b.copies);
  const fileLink = (hash: string | null): string => (hash === null ? "_(none: the file was new)_" : copies.has(hash) ? mdLink(mdCode(hash.slice(0, 16)), self, objectPath(hash)) : mdCode(hash.slice(0, 16)));
  return [
    mdTable(
      ["Fact", "Value"],
      [
        ["Pull request", mdUrl(`#${b.pullRequest.number}`, b.pullRequest.url)],
        ["Author", mdText(b.author)],
        ["Merged by", mdText(b.mergedBy)],
        ["Merged at (GitHub)", mdText(b.mergedAt)],
        ["Decision at merge", `**${b.decision}**`],
        ["Emergency", b.emergency.active ? `yes: ${mdText(b.emergency.reason ?? "")}` : "no"],
        ["Base / head / merge", `${mdCode(b.baseSha)} / ${mdCode(b.headSha)} / ${mdCode(b.mergeSha)}`],
        ["Policy", `${b.policy.source} ${mdCode(b.policy.path)}${b.policy.sha256 ? ` ${mdCode(b.policy.sha256)}` : ""}`],
      ],
    ),
    `## What changed (highest risk: ${b.changes.maxRisk})`,
    "",
    mdTable(
      ["Agent", "Change", "Risk", "Summary"],
      b.changes.changes.map((c) => [c.agent === undefined ? "_governance_" : mdLink(mdCode(c.agent), self, agentPagePath(c.agent)), c.kind, c.risk, mdText(c.summary)]),
    ),
    "## Approval rules as evaluated at merge",
    "",
    ...resultLines(b.result, 0),
    "",
    "## Approvals",
    "",
    mdTable(
      ["Reviewer", "Counted for", "Eligible via", "Commit approved", "Submitted at (GitHub)"],
      b.approvals.map((a) => [
        mdText(a.reviewer),
        a.rule === undefined ? "" : mdText(a.agent === undefined ? a.rule : `${a.rule} (${a.agent})`),
        mdText(a.via),
        a.commitId ? mdCode(a.commitId.slice(0, 12)) : "",
        mdText(a.submittedAt ?? ""),
      ]),
    ),
    ...(b.separationOfDuties === undefined ? [] : [b.separationOfDuties ? "Separation of duties: each person counted for one rule per agent." : "The policy let one person count for several rules (separationOfDuties: false).", ""]),
    ...(b.excludedReviews === undefined || b.excludedReviews.length === 0 ? [] : [`Not counted whatever the rule: ${b.excludedReviews.map((e) => `${mdText(e.reviewer)} (${e.reason})`).join(", ")}.`, ""]),
    "## Testing (required checks)",
    "",
    mdTable(
      ["Check", "Source", "Conclusion", "Completed at", "Run"],
      b.checks.map((c) => [mdText(c.name), mdText(c.workflow ? `workflow ${c.workflow}` : (c.app ?? "")), mdText(c.conclusion ?? "none"), mdText(c.completedAt ?? ""), c.url ? mdUrl("link", c.url) : ""]),
    ),
    "## Rollback",
    "",
    b.rollback.plan ? `> ${mdText(b.rollback.plan, 2000)}` : "_No rollback section in the pull request._",
    "",
    "Restoring these files to their previous content undoes the change:",
    "",
    mdTable(["File", "Previous content"], b.rollback.targets.map((t) => [mdCode(t.path), fileLink(t.previousSha256)])),
    `## Files at the merge commit (root ${mdCode(b.files.root)})`,
    "",
    mdTable(
      ["File", "SHA-256 (linked where a copy is stored here)"],
      Object.entries(b.files.hashes).flatMap(([path, hash]) => (hash === undefined ? [] : [[mdCode(path), fileLink(hash)]])),
    ),
  ];
}

function resultLines(node: RecordedResultNode, depth: number): string[] {
  const indent = "  ".repeat(depth);
  const missing = node.missing.map((m) => `${indent}  - missing: ${mdText(m.detail)}`);
  return [`${indent}- ${STATUS_MARK[node.status]} **${mdText(node.name)}**: ${mdText(node.summary)}`, ...missing, ...node.children.flatMap((c) => resultLines(c, depth + 1))];
}

function exceptionSections(b: ExceptionBody, self: string, repositoryUrl: string): string[] {
  return [
    mdTable(
      ["Fact", "Value"],
      [
        ["Kind", b.kind === "admin-bypass" ? "merged while Charter's check was not satisfied" : "commits on the default branch that came from no pull request"],
        ["Reason", mdText(b.reason, 1000)],
        ["Pull request", b.pullRequest ? mdUrl(`#${b.pullRequest.number}`, b.pullRequest.url) : "none"],
        ["Commits", b.commits.map(mdCode).join(" ")],
        ["Agents", b.agents.map((a) => mdLink(mdCode(a), self, agentPagePath(a))).join(" ") || "none"],
        ["Issue to the owners", b.issue === null ? "none" : mdUrl(`#${b.issue}`, `${repositoryUrl}/issues/${b.issue}`)],
      ],
    ),
  ];
}
