// The simulator's shared services and domain operations: the state, the git repositories, auth,
// rate limits, faults and webhooks, plus the operations that REST, GraphQL and the scenario API
// all perform the same way (commit to a branch, react to a ref change, derive pull request facts).

import { AppAuth } from "./auth.js";
import { FaultInjector } from "./faults.js";
import type { GraphqlCostLimit } from "./graphql-cost-limit.js";
import type { FileChange, GitIdentity, GitRepository } from "./git-store.js";
import { GitStore } from "./git-store.js";
import { integration, type Urls } from "./render/account.js";
import { noreplyEmail } from "./render/git.js";
import type { PullFacts } from "./render/pull-request.js";
import { RateLimiter } from "./rate-limit.js";
import {
  SimState,
  type Account,
  type App,
  type CheckSuite,
  type Installation,
  type PermissionLevel,
  type PullRequest,
  type Repository,
  type WorkflowRun,
} from "./state.js";
import { pullRequestPayload, pushPayload, type Payload, type PayloadSource, type PushedCommit } from "./webhook-payloads.js";
import { WebhookDispatcher, type DeliveryResult } from "./webhooks.js";

/** What a new installation may do unless a test says otherwise: everything Charter asks for. */
const DEFAULT_PERMISSIONS: Readonly<Record<string, PermissionLevel>> = {
  actions: "read",
  checks: "write",
  contents: "write",
  issues: "write",
  members: "read",
  metadata: "read",
  pull_requests: "write",
  statuses: "write",
};

const DEFAULT_EVENTS = [
  "check_run",
  "check_suite",
  "issue_comment",
  "issues",
  "pull_request",
  "pull_request_review",
  "push",
];

/** Git's well-known empty tree: diffing a root commit against it lists every file as added. */
const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/** GitHub lists at most 20 commits in a push payload. */
const PUSH_COMMIT_LIMIT = 20;

export interface CoreOptions {
  readonly appSlug: string;
  readonly rateLimit: number;
  readonly now: () => Date;
  readonly urls: Urls;
  readonly webhookSecret: string;
  readonly webhookTimeoutMs: number;
  readonly gitRoot: string;
}

export interface CreateRepositoryOptions {
  readonly owner: string;
  readonly name: string;
  readonly files?: Readonly<Record<string, FileChange>>;
  readonly defaultBranch?: string;
  readonly private?: boolean;
  readonly description?: string;
  /** False leaves the app uninstalled on this repository; default true. */
  readonly installed?: boolean;
  /** Permissions of the installation created for the owner, if none exists yet. */
  readonly permissions?: Readonly<Record<string, PermissionLevel>>;
}

export class SimCore implements PayloadSource {
  readonly state: SimState;
  readonly auth: AppAuth;
  readonly faults = new FaultInjector();
  /** When set, GraphQL queries with more aliases than it allows fail as GitHub's costly queries do. */
  graphqlCostLimit: GraphqlCostLimit | null = null;
  /** GraphQL queries answered with the cost limit's failure. */
  graphqlCostRefusals = 0;
  readonly webhooks: WebhookDispatcher;
  readonly rateLimiter: RateLimiter;
  readonly gitStore: GitStore;
  readonly urls: Urls;
  /** Errors thrown by work the simulator did in the background (webhooks after API writes). */
  readonly backgroundErrors: unknown[] = [];
  private readonly gits = new Map<number, GitRepository>();
  private readonly locks = new Map<number, Promise<unknown>>();
  private readonly background = new Set<Promise<unknown>>();

  constructor(options: CoreOptions) {
    this.state = new SimState(options.now, options.appSlug);
    this.auth = new AppAuth(this.state.app.id, options.now);
    this.webhooks = new WebhookDispatcher(options.webhookSecret, this.state.app.id, this.faults, options.webhookTimeoutMs);
    this.rateLimiter = new RateLimiter(options.rateLimit, options.now);
    this.gitStore = new GitStore(options.gitRoot);
    this.urls = options.urls;
  }

  git(repo: Repository): GitRepository {
    const git = this.gits.get(repo.id);
    if (!git) throw new Error(`github-sim: repository ${repo.fullName} has no git store`);
    return git;
  }

  /** How the simulator signs commits for a person: their name and GitHub noreply address. */
  identity(account: Account, date: Date = this.state.nowDate()): GitIdentity {
    return { name: account.name ?? account.login, email: account.email ?? noreplyEmail(account), date };
  }

  /** GitHub itself commits web merges and API commits as "GitHub <noreply@github.com>". */
  githubIdentity(date: Date = this.state.nowDate()): GitIdentity {
    return { name: "GitHub", email: "noreply@github.com", date };
  }

  ensureInstallation(account: Account, permissions: Readonly<Record<string, PermissionLevel>> = DEFAULT_PERMISSIONS): Installation {
    const existing = this.state.installationFor(account);
    if (existing) return existing;
    const id = this.state.allocateId();
    const installation: Installation = {
      id,
      account,
      permissions: { ...permissions },
      events: [...DEFAULT_EVENTS],
      createdAt: this.state.now(),
    };
    this.state.installations.set(id, installation);
    return installation;
  }

  async createRepository(options: CreateRepositoryOptions): Promise<Repository> {
    if (this.state.findRepository(options.owner, options.name)) {
      throw new Error(`github-sim: repository ${options.owner}/${options.name} already exists`);
    }
    const owner = this.state.findAccount(options.owner) ?? this.state.addAccount(options.owner, "Organization");
    const installation = options.installed === false ? null : this.ensureInstallation(owner, options.permissions);
    const id = this.state.allocateId();
    const now = this.state.now();
    const defaultBranch = options.defaultBranch ?? "main";
    const repo: Repository = {
      id,
      nodeId: this.state.nodeId("Repository", id),
      owner,
      name: options.name,
      fullName: `${owner.login}/${options.name}`,
      defaultBranch,
      private: options.private ?? true,
      description: options.description ?? null,
      createdAt: now,
      updatedAt: now,
      pushedAt: now,
      installationId: installation?.id ?? null,
      collaborators: new Map(),
      labels: new Map(),
      nextNumber: 1,
      branchProtection: new Map(),
      rulesets: [],
    };
    const git = await this.gitStore.init(owner.login, options.name, defaultBranch);
    this.gits.set(id, git);
    this.state.repositories.set(repo.fullName.toLowerCase(), repo);
    const files = options.files ?? { "README.md": `# ${options.name}\n` };
    const author = owner.type === "Organization" ? this.githubIdentity() : this.identity(owner);
    const sha = await git.commitFiles({ parent: null, files, message: "Initial commit", author });
    await git.forceRef(`refs/heads/${defaultBranch}`, sha);
    return repo;
  }

  /** Serialises ref-changing work per repository, so compare-and-swap checks and updates do not interleave. */
  async lock<T>(repo: Repository, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(repo.id) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.locks.set(
      repo.id,
      next.catch(() => undefined),
    );
    return next;
  }

  branchHead(repo: Repository, branch: string): Promise<string | null> {
    return this.git(repo).readRef(`refs/heads/${branch}`);
  }

  /**
   * Commits `files` on top of `branch` (created from `from` when missing) with a compare-and-swap
   * on the branch: `expectedHead` undefined means "whatever it is now".
   */
  async commitToBranch(
    repo: Repository,
    options: {
      branch: string;
      files: Readonly<Record<string, FileChange>> | ReadonlyMap<string, FileChange>;
      message: string;
      author: GitIdentity;
      committer?: GitIdentity;
      expectedHead?: string;
      from?: string;
    },
  ): Promise<{ before: string | null; after: string } | { stale: string | null }> {
    return this.lock(repo, async () => {
      const git = this.git(repo);
      const ref = `refs/heads/${options.branch}`;
      const before = await git.readRef(ref);
      if (options.expectedHead !== undefined && before !== options.expectedHead) return { stale: before };
      const parent = before ?? options.from ?? (await this.branchHead(repo, repo.defaultBranch));
      const after = await git.commitFiles({
        parent,
        files: options.files,
        message: options.message,
        author: options.author,
        ...(options.committer ? { committer: options.committer } : {}),
      });
      if (!(await git.updateRef(ref, after, before))) return { stale: await git.readRef(ref) };
      return { before, after };
    });
  }

  /**
   * What GitHub does after a branch moved: a push event, and for open pull requests whose head
   * is that branch, the new head and a synchronize event.
   */
  async branchMoved(
    repo: Repository,
    branch: string,
    before: string | null,
    after: string | null,
    pusher: Account,
  ): Promise<DeliveryResult[]> {
    const git = this.git(repo);
    const zero = "0".repeat(40);
    repo.pushedAt = this.state.now();
    let commits: string[] = [];
    let forced = false;
    if (after && before) {
      forced = !(await git.isAncestor(before, after));
      commits = await git.commitsBetween(before, after);
    } else if (after) {
      const base = branch === repo.defaultBranch ? null : await this.branchHead(repo, repo.defaultBranch);
      commits = base ? await git.commitsBetween(base, after) : [after];
    }
    const pushed: PushedCommit[] = [];
    for (const sha of commits.slice(-PUSH_COMMIT_LIMIT)) {
      const commit = await git.readCommit(sha);
      if (!commit) continue;
      const changes = await git.diff(commit.parents[0] ?? EMPTY_TREE, sha);
      pushed.push({
        commit,
        added: changes.filter((c) => c.status === "added").map((c) => c.path),
        removed: changes.filter((c) => c.status === "removed").map((c) => c.path),
        modified: changes.filter((c) => c.status !== "added" && c.status !== "removed").map((c) => c.path),
      });
    }
    const results = [
      await this.webhooks.deliver(
        "push",
        pushPayload(this, repo, {
          ref: `refs/heads/${branch}`,
          before: before ?? zero,
          after: after ?? zero,
          created: before === null,
          deleted: after === null,
          forced,
          commits: pushed,
          pusher,
        }),
      ),
    ];
    if (after) {
      for (const pull of this.state.pullRequestsOf(repo)) {
        if (pull.headRef !== branch || pull.issue.state !== "open" || pull.headSha === after) continue;
        const previous = pull.headSha;
        pull.headSha = after;
        pull.issue.updatedAt = this.state.now();
        results.push(
          await this.webhooks.deliver(
            "pull_request",
            await pullRequestPayload(this, pull, "synchronize", pusher, { before: previous, after }),
          ),
        );
      }
    }
    return results;
  }

  /** Webhooks GitHub sends after an API write go out without holding up the API answer. */
  inBackground(work: () => Promise<unknown>): void {
    const running = work().catch((error: unknown) => {
      this.backgroundErrors.push(error);
    });
    this.background.add(running);
    void running.finally(() => this.background.delete(running));
  }

  /** Resolves once every background delivery has finished. */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  deliver(event: string, payload: Payload): Promise<DeliveryResult> {
    return this.webhooks.deliver(event, payload);
  }

  /** An open pull request compares against its base branch as it is now; a closed one as it was. */
  async refreshBase(pull: PullRequest): Promise<void> {
    if (pull.issue.state !== "open") return;
    const head = await this.branchHead(pull.issue.repo, pull.baseRef);
    // The pull request may have been merged while the head was read: a merged pull request keeps
    // the base it was merged onto, or its merge commit would no longer count as its own.
    // (TypeScript narrows state across the await; at run time the merge can change it.)
    const state = pull.issue.state as PullRequest["issue"]["state"];
    if (state === "open" && head !== null) pull.baseSha = head;
  }

  async pullFacts(pull: PullRequest, options: { mergeable: boolean }): Promise<PullFacts> {
    const git = this.git(pull.issue.repo);
    await this.refreshBase(pull);
    const mergeBase = (await git.mergeBase(pull.baseSha, pull.headSha)) ?? pull.baseSha;
    const [commits, diff] = await Promise.all([
      git.commitsBetween(pull.baseSha, pull.headSha),
      git.diff(mergeBase, pull.headSha),
    ]);
    const mergeable =
      options.mergeable && pull.issue.state === "open"
        ? (await git.mergeTrees(pull.baseSha, pull.headSha)) !== null
        : null;
    return {
      commits: commits.length,
      additions: diff.reduce((sum, entry) => sum + entry.additions, 0),
      deletions: diff.reduce((sum, entry) => sum + entry.deletions, 0),
      changedFiles: diff.length,
      mergeable,
    };
  }

  appJson(repo: Repository): Record<string, unknown> {
    const installation = repo.installationId === null ? undefined : this.state.installations.get(repo.installationId);
    return integration(this.urls, this.state.app, installation?.permissions ?? {}, installation?.events ?? []);
  }

  /** Open pull requests whose head is `sha`: the ones GitHub lists on a check run. */
  pullsForCheck(repo: Repository, sha: string): PullRequest[] {
    return this.state
      .pullRequestsOf(repo)
      .filter((pull) => pull.headSha === sha && pull.issue.state === "open");
  }

  /** The app JSON of whichever app a suite belongs to, as REST answers and webhooks embed it. */
  suiteAppJson(suite: CheckSuite): Record<string, unknown> {
    return suite.app === this.state.app ? this.appJson(suite.repo) : integration(this.urls, suite.app, {}, []);
  }

  /** One suite per app and head commit (the app under test by default), created with the first check run on it. */
  suiteFor(repo: Repository, sha: string, app: App = this.state.app): CheckSuite {
    for (const suite of this.state.checkSuites.values()) {
      if (suite.repo === repo && suite.headSha === sha && suite.app === app && suite.workflowRun === null) return suite;
    }
    return this.newSuite(repo, sha, app);
  }

  /**
   * The run of a workflow file on a commit, with a GitHub Actions suite of its own: GitHub
   * Actions keeps one suite per workflow run.
   */
  workflowRunFor(repo: Repository, sha: string, path: string, event: string): WorkflowRun {
    for (const run of this.state.workflowRuns.values()) {
      if (run.repo === repo && run.headSha === sha && run.path === path && run.event === event) return run;
    }
    const suite = this.newSuite(repo, sha, this.state.ensureApp("github-actions"));
    const id = this.state.allocateId();
    const runNumber = [...this.state.workflowRuns.values()].filter((r) => r.repo === repo && r.path === path).length + 1;
    const run: WorkflowRun = { id, nodeId: this.state.nodeId("WorkflowRun", id), repo, suite, path, event, headSha: sha, runNumber, attempts: [[]] };
    suite.workflowRun = run;
    this.state.workflowRuns.set(id, run);
    return run;
  }

  private newSuite(repo: Repository, sha: string, app: App): CheckSuite {
    const id = this.state.allocateId();
    const pull = this.pullsForCheck(repo, sha)[0];
    const suite: CheckSuite = {
      id,
      nodeId: this.state.nodeId("CheckSuite", id),
      repo,
      app,
      headSha: sha,
      headBranch: pull?.headRef ?? null,
      createdAt: this.state.now(),
      updatedAt: this.state.now(),
      workflowRun: null,
    };
    this.state.checkSuites.set(id, suite);
    return suite;
  }

  async close(): Promise<void> {
    await this.idle();
    await this.gitStore.close();
  }
}
