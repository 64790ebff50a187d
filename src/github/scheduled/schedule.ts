import type { Probot } from "probot";
import type { ScheduleClaims } from "../../jobs/job-queue.js";

/** A repository Charter has heard from, with what scheduled work needs to act on it. */
export interface KnownRepository {
  readonly owner: string;
  readonly repo: string;
  readonly repositoryId: string;
  readonly installationId: number;
  readonly repositoryUrl: string;
}

export type ScheduledTask = (repository: KnownRepository) => Promise<{ readonly nextInSeconds: number }>;

/**
 * How long a replica holds a task it claimed. A replica that dies mid-run delays that task by at
 * most this; a run that takes longer than this may be started a second time by another replica.
 * Scheduled runs take seconds (a few GitHub requests, an audit index update), so fifteen minutes
 * leaves room for rate-limit waits while keeping a dead replica's tasks from waiting long.
 */
const SCHEDULE_LEASE_MS = 15 * 60 * 1000;

/**
 * Periodic work per repository (reconciliation, drift detection, access review): each repository
 * Charter receives events from is remembered, and a timer runs every task whose time has come. A
 * task says when it wants to run next (the repository's own policy sets the interval). Work for
 * one repository never overlaps itself in a process, and a failing run is retried at the next
 * tick rather than waiting a whole interval.
 *
 * With `claims` (the app's job queue) the due times live in the queue's store, shared by every
 * replica using it: a task runs only after this process has claimed it there, so each
 * (repository, task) runs once per interval across replicas, and the due times survive restarts.
 * Without it (inline mode) they are this process's own. For schedules that must run without
 * events, `charter drift` is the command to put in cron.
 */
export class RepositorySchedule {
  private readonly repositories = new Map<string, KnownRepository>();
  private readonly due = new Map<string, number>();
  private readonly running = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly tasks: Readonly<Record<string, ScheduledTask>>,
    private readonly now: () => Date,
    private readonly log: Probot["log"],
    private readonly claims?: ScheduleClaims,
    private readonly leaseMs: number = SCHEDULE_LEASE_MS,
  ) {}

  note(repository: KnownRepository): void {
    const key = `${repository.owner}/${repository.repo}`.toLowerCase();
    this.repositories.set(key, repository);
  }

  start(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      void this.tick();
    }, intervalMs);
    // Scheduled work must never keep a process alive that is otherwise shutting down.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Runs every task that is due now; resolves when they have finished. Tasks named in `force`
   * run whatever their due time and without the shared claim: on start, a replica reconciles
   * every repository itself (what it missed while down must not wait for another replica's
   * schedule), which is safe because reconciling twice does the work once.
   */
  async tick(options: { readonly force?: readonly string[] } = {}): Promise<void> {
    const now = this.now().getTime();
    const work: Promise<void>[] = [];
    for (const [key, repository] of this.repositories) {
      for (const [name, task] of Object.entries(this.tasks)) {
        const id = `${key}\n${name}`;
        const forced = options.force?.includes(name) === true;
        if ((!forced && (this.due.get(id) ?? 0) > now) || this.running.has(id)) continue;
        this.running.add(id);
        work.push(
          this.run(id, repository, name, task, now, forced).finally(() => {
            this.running.delete(id);
          }),
        );
      }
    }
    await Promise.all(work);
  }

  /** Never rejects: whatever fails is logged and the task is looked at again at the next tick. */
  private async run(id: string, repository: KnownRepository, name: string, task: ScheduledTask, now: number, forced: boolean): Promise<void> {
    const fullName = `${repository.owner}/${repository.repo}`;
    // By repository id, not name: a renamed repository keeps its schedule.
    const shared = `${name}:${repository.repositoryId}`;
    let token: string | undefined;
    try {
      if (this.claims && !forced) {
        const claim = await this.claims.claimScheduled(shared, now, this.leaseMs);
        if (!claim.claimed) {
          // Another replica ran it or is running it; the stored due time (or lease end) says when to ask again.
          this.due.set(id, claim.nextDueMs);
          return;
        }
        token = claim.token;
      }
    } catch (error) {
      this.log.error({ err: error, repository: fullName, task: name }, "charter: could not claim a scheduled task; retrying at the next tick");
      return;
    }
    let nextDue = now;
    try {
      const { nextInSeconds } = await task(repository);
      nextDue = now + Math.round(nextInSeconds * 1000);
    } catch (error) {
      this.log.error({ err: error, repository: fullName, task: name }, "charter: scheduled task failed; retrying at the next tick");
    }
    this.due.set(id, nextDue);
    if (token === undefined || !this.claims) return;
    try {
      const finished = await this.claims.finishScheduled(shared, token, nextDue);
      if (!finished) this.log.warn({ repository: fullName, task: name, leaseMs: this.leaseMs }, "charter: a scheduled task outlasted its lease and was claimed by another process");
    } catch (error) {
      // The claim lapses with its lease; the task is then run again by whichever replica looks first.
      this.log.error({ err: error, repository: fullName, task: name }, "charter: could not record a scheduled task's next run");
    }
  }
}
