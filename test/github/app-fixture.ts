import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GitHubSimulator, startApp, type StartedApp } from "../github-sim/index.js";
import type { Repository } from "../github-sim/state.js";
import { type CharterAppOptions, createCharterApp } from "../../src/github/app.js";
import type { JobQueue } from "../../src/jobs/job-queue.js";
import type { TrailRuntime } from "../../src/github/trail/trail-runtime.js";

export interface AppFixture {
  readonly sim: GitHubSimulator;
  readonly repo: Repository;
  readonly app: StartedApp;
  close(): Promise<void>;
}

/** A simulated GitHub with one repository seeded with `files`, and Charter running against it. */
export async function startCharter(
  files: Readonly<Record<string, string>>,
  options: {
    baseUrl?: string;
    observe?: (request: { method: string; url: string }) => void;
    signingKey?: string;
    now?: () => Date;
    /** GitHub's clock (commit dates, merge times), when a test must order events by it. */
    githubNow?: () => Date;
    environment?: Readonly<Record<string, string | undefined>>;
    onSchedule?: CharterAppOptions["onSchedule"];
    jobs?: JobQueue;
    /** The app's action trail; the caller closes it after the fixture. */
    trail?: TrailRuntime;
    /** How long a webhook delivery waits for the app's answer (GitHub: 10 s); for work that is slow in the simulator. */
    webhookTimeoutMs?: number;
  } = {},
): Promise<AppFixture> {
  const { signingKey, now, githubNow, environment, onSchedule, jobs, trail, webhookTimeoutMs, ...harness } = options;
  const sim = await GitHubSimulator.create({ ...(githubNow ? { now: githubNow } : {}), ...(webhookTimeoutMs === undefined ? {} : { webhookTimeoutMs }) });
  sim.addOrganization("acme");
  const repo = await sim.createRepository({ owner: "acme", name: "agents", files });
  const auditDir = mkdtempSync(join(tmpdir(), "charter-audit-index-"));
  // The app reads `environment` when it needs a secret, so a test may set one later on the same
  // object (a deployment fixed while the app runs); the audit index goes to a temp directory.
  const appEnvironment: Record<string, string | undefined> = (environment as Record<string, string | undefined> | undefined) ?? {};
  appEnvironment["CHARTER_AUDIT_DIR"] ??= auditDir;
  // Provider secrets come from `environment`, never from the test process's own variables; the
  // schedule's timer is off, tests run it when they mean to.
  const app = await startApp(
    sim,
    createCharterApp({ appId: sim.appId, signingKey, environment: appEnvironment, scheduleIntervalMs: 0, ...(now ? { now } : {}), ...(onSchedule ? { onSchedule } : {}), ...(jobs ? { jobs } : {}), ...(trail ? { trail } : {}) }),
    harness,
  );
  return {
    sim,
    repo,
    app,
    async close() {
      await app.close();
      await sim.close();
      rmSync(auditDir, { recursive: true, force: true });
    },
  };
}
