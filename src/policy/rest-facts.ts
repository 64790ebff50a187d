import type { Actor, CheckRunFact, CommitFact, GitPerson, PullFacts, RepositoryPermission, ReviewFact, ReviewState } from "./pull-facts.js";

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

interface RestGitUser {
  readonly name?: string | undefined;
  readonly email?: string | undefined;
}

/** An item of pulls/list-commits. */
export interface RestCommit {
  readonly sha: string;
  // GitHub sends {} (no login) when it cannot link the git identity to an account.
  readonly author: Partial<RestUser> | null;
  readonly committer: Partial<RestUser> | null;
  readonly commit?: { readonly author?: RestGitUser | null | undefined; readonly committer?: RestGitUser | null | undefined; readonly message?: string | undefined } | undefined;
}

/** An item of checks/list-for-ref: it names the app and the suite, not the workflow. */
export interface RestCheckRun {
  readonly id: number;
  readonly name: string;
  readonly status: string;
  readonly conclusion: string | null;
  readonly completed_at?: string | null | undefined;
  readonly html_url?: string | null | undefined;
  readonly app?: { readonly id?: number | undefined; readonly slug?: string | undefined } | null | undefined;
  readonly check_suite?: { readonly id?: number | undefined } | null | undefined;
}

export interface RestFacts {
  readonly pullRequest: RestPullRequest;
  readonly reviews: readonly RestReview[];
  readonly commits: readonly CommitFact[];
  readonly checkRuns: readonly CheckRunFact[];
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
    commits: rest.commits,
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
    checkRuns: rest.checkRuns,
    teamMembers: rest.teamMembers,
    permissions: rest.permissions,
  };
}

export function actor(user: RestUser): Actor {
  return { login: user.login, type: user.type === "Bot" ? "Bot" : user.type === "Organization" ? "Organization" : "User" };
}

// A trailer as git interprets it: "Co-authored-by: Name <email>" on a line of its own.
const CO_AUTHOR = /^co-authored-by:[ \t]*(.*?)[ \t]*<([^<>\r\n]*)>[ \t]*$/gim;

/**
 * REST commits say which account the git author and committer are, but not the co-authors:
 * their trailers are read from the message and, with no account GitHub linked them to, are
 * unlinked contributors (which Charter fails closed on). GitHub's GraphQL `Commit.authors`
 * resolves them; see commitFactsFromGraph.
 */
export function commitFactsFromRest(commits: readonly RestCommit[]): CommitFact[] {
  return commits.map((c) => {
    const git = (who: Partial<RestUser> | null, raw: RestGitUser | null | undefined): GitPerson => ({ login: who?.login ?? null, name: raw?.name ?? "", email: raw?.email ?? "" });
    const coAuthors = [...(c.commit?.message ?? "").matchAll(CO_AUTHOR)].map((m): GitPerson => ({ login: null, name: m[1] ?? "", email: m[2] ?? "" }));
    return { sha: c.sha, authors: [git(c.author, c.commit?.author), ...coAuthors], committer: git(c.committer, c.commit?.committer) };
  });
}

/** REST check runs name their app and suite but not their workflow: a workflow-bound check cannot be satisfied from them. */
export function checkRunFactsFromRest(runs: readonly RestCheckRun[]): CheckRunFact[] {
  return runs.map((r) => ({
    id: r.id,
    name: r.name,
    status: r.status,
    conclusion: r.conclusion,
    completedAt: r.completed_at ?? null,
    url: r.html_url ?? null,
    app: r.app ? { id: r.app.id ?? null, slug: r.app.slug ?? null } : null,
    suiteId: r.check_suite?.id ?? null,
    workflowRun: null,
  }));
}
