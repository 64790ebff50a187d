/**
 * Everything the policy needs to know about a pull request, as plain data. The GitHub adapter
 * builds it from the API; `charter evaluate` builds it from a snapshot file. The evaluator
 * never fetches anything.
 */
export interface Actor {
  readonly login: string;
  readonly type: "User" | "Bot" | "Organization";
}

export type ReviewState = "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED" | "PENDING";

export interface ReviewFact {
  readonly id: number;
  readonly user: Actor | null;
  readonly state: ReviewState;
  /** The commit the review was given on. */
  readonly commitId: string | null;
  /** GitHub's timestamp, verbatim. */
  readonly submittedAt: string | null;
}

export interface CommitFact {
  readonly sha: string;
  /** GitHub logins of the commit's author and committer, when GitHub could link them. */
  readonly author: string | null;
  readonly committer: string | null;
}

export interface CheckRunFact {
  readonly id: number;
  readonly name: string;
  readonly status: string;
  readonly conclusion: string | null;
  readonly appSlug: string | null;
  readonly completedAt: string | null;
  readonly url: string | null;
}

export type RepositoryPermission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

export interface PullFacts {
  readonly number: number;
  readonly title: string;
  readonly body: string;
  readonly author: Actor;
  readonly headSha: string;
  readonly baseSha: string;
  readonly labels: readonly string[];
  readonly commits: readonly CommitFact[];
  /** All reviews, in the order GitHub lists them (oldest first). */
  readonly reviews: readonly ReviewFact[];
  /** Check runs on the head commit. */
  readonly checkRuns: readonly CheckRunFact[];
  /** Active members of the teams the evaluation asked about, among the reviewers: "org/team" → logins. */
  readonly teamMembers: Readonly<Record<string, readonly string[]>>;
  /** Reviewers' permission on the repository, where the evaluation asked for it. */
  readonly permissions: Readonly<Record<string, RepositoryPermission>>;
}
