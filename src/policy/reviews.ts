import type { Contributors } from "./contributors.js";
import type { Actor, PullFacts, ReviewFact } from "./pull-facts.js";

/** Why a reviewer's review can never count, whatever the rule. */
export type Exclusion = "author" | "contributor" | "bot" | "agent";

export interface ReviewerState {
  readonly login: string;
  readonly state: "approved" | "changes-requested" | "dismissed";
  readonly commitId: string | null;
  readonly submittedAt: string | null;
  /** Given on an older commit than the head. */
  readonly stale: boolean;
  readonly exclusion: Exclusion | undefined;
}

/** Bots by account type, and app accounts by their `[bot]` login (a review's type is not always sent). */
export function isBot(user: Actor): boolean {
  return user.type === "Bot" || user.login.toLowerCase().endsWith("[bot]");
}

/**
 * Each reviewer's standing review: their latest approval, change request or dismissal. A
 * later plain comment does not withdraw an approval (GitHub treats it the same way). Separation
 * of duties: the author, everyone who authored, co-authored or committed a commit of the pull
 * request, bots and every agent's own account are marked excluded, so no rule can count them.
 * Logins compare case-insensitively, as GitHub's do.
 */
export function standingReviews(facts: PullFacts, agentAccounts: ReadonlySet<string>, contributors: Contributors): ReviewerState[] {
  const agents = new Set([...agentAccounts].map((a) => a.toLowerCase()));
  const latest = new Map<string, { review: ReviewFact; user: Actor }>();
  for (const review of facts.reviews) {
    if (!review.user || (review.state !== "APPROVED" && review.state !== "CHANGES_REQUESTED" && review.state !== "DISMISSED")) continue;
    latest.set(review.user.login.toLowerCase(), { review, user: review.user });
  }
  const out: ReviewerState[] = [];
  for (const [key, { review, user }] of latest) {
    let exclusion: Exclusion | undefined;
    if (key === facts.author.login.toLowerCase()) exclusion = "author";
    else if (agents.has(key)) exclusion = "agent";
    else if (isBot(user)) exclusion = "bot";
    else if (contributors.logins.has(key)) exclusion = "contributor";
    out.push({
      login: user.login,
      state: review.state === "APPROVED" ? "approved" : review.state === "CHANGES_REQUESTED" ? "changes-requested" : "dismissed",
      commitId: review.commitId,
      submittedAt: review.submittedAt,
      stale: review.commitId !== facts.headSha,
      exclusion,
    });
  }
  return out.sort((a, b) => (a.login < b.login ? -1 : a.login > b.login ? 1 : 0));
}

export const EXCLUSION_TEXT: Readonly<Record<Exclusion, string>> = {
  author: "they are the author",
  contributor: "they authored, co-authored or committed commits in this pull request",
  bot: "the account is a bot",
  agent: "the account is an agent's own",
};
