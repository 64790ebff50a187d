import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { backoffDelayMs, errorSummary } from "../../src/jobs/backoff.js";
import { openJobQueue, queueLocation } from "../../src/jobs/open-queue.js";
import { PostgresJobQueue } from "../../src/jobs/postgres-queue.js";
import { SqliteJobQueue } from "../../src/jobs/sqlite-queue.js";

const dir = mkdtempSync(join(tmpdir(), "charter-open-queue-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("openJobQueue", () => {
  it("uses the embedded SQLite file .charter/queue.sqlite by default, creating its directory", async () => {
    const queue = openJobQueue({}, { cwd: dir });
    expect(queue).toBeInstanceOf(SqliteJobQueue);
    expect(existsSync(join(dir, ".charter", "queue.sqlite"))).toBe(true);
    await queue.close();
  });

  it("takes CHARTER_QUEUE_DB relative to the working directory, or absolute", () => {
    expect(queueLocation({ CHARTER_QUEUE_DB: "var/q.db" }, dir)).toEqual({ kind: "sqlite", path: join(dir, "var", "q.db") });
    expect(queueLocation({ CHARTER_QUEUE_DB: "/srv/q.db" }, dir)).toEqual({ kind: "sqlite", path: "/srv/q.db" });
  });

  it("uses PostgreSQL when DATABASE_URL is set, whatever CHARTER_QUEUE_DB says", async () => {
    const env = { DATABASE_URL: "postgres://charter@127.0.0.1:1/charter", CHARTER_QUEUE_DB: "ignored.sqlite" };
    expect(queueLocation(env, dir)).toEqual({ kind: "postgres", connectionString: env.DATABASE_URL });
    const queue = openJobQueue(env, { cwd: dir });
    expect(queue).toBeInstanceOf(PostgresJobQueue);
    expect(existsSync(join(dir, "ignored.sqlite"))).toBe(false);
    await queue.close();
  });

  it("reports an unreachable PostgreSQL server as an IO error without echoing DATABASE_URL", async () => {
    const queue = openJobQueue({ DATABASE_URL: "postgres://charter:hunter2-secret@127.0.0.1:1/charter" }, { cwd: dir });
    const failure: unknown = await queue.stats().then(
      () => undefined,
      (error: unknown) => error,
    );
    await queue.close();
    expect(failure).toMatchObject({ name: "CharterError", code: "IO" });
    expect((failure as Error).message).not.toContain("hunter2");
  });
});

describe("backoff", () => {
  it("draws the delay from zero up to base·2^(attempt−1), capped", () => {
    const options = { baseMs: 1_000, capMs: 300_000 };
    expect(backoffDelayMs(1, options, () => 0.999_999)).toBe(999);
    expect(backoffDelayMs(4, options, () => 0.5)).toBe(4_000);
    expect(backoffDelayMs(40, options, () => 0.999_999)).toBe(299_999);
    expect(backoffDelayMs(3, options, () => 0)).toBe(0);
  });

  it("keeps only an error's bounded message", () => {
    const error = new Error("x".repeat(5_000), { cause: new Error("token ghs_secret") });
    const summary = errorSummary(error);
    expect(summary.length).toBe(2_000);
    expect(summary).not.toContain("ghs_secret");
    expect(summary).not.toContain("    at ");
    expect(errorSummary("plain")).toBe("plain");
  });
});
