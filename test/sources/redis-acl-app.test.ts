import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { aclLogReaderRules } from "../../src/sources/redis-acl-poller.js";
import type { SourceState } from "../../src/sources/trail-status.js";
import { runCli } from "../cli/run-cli.js";
import { GitHubSimulator } from "../github-sim/index.js";
import { ownAgents } from "../helpers/agents-fixture.js";
import { startCharterProcess } from "../helpers/start-charter-process.js";
import { startRedis } from "../helpers/redis.js";
import { waitFor } from "../jobs/wait-for.js";

/**
 * The app (`npm start`, as a process) polling a real Redis's ACL LOG: a refusal reaches the
 * trail, the source is listed but never called silent, and an operator's ACL LOG RESET shows as
 * a gap in `charter trail status`.
 */
const KEYS = generateSignerKey("charter-test-redis-acl-app");
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("the running app's Redis ACL LOG poller", () => {
  it("records a refusal, is never silent, and shows a reset of the log as a gap", async () => {
    const dir = mkdtempSync(join(tmpdir(), "charter-acl-app-"));
    cleanups.push(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const server = await startRedis();
    cleanups.push(() => server.stop());
    const admin = new Redis(server.url, { maxRetriesPerRequest: 0 });
    cleanups.push(() => {
      admin.disconnect();
    });
    await admin.call("ACL", "SETUSER", "charter-trail", "reset", "on", ">reader-secret", ...aclLogReaderRules());
    await admin.call("ACL", "SETUSER", "charter-agent-support-triage", "reset", "on", ">agent-secret", "~cache:customers:*", "-@all", "+@read");

    const db = join(dir, "trail.sqlite");
    const sim = await GitHubSimulator.create();
    cleanups.push(() => sim.close());
    sim.addOrganization("acme");
    await sim.createRepository({ owner: "acme", name: "agents", files: ownAgents() });
    const http = await sim.listen();
    cleanups.push(() => http.close());
    const app = await startCharterProcess(sim, {
      simUrl: http.url,
      signingKey: KEYS.signerKey,
      env: {
        CHARTER_QUEUE_DB: join(dir, "queue.sqlite"),
        CHARTER_TRAIL_DB: db,
        CHARTER_TRAIL_REPOSITORY: "acme/agents",
        CHARTER_TRAIL_REDIS_CACHE_PROD: `redis://charter-trail:reader-secret@127.0.0.1:${String(server.port)}/0`,
        CHARTER_TRAIL_SILENT_AFTER: "1s",
      },
    });
    cleanups.push(() => app.kill());

    const row = async (): Promise<SourceState | undefined> => {
      const status = await runCli(["trail", "status", "--db", db, "--format", "json"], dir);
      return (JSON.parse(status.stdout) as { sources: SourceState[] }).sources.find((r) => r.source === "redis-acl" && r.instance === "cache-prod");
    };
    const agent = new Redis({ host: "127.0.0.1", port: server.port, username: "charter-agent-support-triage", password: "agent-secret", maxRetriesPerRequest: 0, enableReadyCheck: false, lazyConnect: true });
    agent.on("error", () => undefined);
    cleanups.push(() => {
      agent.disconnect();
    });
    await agent.connect();
    await expect(agent.get("cache:orders:1")).rejects.toThrow(/NOPERM/);
    await waitFor(async () => (await row())?.events === 1, "the refusal in the trail", 60_000);
    // Well past the 1 s silence limit with nothing new: a quiet ACL LOG is not a silent source.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await row()).toMatchObject({ attested: true, events: 1, state: "ok", gaps: 0 });

    await admin.call("ACL", "LOG", "RESET");
    await waitFor(async () => (await row())?.state === "gapped", "the reset as a gap", 60_000);
    expect((await row())?.lastGap).toContain("the log was reset (ACL LOG RESET)");
  });
});
