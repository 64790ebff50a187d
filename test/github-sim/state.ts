// The simulator's in-memory model of GitHub. Git objects and refs are not here: they live in
// real repositories on disk (git-store.ts); this holds everything GitHub keeps beside git.

export type AccountType = "User" | "Bot" | "Organization";
export type RepoPermission = "admin" | "maintain" | "write" | "triage" | "read";
export type PermissionLevel = "read" | "write" | "admin";
export type ReviewState = "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED";
export type CheckStatus = "queued" | "in_progress" | "completed" | "waiting" | "requested" | "pending";
export type CheckConclusion =
  | "success"
  | "failure"
  | "neutral"
  | "cancelled"
  | "skipped"
  | "timed_out"
  | "action_required"
  | "stale";

export interface Account {
  readonly id: number;
  readonly nodeId: string;
  readonly login: string;
  readonly type: AccountType;
  name: string | null;
  email: string | null;
  readonly createdAt: string;
}

export interface Team {
  readonly id: number;
  readonly nodeId: string;
  readonly org: string;
  readonly slug: string;
  name: string;
  /** login → team role. */
  readonly members: Map<string, "member" | "maintainer">;
}

export interface Organization {
  readonly account: Account;
  /** login → organisation role. */
  readonly members: Map<string, "admin" | "member">;
  /** slug → team. */
  readonly teams: Map<string, Team>;
}

export interface App {
  readonly id: number;
  readonly nodeId: string;
  readonly slug: string;
  readonly name: string;
  readonly owner: Account;
  /** The `<slug>[bot]` account the app acts as with an installation token. */
  readonly bot: Account;
  readonly createdAt: string;
}

export interface Installation {
  readonly id: number;
  readonly account: Account;
  readonly permissions: Record<string, PermissionLevel>;
  readonly events: string[];
  readonly createdAt: string;
}

export interface Label {
  readonly id: number;
  readonly nodeId: string;
  readonly name: string;
  color: string;
  description: string | null;
  readonly default: boolean;
}

export interface Repository {
  readonly id: number;
  readonly nodeId: string;
  readonly owner: Account;
  readonly name: string;
  readonly fullName: string;
  readonly defaultBranch: string;
  readonly private: boolean;
  description: string | null;
  readonly createdAt: string;
  updatedAt: string;
  pushedAt: string;
  /** The installation that covers this repository, if the app is installed on it. */
  installationId: number | null;
  /** login → explicit collaborator permission. */
  readonly collaborators: Map<string, RepoPermission>;
  /** lower-case name → label. */
  readonly labels: Map<string, Label>;
  /** Issues and pull requests share one number sequence, as on GitHub. */
  nextNumber: number;
  /** Classic branch protection by branch name: only the parts Charter reads. */
  readonly branchProtection: Map<string, BranchProtection>;
  /** Repository rulesets, each targeting exact branch names. */
  readonly rulesets: Ruleset[];
}

export interface BranchProtection {
  /** Status checks required before merging, each with the app that must post it (null: any source). */
  readonly requiredChecks: readonly { readonly context: string; readonly appId: number | null }[];
}

export interface Ruleset {
  readonly id: number;
  readonly branches: readonly string[];
  readonly rules: readonly { readonly type: string; readonly parameters?: Readonly<Record<string, unknown>> }[];
}

export interface IssueComment {
  readonly id: number;
  readonly nodeId: string;
  readonly author: Account;
  body: string;
  readonly createdAt: string;
  updatedAt: string;
  /** Set when an installation token wrote it, so `performed_via_github_app` can be rendered. */
  readonly viaApp: boolean;
}

export interface Issue {
  readonly id: number;
  readonly nodeId: string;
  readonly repo: Repository;
  readonly number: number;
  title: string;
  body: string | null;
  readonly author: Account;
  state: "open" | "closed";
  stateReason: "completed" | "not_planned" | "reopened" | null;
  /** Label names, in the order they were added. */
  labels: string[];
  readonly createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  closedBy: Account | null;
  locked: boolean;
  readonly comments: IssueComment[];
  /** Present when this issue is the conversation of a pull request. */
  pullRequest: PullRequest | null;
}

export interface PullRequest {
  readonly id: number;
  readonly nodeId: string;
  /** Title, body, author, labels, state and comments live on the issue, as on GitHub. */
  readonly issue: Issue;
  readonly headRef: string;
  headSha: string;
  readonly baseRef: string;
  /** The base branch tip GitHub last compared against: set on open, push and merge. */
  baseSha: string;
  draft: boolean;
  merged: { at: string; by: Account; commitSha: string } | null;
  readonly reviews: Review[];
}

export interface Review {
  readonly id: number;
  readonly nodeId: string;
  readonly pull: PullRequest;
  readonly user: Account;
  readonly body: string;
  state: ReviewState;
  readonly commitId: string;
  readonly submittedAt: string;
}

export interface Annotation {
  readonly path: string;
  readonly start_line: number;
  readonly end_line: number;
  readonly start_column?: number;
  readonly end_column?: number;
  readonly annotation_level: "notice" | "warning" | "failure";
  readonly message: string;
  readonly title?: string;
  readonly raw_details?: string;
}

export interface CheckSuite {
  readonly id: number;
  readonly nodeId: string;
  readonly repo: Repository;
  /** The app whose runs the suite groups: GitHub keeps one suite per app and commit, and one per workflow run for GitHub Actions. */
  readonly app: App;
  readonly headSha: string;
  readonly headBranch: string | null;
  readonly createdAt: string;
  updatedAt: string;
  /** Set for a GitHub Actions suite: the workflow run it belongs to. */
  workflowRun: WorkflowRun | null;
}

/** A run of a GitHub Actions workflow file on a commit; its jobs are check runs in its suite. */
export interface WorkflowRun {
  readonly id: number;
  readonly nodeId: string;
  readonly repo: Repository;
  readonly suite: CheckSuite;
  /** The workflow file, e.g. .github/workflows/evals.yml. */
  readonly path: string;
  readonly event: string;
  readonly headSha: string;
  readonly runNumber: number;
  /** The check run ids of each attempt's jobs, the first attempt first; a re-run adds an attempt. */
  readonly attempts: number[][];
}

export interface CheckRun {
  readonly id: number;
  readonly nodeId: string;
  readonly repo: Repository;
  readonly suite: CheckSuite;
  readonly headSha: string;
  name: string;
  status: CheckStatus;
  conclusion: CheckConclusion | null;
  startedAt: string;
  completedAt: string | null;
  externalId: string | null;
  detailsUrl: string | null;
  output: {
    title: string | null;
    summary: string | null;
    text: string | null;
    /** Accumulated across create and every update, as GitHub does. */
    annotations: Annotation[];
  };
  actions: { label: string; description: string; identifier: string }[];
}

/** GitHub Actions' app id on github.com. */
const GITHUB_ACTIONS_APP_ID = 15368;

/** GitHub formats every timestamp as ISO 8601 in UTC with second precision: 2024-05-01T12:00:00Z. */
export function githubTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** Legacy-style global node id: base64 of "<kind-number>:<Type><id>", which is what GitHub used for years. */
function nodeIdFor(type: string, id: number): string {
  return Buffer.from(`0${type.length}:${type}${id}`).toString("base64");
}

/** Owns ids, lookups and the clock. Every lookup by name is case-insensitive, as on GitHub. */
export class SimState {
  private nextId = 1000;
  readonly accounts = new Map<string, Account>();
  readonly organizations = new Map<string, Organization>();
  readonly installations = new Map<number, Installation>();
  readonly repositories = new Map<string, Repository>();
  readonly issues = new Map<string, Issue>();
  readonly checkRuns = new Map<number, CheckRun>();
  readonly checkSuites = new Map<number, CheckSuite>();
  readonly workflowRuns = new Map<number, WorkflowRun>();
  readonly reviews = new Map<number, Review>();
  /** The app under test: the one that holds installations and tokens. */
  readonly app: App;
  /** Other GitHub Apps that post check runs (CI services, GitHub Actions), by lower-case slug. */
  readonly otherApps = new Map<string, App>();

  constructor(
    private readonly clock: () => Date,
    appSlug: string,
  ) {
    const owner = this.ensureAccount("charter-sim-owner", "Organization");
    const id = this.allocateId();
    const createdAt = this.now();
    const bot = this.addAccount(`${appSlug}[bot]`, "Bot");
    this.app = { id, nodeId: nodeIdFor("App", id), slug: appSlug, name: appSlug, owner, bot, createdAt };
  }

  now(): string {
    return githubTimestamp(this.clock());
  }

  nowDate(): Date {
    return this.clock();
  }

  allocateId(): number {
    this.nextId += 1;
    // GitHub Actions' real app id is kept for it.
    if (this.nextId === GITHUB_ACTIONS_APP_ID) this.nextId += 1;
    return this.nextId;
  }

  /**
   * Another GitHub App (a CI service), created on first mention. "github-actions" is GitHub
   * Actions itself, with its real id: the app every workflow's check runs are posted as.
   */
  ensureApp(slug: string): App {
    const key = slug.toLowerCase();
    const known = key === this.app.slug.toLowerCase() ? this.app : this.otherApps.get(key);
    if (known) return known;
    const id = key === "github-actions" ? GITHUB_ACTIONS_APP_ID : this.allocateId();
    const owner = this.ensureAccount(key === "github-actions" ? "github" : `${slug}-owner`, "Organization");
    const bot = this.ensureAccount(`${slug}[bot]`, "Bot");
    const app: App = { id, nodeId: nodeIdFor("App", id), slug, name: key === "github-actions" ? "GitHub Actions" : slug, owner, bot, createdAt: this.now() };
    this.otherApps.set(key, app);
    return app;
  }

  nodeId(type: string, id: number): string {
    return nodeIdFor(type, id);
  }

  addAccount(login: string, type: AccountType, details: { name?: string; email?: string } = {}): Account {
    const key = login.toLowerCase();
    if (this.accounts.has(key)) throw new Error(`github-sim: account ${login} already exists`);
    const id = this.allocateId();
    const account: Account = {
      id,
      nodeId: nodeIdFor(type, id),
      login,
      type,
      name: details.name ?? null,
      email: details.email ?? null,
      createdAt: this.now(),
    };
    this.accounts.set(key, account);
    if (type === "Organization") {
      this.organizations.set(key, { account, members: new Map(), teams: new Map() });
    }
    return account;
  }

  /** Scenario helpers name people by login; they come into existence on first mention. */
  ensureAccount(login: string, type: AccountType = "User"): Account {
    return this.accounts.get(login.toLowerCase()) ?? this.addAccount(login, type);
  }

  findAccount(login: string): Account | undefined {
    return this.accounts.get(login.toLowerCase());
  }

  findOrganization(login: string): Organization | undefined {
    return this.organizations.get(login.toLowerCase());
  }

  findRepository(owner: string, name: string): Repository | undefined {
    return this.repositories.get(`${owner}/${name}`.toLowerCase());
  }

  findIssue(repo: Repository, number: number): Issue | undefined {
    return this.issues.get(`${repo.id}#${number}`);
  }

  addIssue(issue: Issue): void {
    this.issues.set(`${issue.repo.id}#${issue.number}`, issue);
  }

  findPullRequest(repo: Repository, number: number): PullRequest | undefined {
    return this.findIssue(repo, number)?.pullRequest ?? undefined;
  }

  pullRequestsOf(repo: Repository): PullRequest[] {
    const pulls: PullRequest[] = [];
    for (const issue of this.issues.values()) {
      if (issue.repo === repo && issue.pullRequest) pulls.push(issue.pullRequest);
    }
    return pulls;
  }

  /** Labels that do not exist yet are created on first use, as GitHub does for writers. */
  ensureLabel(repo: Repository, name: string, color = "ededed"): Label {
    const key = name.toLowerCase();
    const existing = repo.labels.get(key);
    if (existing) return existing;
    const id = this.allocateId();
    const label: Label = { id, nodeId: nodeIdFor("Label", id), name, color, description: null, default: false };
    repo.labels.set(key, label);
    return label;
  }

  createIssue(repo: Repository, fields: { author: Account; title: string; body: string | null; labels?: readonly string[] }): Issue {
    const id = this.allocateId();
    const now = this.now();
    const issue: Issue = {
      id,
      nodeId: nodeIdFor("Issue", id),
      repo,
      number: repo.nextNumber,
      title: fields.title,
      body: fields.body,
      author: fields.author,
      state: "open",
      stateReason: null,
      labels: (fields.labels ?? []).map((name) => this.ensureLabel(repo, name).name),
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      closedBy: null,
      locked: false,
      comments: [],
      pullRequest: null,
    };
    repo.nextNumber += 1;
    this.addIssue(issue);
    return issue;
  }

  addComment(issue: Issue, author: Account, body: string, viaApp: boolean): IssueComment {
    const id = this.allocateId();
    const now = this.now();
    const comment: IssueComment = { id, nodeId: nodeIdFor("IssueComment", id), author, body, createdAt: now, updatedAt: now, viaApp };
    issue.comments.push(comment);
    issue.updatedAt = now;
    return comment;
  }

  installationFor(account: Account): Installation | undefined {
    for (const installation of this.installations.values()) {
      if (installation.account === account) return installation;
    }
    return undefined;
  }

  /**
   * The legacy permission GitHub reports for `login` on `repo`: explicit collaborators first,
   * then the owner, then organisation admins, then organisation members at the default base
   * permission (read). Undefined means the user does not exist.
   */
  permissionOf(repo: Repository, login: string): RepoPermission | "none" | undefined {
    const account = this.findAccount(login);
    if (!account) return undefined;
    const explicit = repo.collaborators.get(account.login.toLowerCase());
    if (explicit) return explicit;
    if (repo.owner === account) return "admin";
    const org = this.findOrganization(repo.owner.login);
    const role = org?.members.get(account.login.toLowerCase());
    if (role === "admin") return "admin";
    if (role === "member") return "read";
    return "none";
  }
}
