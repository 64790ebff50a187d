import type { EvidenceRecord } from "./evidence-record.generated.js";

/**
 * One row of the population an auditor samples from: every change and exception record, with
 * the facts a sample is judged on. The same rows feed `charter evidence export` and the CSV
 * files on the evidence branch, so both always agree.
 */
export interface PopulationRow {
  readonly seq: number;
  readonly kind: string;
  readonly pullRequest: number | null;
  readonly title: string;
  readonly url: string;
  readonly author: string;
  readonly mergedBy: string;
  /** GitHub's merge time for a change; the writer's clock for an exception. */
  readonly mergedAt: string;
  readonly decision: string;
  readonly emergency: boolean;
  readonly agents: string;
  readonly changes: string;
  readonly maxRisk: string;
  readonly approvers: string;
  readonly checks: string;
  readonly path: string;
  readonly sha256: string;
}

export const POPULATION_COLUMNS: readonly (keyof PopulationRow)[] = [
  "seq",
  "kind",
  "pullRequest",
  "title",
  "url",
  "author",
  "mergedBy",
  "mergedAt",
  "decision",
  "emergency",
  "agents",
  "changes",
  "maxRisk",
  "approvers",
  "checks",
  "path",
  "sha256",
];

/** Whether a record belongs to the population (changes and exceptions). */
export function inPopulation(record: { readonly kind: EvidenceRecord["kind"] }): boolean {
  return record.kind === "change" || record.kind === "exception";
}

export function populationRow(record: EvidenceRecord, path: string, sha256: string): PopulationRow {
  const base = { seq: record.seq, kind: record.kind, path, sha256 };
  if (record.kind === "change") {
    const b = record.body;
    return {
      ...base,
      pullRequest: b.pullRequest.number,
      title: b.pullRequest.title,
      url: b.pullRequest.url,
      author: b.author,
      mergedBy: b.mergedBy,
      mergedAt: b.mergedAt,
      decision: b.decision,
      emergency: b.emergency.active,
      agents: b.changes.agents.join(" "),
      changes: [...new Set(b.changes.changes.map((c) => c.kind))].join(" "),
      maxRisk: b.changes.maxRisk,
      approvers: b.approvals.map((a) => a.reviewer).join(" "),
      checks: b.checks.map((c) => `${c.name}:${c.conclusion ?? "none"}`).join(" "),
    };
  }
  const b = record.kind === "exception" ? record.body : undefined;
  return {
    ...base,
    pullRequest: b?.pullRequest?.number ?? null,
    title: b?.reason ?? "",
    url: b?.pullRequest?.url ?? "",
    author: "",
    mergedBy: "",
    mergedAt: record.observedAt,
    decision: b ? `exception:${b.kind}` : record.kind,
    emergency: false,
    agents: b?.agents.join(" ") ?? "",
    changes: "",
    maxRisk: "",
    approvers: "",
    checks: b?.commits.join(" ") ?? "",
  };
}
