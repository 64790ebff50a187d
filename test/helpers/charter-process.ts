// Charter as a process of its own, for the fault tests that kill it or run two of it: the real
// app behind Probot's real middleware, its job queue from the environment (SQLite file or
// DATABASE_URL), talking to a GitHub simulator over HTTP. Prints "listening URL" when ready.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Logger } from "graphile-worker";
import { createNodeMiddleware, Probot } from "probot";
import { createCharterApp } from "../../src/github/app.js";
import { openJobQueue } from "../../src/jobs/open-queue.js";
import { UnthrottledOctokit } from "../github-sim/probot-harness.js";

const env = process.env;
const required = (name: string): string => {
  const value = env[name];
  if (!value) throw new Error(`app-process: ${name} is not set`);
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
// Short pauses so that the tests wait seconds, not minutes; the logic is production's.
const jobs = openJobQueue(env, {
  sqlite: { backoff: { baseMs: 50, capMs: 500 }, pollIntervalMs: 20, leaseMs: 2_000 },
  postgres: { backoff: { baseMs: 50, capMs: 500 }, pollIntervalMs: 50, heartbeatMs: 300, staleAfterMs: 2_000, logger: new Logger(() => () => undefined) },
});
const middleware = await createNodeMiddleware(
  createCharterApp({ appId, signingKey: required("CHARTER_SIGNING_KEY"), jobs, environment: {}, scheduleIntervalMs: 0, workers: 4 }),
  { probot, webhooksPath: "/api/github/webhooks" },
);
const server = createServer((req, res) => {
  void Promise.resolve(
    middleware(req, res, () => {
      res.writeHead(404).end();
    }),
  );
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening http://127.0.0.1:${String((server.address() as AddressInfo).port)}\n`);
});
