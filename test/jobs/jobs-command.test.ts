import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Logger } from "graphile-worker";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { JobQueue } from "../../src/jobs/job-queue.js";
import { openJobQueue } from "../../src/jobs/open-queue.js";
import { startPostgres, type PostgresServer } from "../helpers/postgres.js";
import { runCli } from "../cli/run-cli.js";
import { waitFor } from "./wait-for.js";

const dir = mkdtempSync(join(tmpdir(), "charter-jobs-cli-"));
let server: PostgresServer;

beforeAll(async () => {
  server = await startPostgres();
}, 60_000);

afterAll(() => {
  server.stop();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  vi.unstubAllEnvs();
});

/** Three jobs through the queue the CLI will open: one done, one dead, one left queued. */
async function seed(queue: JobQueue): Promise<void> {
  await queue.enqueue({ key: "acme/web", deliveryId: "ok-1", event: "push", payload: {} });
  await queue.enqueue({ key: "acme/api", deliveryId: "bad-1", event: "pull_request", payload: {} });
  await queue.start(
    async (job) => {
      await Promise.resolve();
      if (job.deliveryId === "bad-1") throw new Error("evidence branch rejected the push\nsecond line");
    },
    { concurrency: 2, maxAttempts: 1 },
  );
  await waitFor(async () => {
    const stats = await queue.stats();
    return stats.dead === 1 && stats.queued === 0 && stats.running === 0;
  }, "one job done and one dead");
  await queue.stop();
  await queue.enqueue({ key: "acme/docs", deliveryId: "later-1", event: "push", payload: {} });
  await queue.close();
}

async function exerciseCli(cwd: string): Promise<void> {
  const stats = await runCli(["jobs"], cwd);
  expect(stats.code).toBe(1);
  expect(stats.stdout).toMatch(/^queued {4}1$/m);
  expect(stats.stdout).toMatch(/^dead {6}1$/m);
  expect(stats.stdout).toContain("charter jobs dead");

  const dead = await runCli(["jobs", "dead"], cwd);
  expect(dead.code).toBe(0);
  const lines = dead.stdout.trimEnd().split("\n");
  expect(lines[0]).toMatch(/^id\s+event\s+key\s+delivery\s+attempts\s+failed at\s+last error$/);
  expect(lines[1]).toMatch(/^\d+\s+pull_request\s+acme\/api\s+bad-1\s+1\s+\d{4}-\d\d-\d\dT\S+\s+.*evidence branch rejected the push$/);

  const json = await runCli(["jobs", "dead", "--limit", "5", "--format", "json"], cwd);
  const rows = JSON.parse(json.stdout) as { id: string; deliveryId: string; attempts: number; lastError: string }[];
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ deliveryId: "bad-1", attempts: 1 });
  expect(rows[0]?.lastError).toContain("second line");

  const notDead = await runCli(["jobs", "retry", "999999"], cwd);
  expect(notDead).toMatchObject({ code: 1, stdout: "revived 0 dead jobs\n" });
  expect(notDead.stderr).toContain("not a dead job");

  const retried = await runCli(["jobs", "retry", rows[0]?.id ?? "", "--format", "json"], cwd);
  expect(retried).toMatchObject({ code: 0, stdout: '{"revived":1}\n' });

  const after = await runCli(["jobs", "--format", "json"], cwd);
  expect(after.code).toBe(0);
  expect(JSON.parse(after.stdout)).toMatchObject({ queued: 2, running: 0, retrying: 0, dead: 0 });
  expect((await runCli(["jobs", "dead"], cwd)).stdout).toBe("no dead jobs\n");
  expect((await runCli(["jobs", "retry", "--all"], cwd)).stdout).toBe("revived 0 dead jobs\n");
}

describe("charter jobs", () => {
  it("shows counts, lists dead jobs and revives them, on the embedded SQLite queue", async () => {
    const cwd = mkdtempSync(join(dir, "app-"));
    vi.stubEnv("DATABASE_URL", "");
    vi.stubEnv("CHARTER_QUEUE_DB", "state/queue.sqlite");
    await seed(openJobQueue(process.env, { cwd, sqlite: { backoff: { baseMs: 5, capMs: 5 }, pollIntervalMs: 20 } }));
    await exerciseCli(cwd);
  });

  it("does the same on the shared PostgreSQL queue when DATABASE_URL is set", async () => {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query("CREATE DATABASE jobs_cli");
    await admin.end();
    vi.stubEnv("DATABASE_URL", server.urlFor("jobs_cli"));
    const quiet = new Logger(() => () => undefined);
    await seed(openJobQueue(process.env, { postgres: { backoff: { baseMs: 5, capMs: 5 }, pollIntervalMs: 50, logger: quiet } }));
    await exerciseCli(dir);
  });

  it("reports a missing queue file instead of creating one", async () => {
    const cwd = mkdtempSync(join(dir, "empty-"));
    vi.stubEnv("DATABASE_URL", "");
    vi.stubEnv("CHARTER_QUEUE_DB", "");
    const result = await runCli(["jobs"], cwd);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`no job queue at ${join(cwd, ".charter", "queue.sqlite")}`);
  });

  it("refuses retry without ids or --all, and unknown subcommands", async () => {
    expect((await runCli(["jobs", "retry"], dir)).code).toBe(2);
    expect((await runCli(["jobs", "retry", "1", "--all"], dir)).code).toBe(2);
    expect((await runCli(["jobs", "purge"], dir)).stderr).toContain('unknown jobs subcommand "purge"');
    expect((await runCli(["jobs", "dead", "--limit", "0"], dir)).code).toBe(2);
    expect((await runCli(["jobs", "--help"], dir)).stdout).toContain("charter jobs retry ID... | --all");
  });
});
