import type { RecordedApproval } from "../evidence/evidence-record.generated.js";

/**
 * Whether an emergency change's retro-review is complete. The emergency lane let the change
 * merge with reduced approvals; afterwards every changed agent needs one approval from its own
 * owners (a listed user, or a member of a listed team), given as an `/approve` comment on the
 * retro-review issue. The pull request's author cannot approve their own emergency change.
 */
export interface RetroReviewInput {
  /** Each changed agent with its owners as recorded in the inventory: "user:login" or "team:org/slug". */
  readonly agents: ReadonlyMap<string, readonly string[]>;
  readonly author: string;
  readonly comments: readonly { readonly user: string; readonly body: string; readonly createdAt: string }[];
  /** Members of each owning team (lower-case logins), as the adapter looked them up. */
  readonly teamMembers: Readonly<Record<string, readonly string[]>>;
}

export interface RetroReviewAssessment {
  readonly complete: boolean;
  readonly approvals: RecordedApproval[];
  /** Agents that still lack an owner's approval. */
  readonly missing: string[];
}

const APPROVE = /^\s*\/(?:charter\s+)?approve\b/i;

export function isApprovalComment(body: string): boolean {
  return APPROVE.test(body.split("\n", 1)[0] ?? "");
}

/** Commenters whose approval could count: the adapter looks up team membership only for these. */
export function approvalCommenters(input: Pick<RetroReviewInput, "comments" | "author">): string[] {
  const author = input.author.toLowerCase();
  return [...new Set(input.comments.filter((c) => isApprovalComment(c.body)).map((c) => c.user.toLowerCase()))].filter((u) => u !== author).sort();
}

export function assessRetroReview(input: RetroReviewInput): RetroReviewAssessment {
  const author = input.author.toLowerCase();
  const approvals: RecordedApproval[] = [];
  const seen = new Set<string>();
  const missing: string[] = [];
  for (const [agent, owners] of [...input.agents].sort(([a], [b]) => a.localeCompare(b))) {
    let satisfied = false;
    for (const comment of input.comments) {
      const user = comment.user.toLowerCase();
      if (user === author || !isApprovalComment(comment.body)) continue;
      const via = owners.find((o) => (o.startsWith("user:") ? o.slice(5).toLowerCase() === user : (input.teamMembers[o.slice(5).toLowerCase()] ?? []).includes(user)));
      if (via === undefined) continue;
      satisfied = true;
      const key = `${user}\n${via}`;
      if (!seen.has(key)) {
        seen.add(key);
        approvals.push({ reviewer: comment.user, via: `owner of ${agent} (${via})`, commitId: null, submittedAt: comment.createdAt });
      }
      break;
    }
    if (!satisfied) missing.push(agent);
  }
  return { complete: missing.length === 0 && input.agents.size > 0, approvals, missing };
}
