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

/** A person named in a commit: the git identity, and the account GitHub links it to (null when it cannot). */
export interface GitPerson {
  readonly login: string | null;
  readonly name: string;
  readonly email: string;
}

export interface CommitFact {
  readonly sha: string;
  /**
   * Who wrote the commit: the git author first, then everyone its `Co-authored-by:` trailers
   * name, as GitHub resolved them to accounts. GitHub itself counts co-authors as authors.
   */
  readonly authors: readonly GitPerson[];
  readonly committer: GitPerson | null;
}

/** The source that posted a check run, as GitHub reports it. */
export interface CheckRunFact {
  readonly id: number;
  readonly name: string;
  /** queued, in_progress, completed… in lower case. */
  readonly status: string;
  readonly conclusion: string | null;
  readonly completedAt: string | null;
  readonly url: string | null;
  /** The GitHub App that created the run (GitHub Actions is the app "github-actions"). */
  readonly app: { readonly id: number | null; readonly slug: string | null } | null;
  /** The check suite the run belongs to: GitHub groups an app's runs on a commit into suites. */
  readonly suiteId: number | null;
  /** For a run in a GitHub Actions suite: the workflow run of that suite, and the file it ran. */
  readonly workflowRun: { readonly id: number | null; readonly path: string | null; readonly event: string | null } | null;
  /**
   * For a run in a GitHub Actions suite whose workflow a required check names: whether the run is
   * one of that workflow run's jobs. A step with the checks permission can create runs through
   * the API, and GitHub files them under whichever Actions suite it likes; those are not jobs.
   * Undefined when nobody looked (no required check names its workflow).
   */
  readonly isJob?: boolean;
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
  /** Every commit of the pull request. */
  readonly commits: readonly CommitFact[];
  /** All reviews, in the order GitHub lists them (oldest first). */
  readonly reviews: readonly ReviewFact[];
  /** Check runs on the head commit, every attempt of each, with the suite each belongs to. */
  readonly checkRuns: readonly CheckRunFact[];
  /** Active members of the teams the evaluation asked about, among the reviewers: "org/team" → logins. */
  readonly teamMembers: Readonly<Record<string, readonly string[]>>;
  /** Reviewers' permission on the repository, where the evaluation asked for it. */
  readonly permissions: Readonly<Record<string, RepositoryPermission>>;
}
