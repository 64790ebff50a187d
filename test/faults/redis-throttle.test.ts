// Two replicas started as `npm start` starts Charter (src/github/main.ts: Probot's run() with
// Charter's tuned Octokit, configured only from the environment), sharing a throwaway Redis through
// REDIS_URL. Probot then loads the installed ioredis and backs Octokit's throttling with Bottleneck
// limiters kept in Redis; this reads Redis itself to show that both processes paced their requests
// through the same limiters, and the simulator's ledger to show that the work still got done.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { GitHubSimulator } from "../github-sim/index.js";
import { spawnGroup } from "../helpers/child-processes.js";
import { startRedis } from "../helpers/redis.js";
import { waitFor } from "../jobs/wait-for.js";
import { AGENTS, approvedPullRequest, changeRecords, tally } from "./fault-fixture.js";
import { freePort } from "../helpers/free-port.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const KEYS = generateSignerKey("charter-test-redis-throttle");
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * The limiters @octokit/plugin-throttling creates are Bottleneck groups ("octokit-global",
 * "octokit-write", …) keyed by the throttle id: Probot gives each installation's Octokit the
 * installation id, so GitHub's per-installation limits are paced per installation, and the app's
 * own (JWT) Octokit keeps the plugin's "no-id". Bottleneck keeps limiter `<group>-<key>` under
 * Redis keys `b_<group>-<key>_…`; with Redis every process uses the same ones.
 */
const limiter = (group: "global" | "write", key: number | "no-id"): string => `octokit-${group}-${String(key)}`;

/** What one replica sent GitHub, counted the way the throttling plugin sorts requests. */
interface Sent {
  all: number;
  /** Requests the plugin passes through its write limiter: anything but GET and HEAD. */
  writes: number;
}

/**
 * Installation token requests are the plugin's "auth" requests, paced by neither the global nor
 * the write limiter (octokit-auth-probot sends them with a plain request, outside the plugin).
 */
const AUTH_PATH = /\/app\/installations\/[^/]+\/access_tokens$/;

/** A pass-through in front of the simulator for one replica, so that its requests can be counted. */
async function countingProxy(simUrl: string): Promise<{ url: string; sent: Sent; server: Server }> {
  const sent: Sent = { all: 0, writes: 0 };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", simUrl).pathname;
    if (!AUTH_PATH.test(path)) {
      sent.all++;
      if (req.method !== "GET" && req.method !== "HEAD") sent.writes++;
    }
    const forward = request(new URL(req.url ?? "/", simUrl), { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on("error", () => res.writeHead(502).end());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => { resolve(); })));
  return { url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`, sent, server };
}


interface Replica {
  readonly url: string;
  readonly child: ChildProcess;
  readonly sent: Sent;
  /** What the process printed so far (Probot's JSON log lines and anything else). */
  output(): string;
}

/**
 * Starts src/github/main.ts, the code `npm start` runs, with only the environment an operator
 * sets: Probot reads APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, GHE_HOST/GHE_PROTOCOL, PORT and
 * REDIS_URL itself. Its working directory is a fresh one, so no .env is read and the SQLite queue
 * is its own. Resolves once Probot says it listens.
 */
async function startReplica(sim: GitHubSimulator, simUrl: string, redisUrl: string): Promise<Replica> {
  const proxy = await countingProxy(simUrl);
  const dir = mkdtempSync(join(tmpdir(), "charter-replica-"));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    APP_ID: String(sim.appId),
    PRIVATE_KEY: sim.privateKey,
    WEBHOOK_SECRET: sim.webhookSecret,
    GHE_HOST: new URL(proxy.url).host,
    GHE_PROTOCOL: "http",
    HOST: "127.0.0.1",
    PORT: String(port),
    REDIS_URL: redisUrl,
    LOG_LEVEL: "info",
    LOG_FORMAT: "json",
    CHARTER_SIGNING_KEY: KEYS.signerKey,
    CHARTER_QUEUE_DB: join(dir, "queue.sqlite"),
  };
  delete env["DATABASE_URL"];
  // tsx loaded into node itself (no wrapper process), in a process group stopped as a whole; from
  // its absolute address, since the replica runs in a directory with no node_modules.
  const replica = spawnGroup(process.execPath, ["--import", import.meta.resolve("tsx"), join(root, "src/github/main.ts")], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  const { child } = replica;
  cleanups.push(async () => {
    await replica.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  let output = "";
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`Listening on http://127.0.0.1:${String(port)}`)) resolve();
    });
    child.on("exit", (code) => {
      reject(new Error(`replica exited (${String(code)}) before listening: ${output}`));
    });
  });
  return { url: `http://127.0.0.1:${String(port)}`, child, sent: proxy.sent, output: () => output };
}

describe("clustered rate-limit throttling across replicas with REDIS_URL", () => {
  it("paces two replicas' GitHub requests through the same Redis-backed limiters, and the work completes", async () => {
    const redisServer = await startRedis();
    cleanups.push(() => redisServer.stop());
    const redis = new Redis(redisServer.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    cleanups.push(() => { redis.disconnect(); });
    await redis.connect();

    const sim = await GitHubSimulator.create();
    cleanups.push(() => sim.close());
    sim.addOrganization("acme");
    const repo = await sim.createRepository({ owner: "acme", name: "agents", files: AGENTS });
    const http = await sim.listen();
    cleanups.push(() => http.close());

    const replicas = [await startReplica(sim, http.url, redisServer.url), await startReplica(sim, http.url, redisServer.url)];
    const pulls = [];
    // Each replica gets a pull request of its own, opened, approved and merged while the
    // simulator delivers to it alone, so that both certainly talk to GitHub.
    for (const [i, replica] of replicas.entries()) {
      sim.webhookTarget = `${replica.url}/api/github/webhooks`;
      const opened = await approvedPullRequest(sim, repo, `model-${String(i)}`, `2025110${String(i + 1)}`);
      await waitFor(() => sim.checkRunsFor(repo, opened.sha).some((run) => run.name === "Charter" && run.conclusion === "success"), `replica ${String(i)}'s passing check run`, 120_000);
      await sim.mergePullRequest(opened.pull, { by: "dana-support" });
      await waitFor(() => changeRecords(sim, repo).length === i + 1, `replica ${String(i)}'s change record`, 120_000);
      pulls.push(opened.pull.issue.number);
    }
    expect(tally(changeRecords(sim, repo), pulls)).toEqual({ expected: 2, written: 2, duplicated: 0, lost: 0 });
    expect(sim.rejected).toEqual([]);
    // Probot found the ioredis installed with Charter: npx-import-light logs "[NPXI] …" only when
    // it falls back to installing the package with a package runner.
    for (const replica of replicas) expect(replica.output()).not.toContain("[NPXI]");
    const [first, second] = replicas.map((r) => r.sent);
    expect(first?.writes).toBeGreaterThan(0);
    expect(second?.writes).toBeGreaterThan(0);

    // One limiter per kind in Redis, with both processes registered as its clients (Bottleneck's
    // client ids, one per process and limiter), each having scheduled jobs through it.
    const installation = sim.installationOf(repo).id;
    const global = [limiter("global", "no-id"), limiter("global", installation)];
    const write = limiter("write", installation);
    for (const id of [...global, write]) {
      const seen = await redis.zrange(`b_${id}_client_last_seen`, 0, -1);
      expect(seen, `${id}'s clients`).toHaveLength(2);
      const registered = await redis.zrange(`b_${id}_client_last_registered`, 0, -1, "WITHSCORES");
      const scheduledBy = registered.filter((_, i) => i % 2 === 1 && Number(registered[i]) > 0);
      expect(scheduledBy, `${id}'s clients that scheduled a request`).toHaveLength(2);
    }
    // The write limiter's settings are one record for the cluster: GitHub's pacing for
    // content-creating requests (one at a time, a second apart), and a count of the jobs it let
    // through that is the sum of both replicas' writes. The count settles once the last job is
    // freed, hence the polling.
    const settings = await redis.hgetall(`b_${write}_settings`);
    expect({ maxConcurrent: settings["maxConcurrent"], minTime: settings["minTime"] }).toEqual({ maxConcurrent: "1", minTime: "1000" });
    const counted = async (id: string): Promise<number> => Number(await redis.hget(`b_${id}_settings`, "done"));
    const total = (key: keyof Sent): number => replicas.reduce((sum, r) => sum + r.sent[key], 0);
    await waitFor(async () => (await counted(write)) === total("writes"), "the write limiter to count both replicas' writes", 60_000).catch(async (error: unknown) => {
      throw new Error(`${String(error)}: limiter counted ${String(await counted(write))}, replicas sent ${String(first?.writes)} + ${String(second?.writes)}`);
    });
    const countedGlobal = async (): Promise<number> => (await counted(global[0] ?? "")) + (await counted(global[1] ?? ""));
    await waitFor(async () => (await countedGlobal()) === total("all"), "the global limiters to count both replicas' requests", 60_000).catch(async (error: unknown) => {
      throw new Error(`${String(error)}: limiters counted ${String(await countedGlobal())}, replicas sent ${String(first?.all)} + ${String(second?.all)}`);
    });
  }, 400_000);
});
