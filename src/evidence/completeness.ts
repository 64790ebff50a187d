import type { EvidenceRecord } from "./evidence-record.generated.js";

export interface GovernedCommit {
  readonly sha: string;
  /** Governed paths the commit changed (relative to its first parent). */
  readonly paths: readonly string[];
}

export interface CompletenessReport {
  /** The commit the audit starts after: the parent of the first recorded merge. */
  readonly since: string | null;
  readonly checked: number;
  /** Governed commits on the default branch that no change or exception record covers, oldest first. */
  readonly uncovered: readonly GovernedCommit[];
}

/**
 * Completeness: every commit on the default branch that changed governed paths after the ledger
 * started is the merge of a recorded pull request or part of a recorded exception. A missing one
 * is a change that escaped the process, which is what an auditor reconciles for.
 *
 * `history` is the default branch's first-parent history, oldest first, from just after `since`.
 */
export function checkCompleteness(records: readonly EvidenceRecord[], history: readonly GovernedCommit[], since: string | null): CompletenessReport {
  const covered = new Set<string>();
  for (const record of records) {
    if (record.kind === "change") covered.add(record.body.mergeSha.toLowerCase());
    if (record.kind === "exception") for (const sha of record.body.commits) covered.add(sha.toLowerCase());
  }
  return { since, checked: history.length, uncovered: history.filter((c) => !covered.has(c.sha.toLowerCase())) };
}

/** The first recorded merge commit, from which the audited history starts. */
export function firstRecordedCommit(records: readonly EvidenceRecord[]): string | null {
  for (const record of records) {
    if (record.kind === "change") return record.body.mergeSha;
    if (record.kind === "exception") return record.body.commits[0] ?? null;
  }
  return null;
}
