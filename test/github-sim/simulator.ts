// The public face of the GitHub simulator: lifecycle, the fetch the app under test talks
// through, counters and rejections, and a small scenario API that acts like people on GitHub
// (open a pull request, push, review, merge) and delivers the webhooks GitHub would.

import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimCore, type CreateRepositoryOptions } from "./core.js";
import type { FaultInjector } from "./faults.js";
import { checkedCostLimit, type GraphqlCostLimit } from "./graphql-cost-limit.js";
import type { FileChange } from "./git-store.js";
import { announceMerge, mergePullRequest, type MergeMethod } from "./merge.js";
import { RequestPipeline, type Rejection } from "./request-pipeline.js";
import type {
  Account,
  AccountType,
  CheckRun,
  CheckSuite,
  Installation,
  Issue,
  IssueComment,
  PermissionLevel,
  PullRequest,
  RepoPermission,
  Repository,
  Ruleset,
  Review,
  ReviewState,
  Team,
} from "./state.js";
import {
  checkRunPayload,
  checkSuitePayload,
  issueCommentPayload,
  issuesPayload,
  pullRequestPayload,
  pullRequestReviewPayload,
} from "./webhook-payloads.js";
import { GITHUB_DELIVERY_TIMEOUT_MS, type DeliveryResult, type WebhookDelivery } from "./webhooks.js";

export interface SimulatorOptions {
  /** The app's slug; its bot user is `<slug>[bot]`. Default "charter-sim". */
  readonly appSlug?: string;
  /** Default: random per simulator. */
  readonly webhookSecret?: string;
  /** Primary rate limit per installation and hour. Default 5000, GitHub's minimum for installations. */
  readonly rateLimit?: number;
  /** Clock for every timestamp; default the real time. */
  readonly now?: () => Date;
  /** REST root rendered into URLs. Default https://api.github.com */
  readonly apiUrl?: string;
  /** Web root rendered into URLs. Default https://github.com */
  readonly webUrl?: string;
  /**
   * How long a delivery waits for the app's answer; GitHub gives up after 10 s (the default) and
   * records a timeout while the app may still be working. Raise it for slow debugging sessions.
   */
  readonly webhookTimeoutMs?: number;
  /** Leave the git repositories on disk after close(), to inspect them. */
  readonly keepTempDirs?: boolean;
}

export type Files = Readonly<Record<string, FileChange>>;

export interface OpenPullRequestOptions {
  readonly author: string;
  readonly branch: string;
  readonly title: string;
  readonly body?: string;
  /** Path → content; null deletes the path. Committed on `branch`, created from `base`. */
  readonly files: Files;
  readonly base?: string;
  readonly draft?: boolean;
  readonly labels?: readonly string[];
  /** The commit message: trailers such as `Co-authored-by: Name <email>` go here. */
  readonly message?: string;
  /** The commit's git author, when it is not the pull request author's own identity (GitHub links it by email, or not at all). */
  readonly gitAuthor?: { readonly name: string; readonly email: string };
}

export interface PullRequestOpened {
  readonly pull: PullRequest;
  readonly sha: string;
  readonly delivery: DeliveryResult;
}

export interface Pushed {
  readonly sha: string;
  /** The delivery that matters for a pull request (synchronize), else the push. */
  readonly delivery: DeliveryResult;
  readonly deliveries: readonly DeliveryResult[];
}

export class GitHubSimulator {
  /** Requests per operationId ("pulls/get"), plus "graphql" and "unknown". */
  readonly calls: Record<string, number> = {};
  /** Requests GitHub would have refused; a healthy app test expects this to stay empty. */
  readonly rejected: Rejection[] = [];
  private readonly pipeline: RequestPipeline;
  private closed = false;

  private constructor(
    /** Internal services, for tests of the simulator itself and advanced setups. */
    readonly core: SimCore,
    private readonly tempRoot: string,
    private readonly keepTempDirs: boolean,
  ) {
    this.pipeline = new RequestPipeline(core, {
      count: (operation) => {
        this.calls[operation] = (this.calls[operation] ?? 0) + 1;
      },
      reject: (rejection) => {
        this.rejected.push(rejection);
      },
    });
  }

  static async create(options: SimulatorOptions = {}): Promise<GitHubSimulator> {
    const tempRoot = await mkdtemp(join(tmpdir(), "github-sim-"));
    try {
      return new GitHubSimulator(GitHubSimulator.makeCore(options, tempRoot), tempRoot, options.keepTempDirs ?? false);
    } catch (error: unknown) {
      await rm(tempRoot, { recursive: true, force: true });
      throw error;
    }
  }

  private static makeCore(options: SimulatorOptions, tempRoot: string): SimCore {
    return new SimCore({
      appSlug: options.appSlug ?? "charter-sim",
      rateLimit: options.rateLimit ?? 5000,
      now: options.now ?? (() => new Date()),
      urls: { api: options.apiUrl ?? "https://api.github.com", web: options.webUrl ?? "https://github.com" },
      webhookSecret: options.webhookSecret ?? randomBytes(20).toString("hex"),
      webhookTimeoutMs: options.webhookTimeoutMs ?? GITHUB_DELIVERY_TIMEOUT_MS,
      gitRoot: tempRoot,
    });
  }

  get appId(): number {
    return this.core.state.app.id;
  }

  /** PEM (PKCS#1) private key of the app, generated for this simulator. */
  get privateKey(): string {
    return this.core.auth.privateKey;
  }

  get webhookSecret(): string {
    return this.core.webhooks.secret;
  }

  get webhookTarget(): string | undefined {
    return this.core.webhooks.target;
  }

  set webhookTarget(url: string | undefined) {
    this.core.webhooks.target = url;
  }

  get faults(): FaultInjector {
    return this.core.faults;
  }

  /**
   * From now on, every GraphQL query with more than `maxAliases` aliased fields fails the way
   * GitHub fails a query too costly to run (`answer`); null lifts the limit. Unlike a fault it
   * does not disarm: a client that keeps sending large queries keeps failing.
   */
  limitGraphqlCost(limit: GraphqlCostLimit | null): void {
    this.core.graphqlCostLimit = limit === null ? null : checkedCostLimit(limit);
  }

  /** GraphQL queries that failed on the cost limit so far. */
  get graphqlCostRefusals(): number {
    return this.core.graphqlCostRefusals;
  }

  /** Every webhook delivery, dropped ones included, oldest first. */
  get deliveries(): readonly WebhookDelivery[] {
    return this.core.webhooks.deliveries;
  }

  resetCalls(): void {
    for (const key of Object.keys(this.calls)) Reflect.deleteProperty(this.calls, key);
    this.busyTotal = 0;
  }

  #inFlight = 0;
  #busySince = 0;
  private busyTotal = 0;

  /**
   * Wall-clock milliseconds since resetCalls() during which at least one request was being
   * answered by this in-process simulator. Benchmarks subtract it to report the app's own share:
   * GitHub answers in parallel on other machines, the simulator on the app's own event loop.
   */
  get busyMs(): number {
    return this.busyTotal + (this.#inFlight > 0 ? performance.now() - this.#busySince : 0);
  }

  private async timed(request: Request): Promise<Response> {
    if (this.#inFlight++ === 0) this.#busySince = performance.now();
    try {
      return await this.pipeline.handle(request);
    } finally {
      if (--this.#inFlight === 0) this.busyTotal += performance.now() - this.#busySince;
    }
  }

  /**
   * A WHATWG fetch that answers as GitHub: pass it as `request: { fetch: sim.fetch }`. Any host
   * and a GHES-style /api/v3 prefix are accepted.
   */
  readonly fetch: typeof globalThis.fetch = async (input, init) => {
    const request = input instanceof Request && init === undefined ? input : new Request(input, init);
    return this.timed(request);
  };

  /** Serves the same handler over HTTP on 127.0.0.1 (for tools that cannot take a fetch). */
  async listen(port = 0): Promise<{ url: string; close: () => Promise<void> }> {
    const server = createServer((req, res) => {
      void this.serveNode(req).then(
        async (response) => {
          res.writeHead(response.status, Object.fromEntries(response.headers));
          res.end(Buffer.from(await response.arrayBuffer()));
        },
        (error: unknown) => {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end(error instanceof Error ? error.stack : String(error));
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    const address = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${address.port}`,
      close: () =>
        new Promise<void>((resolve, reject) => {
          server.closeAllConnections();
          server.close((error) => {
            if (error) reject(error);
            else resolve();
          });
        }),
    };
  }

  private async serveNode(req: IncomingMessage): Promise<Response> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === "string") headers.set(name, value);
    }
    const method = req.method ?? "GET";
    return this.fetch(`http://${req.headers.host ?? "127.0.0.1"}${req.url ?? "/"}`, {
      method,
      headers,
      ...(method === "GET" || method === "HEAD" ? {} : { body: Buffer.concat(chunks) }),
    });
  }

  // ---- people, organisations, permissions -------------------------------------------------

  addUser(login: string, options: { type?: Exclude<AccountType, "Organization">; name?: string; email?: string } = {}): Account {
    return this.core.state.addAccount(login, options.type ?? "User", {
      ...(options.name ? { name: options.name } : {}),
      ...(options.email ? { email: options.email } : {}),
    });
  }

  addOrganization(login: string): Account {
    return this.core.state.addAccount(login, "Organization");
  }

  addOrgMember(org: string, login: string, role: "admin" | "member" = "member"): void {
    const organization = this.core.state.findOrganization(org);
    if (!organization) throw new Error(`github-sim: no organisation ${org}`);
    const account = this.core.state.ensureAccount(login);
    organization.members.set(account.login.toLowerCase(), role);
  }

  /** Creates (or extends) a team; its members become organisation members too, as on GitHub. */
  addTeam(org: string, slug: string, members: readonly string[] | Readonly<Record<string, "member" | "maintainer">>): Team {
    const organization = this.core.state.findOrganization(org) ?? this.core.state.findOrganization(this.addOrganization(org).login);
    if (!organization) throw new Error(`github-sim: no organisation ${org}`);
    let team = organization.teams.get(slug.toLowerCase());
    if (!team) {
      const id = this.core.state.allocateId();
      team = { id, nodeId: this.core.state.nodeId("Team", id), org: organization.account.login, slug, name: slug, members: new Map() };
      organization.teams.set(slug.toLowerCase(), team);
    }
    const entries: [string, "member" | "maintainer"][] = Array.isArray(members)
      ? members.map((login: string): [string, "member"] => [login, "member"])
      : Object.entries(members as Readonly<Record<string, "member" | "maintainer">>);
    for (const [login, role] of entries) {
      const account = this.core.state.ensureAccount(login);
      team.members.set(account.login.toLowerCase(), role);
      if (!organization.members.has(account.login.toLowerCase())) organization.members.set(account.login.toLowerCase(), "member");
    }
    return team;
  }

  setCollaborator(repo: Repository, login: string, permission: RepoPermission): void {
    const account = this.core.state.ensureAccount(login);
    repo.collaborators.set(account.login.toLowerCase(), permission);
  }

  /**
   * Turns on classic branch protection (which refuses force-pushes and deletion by default). A
   * required check given by name may come from any source; { context, appId } binds it to an app.
   */
  protectBranch(repo: Repository, branch: string, options: { requiredChecks?: readonly (string | { context: string; appId: number })[] } = {}): void {
    const requiredChecks = (options.requiredChecks ?? []).map((c) => (typeof c === "string" ? { context: c, appId: null } : c));
    repo.branchProtection.set(branch, { requiredChecks });
  }

  /** Adds a repository ruleset for the named branches, e.g. rules [{ type: "deletion" }, { type: "non_fast_forward" }]. */
  addRuleset(repo: Repository, branches: readonly string[], rules: Ruleset["rules"]): void {
    repo.rulesets.push({ id: this.core.state.allocateId(), branches: [...branches], rules: [...rules] });
  }

  // ---- repositories ---------------------------------------------------------------------

  createRepository(options: CreateRepositoryOptions): Promise<Repository> {
    return this.core.createRepository(options);
  }

  /** The bare git repository on disk behind `repo`, for `git --git-dir <path> log` and friends. */
  repoPath(repo: Repository): string {
    return this.core.git(repo).gitDir;
  }

  installationOf(repo: Repository): Installation {
    const installation = repo.installationId === null ? undefined : this.core.state.installations.get(repo.installationId);
    if (!installation) throw new Error(`github-sim: the app is not installed on ${repo.fullName}`);
    return installation;
  }

  /** An installation token minted directly, for tests that call the API without the JWT dance. */
  installationToken(repo: Repository, permissions?: Readonly<Record<string, PermissionLevel>>): string {
    const installation = this.installationOf(repo);
    return this.core.auth.issueToken(installation, { ...(permissions ?? installation.permissions) }, null).token;
  }

  /**
   * GitHub's own view of an installation token it issued: its permissions and the full names of
   * the repositories it is limited to (null: every repository of the installation).
   */
  installationTokenScope(token: string): { permissions: Readonly<Record<string, PermissionLevel>>; repositories: string[] | null } | undefined {
    const record = this.core.auth.tokenRecord(token);
    if (record === undefined) return undefined;
    const ids = record.repositoryIds;
    const repositories = ids === null ? null : [...this.core.state.repositories.values()].filter((r) => ids.has(r.id)).map((r) => r.fullName).sort();
    return { permissions: record.permissions, repositories };
  }

  branchHead(repo: Repository, branch: string): Promise<string | null> {
    return this.core.branchHead(repo, branch);
  }

  /** A push by a person to a branch (created from the default branch when missing). */
  async push(repo: Repository, options: { branch: string; files: Files; author: string; message?: string }): Promise<Pushed> {
    const author = this.core.state.ensureAccount(options.author);
    const result = await this.core.commitToBranch(repo, {
      branch: options.branch,
      files: options.files,
      message: options.message ?? `Update ${Object.keys(options.files).join(", ")}`,
      author: this.core.identity(author),
    });
    if ("stale" in result) throw new Error(`github-sim: ${options.branch} moved during the push`);
    const deliveries = await this.core.branchMoved(repo, options.branch, result.before, result.after, author);
    const delivery = deliveries.at(-1);
    if (!delivery) throw new Error("github-sim: a push always delivers a push event");
    return { sha: result.after, delivery, deliveries };
  }

  // ---- pull requests --------------------------------------------------------------------

  async openPullRequest(repo: Repository, options: OpenPullRequestOptions): Promise<PullRequestOpened> {
    const { core } = this;
    const author = core.state.ensureAccount(options.author);
    const base = options.base ?? repo.defaultBranch;
    const baseSha = await core.branchHead(repo, base);
    if (!baseSha) throw new Error(`github-sim: base branch ${base} does not exist in ${repo.fullName}`);
    const committed = await core.commitToBranch(repo, {
      branch: options.branch,
      files: options.files,
      message: options.message ?? options.title,
      author: options.gitAuthor ? { ...options.gitAuthor, date: core.state.nowDate() } : core.identity(author),
      from: baseSha,
    });
    if ("stale" in committed) throw new Error(`github-sim: ${options.branch} moved while committing`);
    await core.branchMoved(repo, options.branch, committed.before, committed.after, author);
    const issue = core.state.createIssue(repo, {
      author,
      title: options.title,
      body: options.body ?? null,
      ...(options.labels ? { labels: options.labels } : {}),
    });
    const id = core.state.allocateId();
    const pull: PullRequest = {
      id,
      nodeId: core.state.nodeId("PullRequest", id),
      issue,
      headRef: options.branch,
      headSha: committed.after,
      baseRef: base,
      baseSha,
      draft: options.draft ?? false,
      merged: null,
      reviews: [],
    };
    issue.pullRequest = pull;
    const delivery = await core.deliver("pull_request", await pullRequestPayload(core, pull, "opened", author));
    return { pull, sha: committed.after, delivery };
  }

  /** Commits `files` to the pull request's head branch: push and pull_request.synchronize. */
  async pushToPullRequest(pull: PullRequest, files: Files, options: { author?: string; message?: string } = {}): Promise<Pushed> {
    return this.push(pull.issue.repo, {
      branch: pull.headRef,
      files,
      author: options.author ?? pull.issue.author.login,
      ...(options.message ? { message: options.message } : {}),
    });
  }

  async submitReview(
    pull: PullRequest,
    options: { user: string; state: Exclude<ReviewState, "DISMISSED">; body?: string; commitId?: string },
  ): Promise<{ review: Review; delivery: DeliveryResult }> {
    const { core } = this;
    const user = core.state.ensureAccount(options.user);
    if (user === pull.issue.author && options.state !== "COMMENTED") {
      // GitHub: "Can not approve your own pull request" (and the same for requesting changes).
      throw new Error(`github-sim: ${user.login} cannot ${options.state.toLowerCase()} their own pull request`);
    }
    const id = core.state.allocateId();
    const review: Review = {
      id,
      nodeId: core.state.nodeId("PullRequestReview", id),
      pull,
      user,
      body: options.body ?? "",
      state: options.state,
      commitId: options.commitId ?? pull.headSha,
      submittedAt: core.state.now(),
    };
    pull.reviews.push(review);
    core.state.reviews.set(id, review);
    const delivery = await core.deliver("pull_request_review", await pullRequestReviewPayload(core, review, "submitted", user));
    return { review, delivery };
  }

  async dismissReview(review: Review, options: { by?: string } = {}): Promise<DeliveryResult> {
    if (review.state !== "APPROVED" && review.state !== "CHANGES_REQUESTED") {
      throw new Error(`github-sim: only approving or change-requesting reviews can be dismissed, not ${review.state}`);
    }
    const by = this.core.state.ensureAccount(options.by ?? review.pull.issue.repo.owner.login);
    review.state = "DISMISSED";
    return this.core.deliver("pull_request_review", await pullRequestReviewPayload(this.core, review, "dismissed", by));
  }

  async mergePullRequest(
    pull: PullRequest,
    options: { by: string; method?: MergeMethod },
  ): Promise<{ sha: string; delivery: DeliveryResult; deliveries: readonly DeliveryResult[] }> {
    const by = this.core.state.ensureAccount(options.by);
    const result = await mergePullRequest(this.core, pull, by, options.method ? { method: options.method } : {});
    const announced = await announceMerge(this.core, pull, result, by);
    return { sha: result.sha, delivery: announced.closed, deliveries: [...announced.pushes, announced.closed] };
  }

  async closePullRequest(pull: PullRequest, options: { by: string }): Promise<DeliveryResult> {
    const by = this.core.state.ensureAccount(options.by);
    const now = this.core.state.now();
    Object.assign(pull.issue, { state: "closed", closedAt: now, closedBy: by, updatedAt: now });
    return this.core.deliver("pull_request", await pullRequestPayload(this.core, pull, "closed", by));
  }

  async reopenPullRequest(pull: PullRequest, options: { by: string }): Promise<DeliveryResult> {
    if (pull.merged) throw new Error("github-sim: a merged pull request cannot be reopened");
    const by = this.core.state.ensureAccount(options.by);
    Object.assign(pull.issue, { state: "open", closedAt: null, closedBy: null, stateReason: "reopened", updatedAt: this.core.state.now() });
    return this.core.deliver("pull_request", await pullRequestPayload(this.core, pull, "reopened", by));
  }

  async editPullRequest(pull: PullRequest, options: { by: string; title?: string; body?: string }): Promise<DeliveryResult> {
    const by = this.core.state.ensureAccount(options.by);
    const changes: Record<string, { from: string }> = {};
    if (options.title !== undefined) {
      changes["title"] = { from: pull.issue.title };
      pull.issue.title = options.title;
    }
    if (options.body !== undefined) {
      changes["body"] = { from: pull.issue.body ?? "" };
      pull.issue.body = options.body;
    }
    pull.issue.updatedAt = this.core.state.now();
    return this.core.deliver("pull_request", await pullRequestPayload(this.core, pull, "edited", by, { changes }));
  }

  async markReadyForReview(pull: PullRequest, options: { by: string }): Promise<DeliveryResult> {
    const by = this.core.state.ensureAccount(options.by);
    pull.draft = false;
    pull.issue.updatedAt = this.core.state.now();
    return this.core.deliver("pull_request", await pullRequestPayload(this.core, pull, "ready_for_review", by));
  }

  /** Adds labels one by one, delivering pull_request.labeled for each, as GitHub does. */
  async addLabels(pull: PullRequest, labels: readonly string[], options: { by: string }): Promise<DeliveryResult[]> {
    const by = this.core.state.ensureAccount(options.by);
    const results: DeliveryResult[] = [];
    for (const name of labels) {
      const label = this.core.state.ensureLabel(pull.issue.repo, name);
      if (pull.issue.labels.some((existing) => existing.toLowerCase() === name.toLowerCase())) continue;
      pull.issue.labels.push(label.name);
      pull.issue.updatedAt = this.core.state.now();
      results.push(await this.core.deliver("pull_request", await pullRequestPayload(this.core, pull, "labeled", by, { label })));
    }
    return results;
  }

  // ---- checks ---------------------------------------------------------------------------

  /** Check runs on `sha` in creation order, as the app left them. */
  checkRunsFor(repo: Repository, sha: string): CheckRun[] {
    return [...this.core.state.checkRuns.values()].filter((run) => run.repo === repo && run.headSha === sha);
  }

  /**
   * A CI system finishes a check run on a commit (for example "ci/test"), and GitHub delivers
   * check_run.completed. The run is posted by `app` (a GitHub App created on first mention; the
   * app under test when none is named), or is a job of the run of `workflow` on the commit:
   * GitHub Actions keeps one suite per workflow run, and a re-run adds an attempt whose jobs
   * replace the previous attempt's. With `viaApi`, a step of that workflow run creates the run
   * through the checks API instead (GITHUB_TOKEN with checks: write): as on GitHub, it lands in
   * the commit's first GitHub Actions suite, whichever workflow that is, and it is no job.
   */
  async completeCheckRun(
    repo: Repository,
    sha: string,
    options: {
      name: string;
      conclusion: NonNullable<CheckRun["conclusion"]>;
      by?: string;
      app?: string;
      workflow?: string;
      event?: string;
      rerun?: boolean;
      viaApi?: boolean;
    },
  ): Promise<{ run: CheckRun; delivery: DeliveryResult }> {
    const { state } = this.core;
    let suite: CheckSuite;
    let attempt: number[] | undefined;
    if (options.workflow !== undefined) {
      const workflowRun = this.core.workflowRunFor(repo, sha, options.workflow, options.event ?? "pull_request");
      if (options.rerun) workflowRun.attempts.push([]);
      if (options.viaApi) {
        const first = [...state.checkSuites.values()].find((s) => s.repo === repo && s.headSha === sha && s.workflowRun !== null);
        suite = first ?? workflowRun.suite;
      } else {
        suite = workflowRun.suite;
        attempt = workflowRun.attempts.at(-1);
      }
    } else {
      suite = this.core.suiteFor(repo, sha, options.app === undefined ? state.app : state.ensureApp(options.app));
    }
    const id = state.allocateId();
    attempt?.push(id);
    const now = state.now();
    const run: CheckRun = {
      id,
      nodeId: state.nodeId("CheckRun", id),
      repo,
      suite,
      headSha: sha,
      name: options.name,
      status: "completed",
      conclusion: options.conclusion,
      startedAt: now,
      completedAt: now,
      externalId: null,
      detailsUrl: null,
      output: { title: options.name, summary: `${options.name}: ${options.conclusion}`, text: null, annotations: [] },
      actions: [],
    };
    state.checkRuns.set(id, run);
    const by = state.ensureAccount(options.by ?? repo.owner.login);
    return { run, delivery: await this.core.deliver("check_run", checkRunPayload(this.core, run, "completed", by)) };
  }

  /** A person clicks "Re-run" on a completed check run. */
  async rerequestCheckRun(checkRunId: number, options: { by?: string } = {}): Promise<DeliveryResult> {
    const run = this.core.state.checkRuns.get(checkRunId);
    if (!run) throw new Error(`github-sim: no check run ${checkRunId}`);
    if (run.status !== "completed") throw new Error(`github-sim: check run ${checkRunId} is ${run.status}; only completed runs can be re-run`);
    const by = this.core.state.ensureAccount(options.by ?? run.repo.owner.login);
    return this.core.deliver("check_run", checkRunPayload(this.core, run, "rerequested", by));
  }

  /** A person clicks "Re-run all checks" on a completed check suite. */
  async rerequestCheckSuite(suiteId: number, options: { by?: string } = {}): Promise<DeliveryResult> {
    const suite = this.core.state.checkSuites.get(suiteId);
    if (!suite) throw new Error(`github-sim: no check suite ${suiteId}`);
    const commit = await this.core.git(suite.repo).readCommit(suite.headSha);
    if (!commit) throw new Error(`github-sim: check suite ${suiteId} points at a missing commit`);
    const by = this.core.state.ensureAccount(options.by ?? suite.repo.owner.login);
    return this.core.deliver("check_suite", checkSuitePayload(this.core, suite, commit, "rerequested", by));
  }

  // ---- issues and comments --------------------------------------------------------------

  async openIssue(
    repo: Repository,
    options: { author: string; title: string; body?: string; labels?: readonly string[] },
  ): Promise<{ issue: Issue; delivery: DeliveryResult }> {
    const author = this.core.state.ensureAccount(options.author);
    const issue = this.core.state.createIssue(repo, {
      author,
      title: options.title,
      body: options.body ?? null,
      ...(options.labels ? { labels: options.labels } : {}),
    });
    return { issue, delivery: await this.core.deliver("issues", issuesPayload(this.core, issue, "opened", author)) };
  }

  async closeIssue(issue: Issue, options: { by: string }): Promise<DeliveryResult> {
    const by = this.core.state.ensureAccount(options.by);
    const now = this.core.state.now();
    Object.assign(issue, { state: "closed", stateReason: "completed", closedAt: now, closedBy: by, updatedAt: now });
    return this.core.deliver("issues", issuesPayload(this.core, issue, "closed", by));
  }

  /** A person comments on an issue or on a pull request's conversation. */
  async comment(
    target: Issue | PullRequest,
    options: { user: string; body: string },
  ): Promise<{ comment: IssueComment; delivery: DeliveryResult }> {
    const issue = "issue" in target ? target.issue : target;
    const user = this.core.state.ensureAccount(options.user);
    const comment = this.core.state.addComment(issue, user, options.body, false);
    return { comment, delivery: await this.core.deliver("issue_comment", issueCommentPayload(this.core, issue, comment, user)) };
  }

  commentsOn(target: Issue | PullRequest): readonly IssueComment[] {
    return ("issue" in target ? target.issue : target).comments;
  }

  // ---- deliveries and lifecycle ---------------------------------------------------------

  redeliver(deliveryId: string): Promise<DeliveryResult> {
    return this.core.webhooks.redeliver(deliveryId);
  }

  /** Waits for webhooks sent in the background after API writes (merges, pushes, comments). */
  idle(): Promise<void> {
    return this.core.idle();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.core.close();
    } finally {
      if (!this.keepTempDirs) await rm(this.tempRoot, { recursive: true, force: true, maxRetries: 5 });
    }
    if (this.core.backgroundErrors.length > 0) {
      throw new AggregateError(this.core.backgroundErrors, "github-sim: background work failed");
    }
  }
}
