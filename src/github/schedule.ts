import type { Probot } from "probot";

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
 * Periodic work per repository (drift detection): each repository Charter receives events from
 * is remembered, and a timer runs every task whose time has come. A task says when it wants to
 * run next (the repository's own policy sets the interval). Work for one repository never
 * overlaps itself, and a failing run is retried at the next tick rather than waiting a whole
 * interval. For schedules that must survive restarts or run without events, `charter drift` is
 * the command to put in cron.
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

  /** Runs every task that is due now; resolves when they have finished. */
  async tick(): Promise<void> {
    const now = this.now().getTime();
    const work: Promise<void>[] = [];
    for (const [key, repository] of this.repositories) {
      for (const [name, task] of Object.entries(this.tasks)) {
        const id = `${key}\n${name}`;
        if ((this.due.get(id) ?? 0) > now || this.running.has(id)) continue;
        this.running.add(id);
        work.push(
          task(repository)
            .then(({ nextInSeconds }) => {
              this.due.set(id, now + nextInSeconds * 1000);
            })
            .catch((error: unknown) => {
              this.log.error({ err: error, repository: key, task: name }, "charter: scheduled task failed; retrying at the next tick");
            })
            .finally(() => {
              this.running.delete(id);
            }),
        );
      }
    }
    await Promise.all(work);
  }
}
