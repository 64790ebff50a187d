// Charter as a process of its own, run as production runs it: the real app behind Probot's real
// middleware, its durable job queue opened from the environment (SQLite file CHARTER_QUEUE_DB or
// DATABASE_URL), talking to a GitHub simulator over HTTP. Started by start-charter-process.ts,
// for the fault tests that kill it and the playground that interrupts it. Prints
// "listening URL" when ready.
//
// The environment is the app's whole configuration: the launcher passes an explicit one, and the
// app reads its provider secrets (CHARTER_LOCAL_DB, CHARTER_POSTGRES_URL_*, …) from it.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Logger } from "graphile-worker";
import { createNodeMiddleware, Probot } from "probot";
import { createCharterApp } from "../../src/github/app.js";
import type { RepositorySchedule } from "../../src/github/scheduled/schedule.js";
import { openJobQueue } from "../../src/jobs/open-queue.js";
import { openTrailRuntime } from "../../src/github/trail/trail-runtime.js";
import { UnthrottledOctokit } from "../github-sim/probot-harness.js";

/**
 * Runs the app's scheduled work that is due (reconciliation, access review, drift) for the
 * repositories it has heard from; answers when it has finished. start-charter-process.ts posts here.
 */
const SCHEDULE_TICK_PATH = "/schedule/tick";

const env = process.env;
const required = (name: string): string => {
  const value = env[name];
  if (!value) throw new Error(`charter-process: ${name} is not set`);
  return value;
};
const appId = Number(required("APP_ID"));
const probot = new Probot({
  appId,
  privateKey: required("PRIVATE_KEY"),
  secret: required("WEBHOOK_SECRET"),
  baseUrl: `${required("SIM_URL")}/api/v3`,
  logLevel: "fatal",
  Octokit: UnthrottledOctokit,
});
// Short pauses so that callers wait seconds, not minutes; the logic is production's.
const jobs = openJobQueue(env, {
  sqlite: { backoff: { baseMs: 50, capMs: 500 }, pollIntervalMs: 20, leaseMs: 2_000 },
  postgres: { backoff: { baseMs: 50, capMs: 500 }, pollIntervalMs: 50, heartbeatMs: 300, staleAfterMs: 2_000, logger: new Logger(() => () => undefined) },
});
// The action trail, as npm start opens it, when the launcher gives it a store.
const trail = env["CHARTER_TRAIL_DB"] || env["CHARTER_TRAIL_SCHEMA"] ? await openTrailRuntime(env) : undefined;
let schedule: RepositorySchedule | undefined;
const middleware = await createNodeMiddleware(
  createCharterApp({
    appId,
    signingKey: required("CHARTER_SIGNING_KEY"),
    jobs,
    environment: env,
    // Off unless the launcher turns it on: scheduled work then runs when a caller posts to
    // SCHEDULE_TICK_PATH. On, the app also reconciles every repository as it starts.
    scheduleIntervalMs: Number(env["SCHEDULE_INTERVAL_MS"] ?? 0),
    onSchedule: (s) => (schedule = s),
    workers: 4,
    ...(trail ? { trail } : {}),
  }),
  { probot, webhooksPath: "/api/github/webhooks" },
);
const server = createServer((req, res) => {
  const tickUrl = new URL(req.url ?? "/", "http://127.0.0.1");
  if (req.method === "POST" && tickUrl.pathname === SCHEDULE_TICK_PATH) {
    // ?force=drift runs that task now whatever its due time, as if its interval had passed.
    const force = tickUrl.searchParams.get("force")?.split(",").filter(Boolean) ?? [];
    void (schedule?.tick({ force }) ?? Promise.reject(new Error("the app did not hand over its schedule"))).then(
      () => res.writeHead(204).end(),
      (error: unknown) => res.writeHead(500).end(error instanceof Error ? error.message : String(error)),
    );
    return;
  }
  void Promise.resolve(
    middleware(req, res, () => {
      res.writeHead(404).end();
    }),
  );
});
// Loopback only: the tick route has no authentication.
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening http://127.0.0.1:${String((server.address() as AddressInfo).port)}\n`);
});

// A stop, as opposed to a kill: no new jobs are taken, running ones finish, the queue is closed.
// Whatever is still queued stays in the file for the next start.
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  server.closeAllConnections();
  server.close();
  void jobs
    .stop()
    .then(() => jobs.close())
    .then(() => trail?.close())
    .then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`charter-process: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
// stdin is a pipe from the launcher: it closes when the launcher's process ends, however it ends
// (even before it learned this process's address), so that this process is never left behind.
process.stdin.once("close", stop);
process.stdin.resume();
