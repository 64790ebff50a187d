import type { Actor, CheckRunFact, CommitFact, PullFacts, RepositoryPermission, ReviewFact, ReviewState } from "../policy/pull-facts.js";

/**
 * The fields Charter reads from GitHub's REST representations, typed structurally so that the
 * same conversion serves live API answers and a snapshot file of them (`charter evaluate`).
 */
export interface RestUser {
  readonly login: string;
  readonly type?: string | undefined;
}

export interface RestPullRequest {
  readonly number: number;
  readonly title: string;
  readonly body?: string | null | undefined;
  readonly user: RestUser | null;
  readonly head: { readonly sha: string };
  readonly base: { readonly sha: string; readonly ref?: string | undefined };
  readonly labels?: readonly { readonly name?: string | undefined }[] | undefined;
}

export interface RestReview {
  readonly id: number;
  readonly user: RestUser | null;
  readonly state: string;
  readonly commit_id?: string | null | undefined;
  readonly submitted_at?: string | null | undefined;
}

export interface RestCommit {
  readonly sha: string;
  // GitHub sends {} (no login) when it cannot link the git identity to an account.
  readonly author: Partial<RestUser> | null;
  readonly committer: Partial<RestUser> | null;
}

export interface RestCheckRun {
  readonly id: number;
  readonly name: string;
  readonly status: string;
  readonly conclusion: string | null;
  readonly completed_at?: string | null | undefined;
  readonly html_url?: string | null | undefined;
  readonly app?: { readonly slug?: string | undefined } | null | undefined;
}

export interface RestFacts {
  readonly pullRequest: RestPullRequest;
  readonly reviews: readonly RestReview[];
  readonly commits: readonly RestCommit[];
  readonly checkRuns: readonly RestCheckRun[];
  readonly teamMembers: Readonly<Record<string, readonly string[]>>;
  readonly permissions: Readonly<Record<string, RepositoryPermission>>;
}

const REVIEW_STATES: readonly ReviewState[] = ["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"];

/** GitHub's REST shapes → PullFacts. Pure: the app and `charter evaluate` share it. */
export function pullFactsFromRest(rest: RestFacts): PullFacts {
  const pr = rest.pullRequest;
  return {
    number: pr.number,
    title: pr.title,
    body: pr.body ?? "",
    author: actor(pr.user ?? { login: "ghost" }),
    headSha: pr.head.sha,
    baseSha: pr.base.sha,
    labels: (pr.labels ?? []).map((l) => l.name ?? "").filter((l) => l !== ""),
    commits: rest.commits.map((c): CommitFact => ({ sha: c.sha, author: c.author?.login ?? null, committer: c.committer?.login ?? null })),
    reviews: rest.reviews.map(
      (r): ReviewFact => ({
        id: r.id,
        user: r.user ? actor(r.user) : null,
        // An unknown state from a future API version counts as a plain comment: it grants nothing.
        state: (REVIEW_STATES as readonly string[]).includes(r.state) ? (r.state as ReviewState) : "COMMENTED",
        commitId: r.commit_id ?? null,
        submittedAt: r.submitted_at ?? null,
      }),
    ),
    checkRuns: rest.checkRuns.map(
      (r): CheckRunFact => ({ id: r.id, name: r.name, status: r.status, conclusion: r.conclusion, appSlug: r.app?.slug ?? null, completedAt: r.completed_at ?? null, url: r.html_url ?? null }),
    ),
    teamMembers: rest.teamMembers,
    permissions: rest.permissions,
  };
}

export function actor(user: RestUser): Actor {
  return { login: user.login, type: user.type === "Bot" ? "Bot" : user.type === "Organization" ? "Organization" : "User" };
}
