import type { EvidenceRecord } from "../schema-types/evidence-record.generated.js";

/**
 * One row of the population an auditor samples from: every change and exception record, with
 * the facts a sample is judged on. The same rows feed `charter evidence export` and the CSV
 * files on the evidence branch, so both always agree.
 *
 * Every column means one thing on every row; a fact a record does not carry is empty ("" or
 * null), never another fact in its place.
 */
export interface PopulationRow {
  /** The record's position in the ledger. */
  readonly seq: number;
  /** `change` or `exception`. */
  readonly kind: string;
  /** The pull request's number; null for a direct push. */
  readonly pullRequest: number | null;
  /** The pull request's title; empty without a pull request. */
  readonly title: string;
  /** The pull request's web address; empty without a pull request. */
  readonly url: string;
  /** Who opened the pull request (change records). */
  readonly author: string;
  /** Who merged it (change records). */
  readonly mergedBy: string;
  /** GitHub's merge time, verbatim (change records). */
  readonly mergedAt: string;
  /** The writer's clock when the record was written (every record). */
  readonly recordedAt: string;
  /** The decision at merge: approved, pending, blocked or invalid (change records). */
  readonly decision: string;
  /** admin-bypass or direct-push (exception records). */
  readonly exception: string;
  /** Why it is an exception, in one sentence (exception records). */
  readonly reason: string;
  /** Whether the change went through the emergency lane (false for an exception). */
  readonly emergency: boolean;
  /** The agents the record concerns, space-separated. */
  readonly agents: string;
  /** The kinds of change, distinct, space-separated (change records). */
  readonly changes: string;
  /** The highest risk of the change (change records). */
  readonly maxRisk: string;
  /** The counted approvers, space-separated (change records). */
  readonly approvers: string;
  /** The required checks, each as "name (conclusion)", separated by "; " (names may hold spaces) (change records). */
  readonly checks: string;
  /** The commits the record covers: a change's merge commit, an exception's commits. */
  readonly commits: string;
  /** The record's file on the evidence branch, and its SHA-256. */
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
  "recordedAt",
  "decision",
  "exception",
  "reason",
  "emergency",
  "agents",
  "changes",
  "maxRisk",
  "approvers",
  "checks",
  "commits",
  "path",
  "sha256",
];

/** Whether a record belongs to the population (changes and exceptions). */
export function inPopulation(record: { readonly kind: EvidenceRecord["kind"] }): boolean {
  return record.kind === "change" || record.kind === "exception";
}

/**
 * The time a record is filed under, for the monthly files and --since/--until: GitHub's merge
 * time for a change, the recording time for an exception (which has no merge time of its own).
 */
export function populationTime(record: Pick<EvidenceRecord, "kind" | "observedAt"> & { readonly body: unknown }): string {
  return record.kind === "change" ? (record.body as { readonly mergedAt: string }).mergedAt : record.observedAt;
}

export function populationRow(record: EvidenceRecord, path: string, sha256: string): PopulationRow {
  const none = { pullRequest: null, title: "", url: "", author: "", mergedBy: "", mergedAt: "", decision: "", exception: "", reason: "", emergency: false, agents: "", changes: "", maxRisk: "", approvers: "", checks: "", commits: "" };
  const base = { ...none, seq: record.seq, kind: record.kind, recordedAt: record.observedAt, path, sha256 };
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
      checks: b.checks.map((c) => `${c.name} (${c.conclusion ?? "none"})`).join("; "),
      commits: b.mergeSha,
    };
  }
  if (record.kind !== "exception") return base;
  const b = record.body;
  return {
    ...base,
    pullRequest: b.pullRequest?.number ?? null,
    title: b.pullRequest?.title ?? "",
    url: b.pullRequest?.url ?? "",
    exception: b.kind,
    reason: b.reason,
    agents: b.agents.join(" "),
    commits: b.commits.join(" "),
  };
}
