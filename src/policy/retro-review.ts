import type { RecordedApproval } from "../schema-types/evidence-record.generated.js";
import { isBot } from "./reviews.js";

/**
 * Whether an emergency change's retro-review is complete. The emergency lane let the change
 * merge with reduced approvals; afterwards every changed agent needs one approval from its own
 * owners (a listed user, or a member of a listed team), given as an `/approve` comment on the
 * retro-review issue. The same separation of duties as before a merge holds: the pull request's
 * author, everyone who authored, co-authored or committed its commits, bots and every agent's
 * own account cannot approve it.
 */
export interface RetroReviewInput {
  /** Each changed agent with its owners as recorded in the inventory: "user:login" or "team:org/slug". */
  readonly agents: ReadonlyMap<string, readonly string[]>;
  readonly author: string;
  /** The change's contributors as its record froze them (absent in older records: then only the author). */
  readonly contributors: readonly string[];
  /** Every agent identity of the inventory. */
  readonly agentIdentities: readonly string[];
  readonly comments: readonly RetroComment[];
  /** Members of each owning team (lower-case logins), as the adapter looked them up. */
  readonly teamMembers: Readonly<Record<string, readonly string[]>>;
}

export interface RetroComment {
  readonly user: string;
  /** The commenter's account type, as GitHub reports it ("User", "Bot"…). */
  readonly userType: string;
  readonly body: string;
  readonly createdAt: string;
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

/** Whether a comment's author may never close a retro-review, whoever owns what. */
function excluded(input: Pick<RetroReviewInput, "author" | "contributors" | "agentIdentities">): (comment: RetroComment) => boolean {
  const never = new Set([input.author, ...input.contributors, ...input.agentIdentities].map((l) => l.toLowerCase()));
  return (comment) => never.has(comment.user.toLowerCase()) || isBot({ login: comment.user, type: comment.userType === "Bot" ? "Bot" : "User" });
}

/** Commenters whose approval could count: the adapter looks up team membership only for these. */
export function approvalCommenters(input: Pick<RetroReviewInput, "comments" | "author" | "contributors" | "agentIdentities">): string[] {
  const never = excluded(input);
  return [...new Set(input.comments.filter((c) => isApprovalComment(c.body) && !never(c)).map((c) => c.user.toLowerCase()))].sort();
}

export function assessRetroReview(input: RetroReviewInput): RetroReviewAssessment {
  const never = excluded(input);
  const approvals: RecordedApproval[] = [];
  const seen = new Set<string>();
  const missing: string[] = [];
  for (const [agent, owners] of [...input.agents].sort(([a], [b]) => a.localeCompare(b))) {
    let satisfied = false;
    for (const comment of input.comments) {
      const user = comment.user.toLowerCase();
      if (never(comment) || !isApprovalComment(comment.body)) continue;
      const via = owners.find((o) => (o.startsWith("user:") ? o.slice(5).toLowerCase() === user : (input.teamMembers[o.slice(5).toLowerCase()] ?? []).includes(user)));
      if (via === undefined) continue;
      satisfied = true;
      const key = `${user}\n${via}`;
      if (!seen.has(key)) {
        seen.add(key);
        approvals.push({ reviewer: comment.user, via: `owner of ${agent} (${via})`, rule: "Retro-review", agent, commitId: null, submittedAt: comment.createdAt });
      }
      break;
    }
    if (!satisfied) missing.push(agent);
  }
  return { complete: missing.length === 0 && input.agents.size > 0, approvals, missing };
}
