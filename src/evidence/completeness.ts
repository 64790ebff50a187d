import type { EvidenceRecord } from "../schema-types/evidence-record.generated.js";
import { FingerprintTable } from "./fingerprint-table.js";

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

/** What the ledger records about a merge commit: the change record's seq and decision. */
export interface RecordedMerge {
  readonly seq: number;
  readonly decision: string;
}

const DECISIONS = ["approved", "pending", "blocked", "invalid"] as const;
// A commit's entry packs the record's seq with what covers it: an exception, or a change and its decision.
const EXCEPTION = DECISIONS.length;
const KINDS = DECISIONS.length + 1;
const MAX_SEQ = Math.floor(Number.MAX_SAFE_INTEGER / KINDS) - 1;

/**
 * The commits the records cover, gathered while the records stream past: each change record's
 * merge commit (with its decision) and each exception record's commits. Held as fingerprints, so a
 * million records cost tens of megabytes, not the records themselves.
 */
export class Coverage {
  private readonly commits = new FingerprintTable();
  private firstCommit: string | null = null;

  /** A record that passed the schema (so its decision is one of DECISIONS). */
  add(record: EvidenceRecord): void {
    // A seq this large is already a gap of quadrillions that fails the ledger; clamping keeps the
    // packed number exact, so the decision read back is always the one recorded.
    const seq = Math.min(record.seq, MAX_SEQ);
    if (record.kind === "change") {
      this.firstCommit ??= record.body.mergeSha;
      const decision = DECISIONS.indexOf(record.body.decision);
      this.commits.set(record.body.mergeSha.toLowerCase(), seq * KINDS + (decision < 0 ? DECISIONS.indexOf("invalid") : decision));
    } else if (record.kind === "exception") {
      this.firstCommit ??= record.body.commits[0] ?? null;
      for (const sha of record.body.commits) {
        const key = sha.toLowerCase();
        // A merge's own change record says more than the exception that accompanies it.
        if (this.commits.get(key) === undefined) this.commits.set(key, seq * KINDS + EXCEPTION);
      }
    }
  }

  /** The first recorded merge commit, from which the audited history starts. */
  get first(): string | null {
    return this.firstCommit;
  }

  covers(sha: string): boolean {
    return this.commits.get(sha.toLowerCase()) !== undefined;
  }

  /** The change record of a merge commit, if the ledger has one. */
  merge(sha: string): RecordedMerge | undefined {
    const value = this.commits.get(sha.toLowerCase());
    if (value === undefined || value % KINDS === EXCEPTION) return undefined;
    return { seq: Math.floor(value / KINDS), decision: DECISIONS[value % KINDS] ?? "invalid" };
  }
}

/**
 * Completeness: every commit on the default branch that changed governed paths after the ledger
 * started is the merge of a recorded pull request or part of a recorded exception. A missing one
 * is a change that escaped the process, which is what an auditor reconciles for.
 *
 * `history` is the default branch's first-parent history, oldest first, from just after `since`.
 */
export function checkCompleteness(coverage: Coverage, history: readonly GovernedCommit[], since: string | null): CompletenessReport {
  return { since, checked: history.length, uncovered: history.filter((c) => !coverage.covers(c.sha)) };
}
