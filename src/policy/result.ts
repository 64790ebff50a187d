import type { ChangeSet } from "../change/change-set.js";
import type { Exclusion } from "./reviews.js";

/** Outcome of one node of the evaluation. "skipped" nodes did not apply to this pull request. */
export type Status = "satisfied" | "pending" | "blocked" | "skipped";

export type Decision = "approved" | "pending" | "blocked" | "invalid";

/** Something still missing, and who or what can provide it. */
export interface Missing {
  readonly what: "approval" | "check" | "section" | "re-review" | "reason" | "identity";
  /** How many more, for approvals. */
  readonly count?: number;
  /** Who can give it: "@alice", "@acme/security", "anyone with maintain permission". */
  readonly from?: readonly string[];
  readonly detail: string;
}

export interface CountedApproval {
  readonly reviewer: string;
  /** Why the reviewer was eligible: "owner", "owner via @acme/support-eng", "member of @acme/security"… */
  readonly via: string;
  /** The rule the approval was counted for, and the changed agent (none for governance files). */
  readonly rule: string;
  readonly agent?: string;
  /** The commit the approval was given on, and GitHub's timestamp, verbatim. */
  readonly commitId: string | null;
  readonly submittedAt: string | null;
}

export interface CheckedRun {
  readonly name: string;
  /** The app that posted the run (github-actions for a workflow's job). */
  readonly app: string | null;
  /** The workflow the policy bound the check to, for a GitHub Actions job. */
  readonly workflow?: string;
  readonly conclusion: string | null;
  readonly completedAt: string | null;
  readonly url: string | null;
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
  /** The approvals this node counted, as structured facts for the evidence record. */
  readonly approvals?: readonly CountedApproval[];
  /** The check run this node judged, for the "testing performed" evidence. */
  readonly check?: CheckedRun;
  readonly children: readonly ResultNode[];
}

export interface Evaluation {
  readonly decision: Decision;
  /** Where the rules came from. */
  readonly policy: { readonly source: "base" | "default"; readonly path: string; readonly sha256: string | null };
  readonly emergency: { readonly requested: boolean; readonly active: boolean; readonly reason: string | null };
  readonly changeSet: ChangeSet;
  /** Who could not approve, whatever the rule, and how approvals were shared among rules. */
  readonly approvers: ApproverFacts;
  readonly root: ResultNode;
}

export interface ApproverFacts {
  /** One person's approval counts for one rule per agent (true), or wherever they are eligible. */
  readonly separationOfDuties: boolean;
  /** The author and everyone who authored, co-authored or committed the pull request's commits. */
  readonly contributors: readonly string[];
  /** Reviews that could not count whatever the rule, and why. */
  readonly excludedReviews: readonly { readonly reviewer: string; readonly reason: Exclusion }[];
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
