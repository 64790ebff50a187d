import type { ChangeSet } from "../change/change-set.js";

/** Outcome of one node of the evaluation. "skipped" nodes did not apply to this pull request. */
export type Status = "satisfied" | "pending" | "blocked" | "skipped";

export type Decision = "approved" | "pending" | "blocked" | "invalid";

/** Something still missing, and who or what can provide it. */
export interface Missing {
  readonly what: "approval" | "check" | "section" | "re-review" | "reason";
  /** How many more, for approvals. */
  readonly count?: number;
  /** Who can give it: "@alice", "@acme/security", "anyone with maintain permission". */
  readonly from?: readonly string[];
  readonly detail: string;
}

/**
 * A node of the result tree. The check run, the CLI and the evidence record all render this
 * one tree, so what a reviewer reads is exactly what was decided.
 */
export interface ResultNode {
  readonly name: string;
  readonly status: Status;
  /** One sentence: why this status. */
  readonly summary: string;
  /** Supporting facts: counted approvals, ignored reviews and why. */
  readonly details: readonly string[];
  readonly missing: readonly Missing[];
  readonly children: readonly ResultNode[];
}

export interface Evaluation {
  readonly decision: Decision;
  /** Where the rules came from. */
  readonly policy: { readonly source: "base" | "default"; readonly path: string; readonly sha256: string | null };
  readonly emergency: { readonly requested: boolean; readonly active: boolean; readonly reason: string | null };
  readonly changeSet: ChangeSet;
  readonly root: ResultNode;
}

const ORDER: readonly Status[] = ["skipped", "satisfied", "pending", "blocked"];

/** The worst status among children: blocked beats pending beats satisfied. */
export function combine(statuses: Iterable<Status>): Status {
  let worst = 0;
  let any = false;
  for (const s of statuses) {
    any = true;
    worst = Math.max(worst, ORDER.indexOf(s));
  }
  if (!any) return "skipped";
  const result = ORDER[worst] ?? "satisfied";
  return result === "skipped" ? "skipped" : result;
}
