import type { CheckedAgent } from "../manifest/validate.js";
import { sectionContent } from "../policy/description-sections.js";
import type { Evaluation, ResultNode } from "../policy/result.js";
import { idempotencyKey } from "./ledger.js";
import { sha256 } from "./merkle.js";
import { type ChangeBody, filesRoot } from "./record.js";
import type { JsonValue, RecordedApproval, RecordedCheck, RecordedResultNode, RollbackTarget } from "../schema-types/evidence-record.generated.js";

/** The merged pull request as re-read from the API at merge time: GitHub's values, verbatim. */
export interface MergedPullRequest {
  readonly repository: { readonly id: string; readonly fullName: string };
  readonly number: number;
  readonly url: string;
  readonly title: string;
  readonly body: string;
  readonly author: string;
  readonly mergedBy: string;
  readonly mergedAt: string;
  readonly baseSha: string;
  readonly headSha: string;
  readonly mergeSha: string;
}

export interface ChangeRecordInput {
  readonly pullRequest: MergedPullRequest;
  readonly evaluation: Evaluation;
  /** The changed agents as validated at base and at head. */
  readonly base: readonly CheckedAgent[];
  readonly head: readonly CheckedAgent[];
  /** The approved content of every file of the changed agents at head, by path: the copies. */
  readonly contents: ReadonlyMap<string, Uint8Array>;
}

const ROLLBACK_SECTION = "Rollback plan";

/**
 * Freezes a merged pull request's decision into a change record body, plus the content-addressed
 * copies of every changed agent's approved files, so the evidence stands on its own even if the
 * default branch's history is rewritten later.
 */
export function changeRecordBody(input: ChangeRecordInput): { body: ChangeBody; copies: Uint8Array[] } {
  const { pullRequest: pr, evaluation } = input;
  const nodes = flatten(evaluation.root);

  const hashes: Record<string, string> = {};
  for (const agent of input.head) {
    hashes[agent.file] = agent.manifestSha256;
    for (const p of agent.prompts) hashes[p.path] = p.sha256;
  }

  const previous = new Map<string, string>();
  for (const agent of input.base) {
    previous.set(agent.file, agent.manifestSha256);
    for (const p of agent.prompts) previous.set(p.path, p.sha256);
  }
  // Rolling back means restoring each file the change touched to its previous content (or
  // deleting it when it is new): every file of the changed agents, on either side.
  const touched = [...new Set([...Object.keys(hashes), ...previous.keys()])].sort();
  const targets: RollbackTarget[] = touched.filter((path) => previous.get(path) !== hashes[path]).map((path) => ({ path, previousSha256: previous.get(path) ?? null }));

  const copies = new Map<string, Uint8Array>();
  for (const [path, bytes] of input.contents) {
    if (hashes[path] === undefined) continue;
    copies.set(Buffer.from(sha256(bytes)).toString("hex"), bytes);
  }

  // The assignment as decided: who was counted for which rule on which agent.
  const approvals: RecordedApproval[] = [];
  const seenApprovals = new Set<string>();
  for (const n of nodes) {
    for (const a of n.approvals ?? []) {
      const key = `${a.reviewer}\n${a.via}\n${a.rule}\n${a.agent ?? ""}`;
      if (seenApprovals.has(key)) continue;
      seenApprovals.add(key);
      approvals.push({ reviewer: a.reviewer, via: a.via, rule: a.rule, ...(a.agent === undefined ? {} : { agent: a.agent }), commitId: a.commitId, submittedAt: a.submittedAt });
    }
  }
  const checks: RecordedCheck[] = [];
  const seenChecks = new Set<string>();
  for (const n of nodes) {
    if (!n.check || seenChecks.has(n.check.name)) continue;
    seenChecks.add(n.check.name);
    checks.push({ ...n.check });
  }

  const body: ChangeBody = {
    idempotencyKey: idempotencyKey(pr.repository.id, pr.number, pr.mergeSha),
    repository: { ...pr.repository },
    pullRequest: { number: pr.number, url: pr.url, title: pr.title },
    author: pr.author,
    mergedBy: pr.mergedBy,
    mergedAt: pr.mergedAt,
    baseSha: pr.baseSha,
    headSha: pr.headSha,
    mergeSha: pr.mergeSha,
    changes: {
      changes: evaluation.changeSet.changes.map((c) => ({
        kind: c.kind,
        ...(c.agent === undefined ? {} : { agent: c.agent }),
        path: c.path,
        ...(c.pointer === undefined ? {} : { pointer: c.pointer }),
        before: json(c.before),
        after: json(c.after),
        risk: c.risk,
        summary: c.summary,
      })),
      agents: [...evaluation.changeSet.agents],
      unclassified: [...evaluation.changeSet.unclassified],
      maxRisk: evaluation.changeSet.maxRisk,
    },
    policy: { ...evaluation.policy },
    decision: evaluation.decision,
    result: recorded(evaluation.root),
    approvals,
    checks,
    separationOfDuties: evaluation.approvers.separationOfDuties,
    contributors: [...evaluation.approvers.contributors],
    excludedReviews: evaluation.approvers.excludedReviews.map((e) => ({ ...e })),
    rollback: { plan: sectionContent(pr.body, ROLLBACK_SECTION), targets },
    emergency: { active: evaluation.emergency.active, reason: evaluation.emergency.reason },
    files: { hashes, root: filesRoot(hashes) },
    copies: [...copies.keys()].sort(),
  };
  return { body, copies: [...copies.values()] };
}

function flatten(node: ResultNode): ResultNode[] {
  return [node, ...node.children.flatMap(flatten)];
}

function recorded(node: ResultNode): RecordedResultNode {
  return {
    name: node.name,
    status: node.status,
    summary: node.summary,
    details: [...node.details],
    missing: node.missing.map((m) => ({ what: m.what, ...(m.count === undefined ? {} : { count: m.count }), ...(m.from ? { from: [...m.from] } : {}), detail: m.detail })),
    ...(node.approvals ? { approvals: node.approvals.map((a) => ({ ...a })) } : {}),
    ...(node.check ? { check: { ...node.check } } : {}),
    children: node.children.map(recorded),
  };
}

/**
 * Manifest values as evidence: records hold only safe integers as numbers (canonical JSON is
 * hashed byte for byte, and fractions do not survive every JSON implementation), so a fraction
 * such as a temperature of 0.2 is recorded as the string "0.2".
 */
function json(value: unknown): JsonValue {
  if (value === undefined || value === null) return null;
  if (typeof value === "number") return Number.isSafeInteger(value) ? value : String(value);
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (Array.isArray(value)) return value.map(json);
  if (typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, json(v)]));
  // Parsed YAML holds nothing else; a big integer is the only conceivable extra.
  return typeof value === "bigint" ? value.toString() : null;
}
