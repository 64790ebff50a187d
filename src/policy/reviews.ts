import type { Actor, PullFacts, ReviewFact } from "./pull-facts.js";

/** Why a reviewer's review can never count, whatever the rule. */
export type Exclusion = "author" | "pusher" | "bot" | "agent";

export interface ReviewerState {
  readonly login: string;
  readonly state: "approved" | "changes-requested" | "dismissed";
  readonly commitId: string | null;
  readonly submittedAt: string | null;
  /** Given on an older commit than the head. */
  readonly stale: boolean;
  readonly exclusion: Exclusion | undefined;
}

/**
 * Each reviewer's standing review: their latest approval, change request or dismissal. A
 * later plain comment does not withdraw an approval (GitHub treats it the same way). Separation
 * of duties: the author, anyone whose commits are in the pull request, bots and the agents'
 * own accounts are marked excluded, so no rule can count them.
 */
export function standingReviews(facts: PullFacts, agentAccounts: ReadonlySet<string>): ReviewerState[] {
  const pushers = new Set<string>();
  for (const c of facts.commits) {
    if (c.author) pushers.add(c.author.toLowerCase());
    if (c.committer && c.committer.toLowerCase() !== "web-flow") pushers.add(c.committer.toLowerCase());
  }
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
    else if (user.type === "Bot" || key.endsWith("[bot]")) exclusion = "bot";
    else if (pushers.has(key)) exclusion = "pusher";
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
  pusher: "they pushed commits to this pull request",
  bot: "the account is a bot",
  agent: "the account is an agent's own",
};
