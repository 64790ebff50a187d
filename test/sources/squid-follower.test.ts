import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SquidProvider } from "../../src/providers/squid/index.js";
import { squidFollower } from "../../src/sources/pgaudit-follower.js";
import { openSqliteTrail, type SqliteTrailStore } from "../../src/sources/sqlite-trail-store.js";
import { TrailContext } from "../../src/sources/trail-context.js";
import { TrailIngestor } from "../../src/sources/trail-ingestor.js";
import { eventFromBytes } from "../../src/trail/event-bytes.js";
import type { TrailEvent } from "../../src/trail/event.js";
import { runCli } from "../cli/run-cli.js";
import { runGroup } from "../helpers/child-processes.js";
import { agent, type SquidFixture, startSquidFixture, sync, UPSTREAM } from "../providers/squid/fixture.js";

/**
 * A real squid writing the JSON access log the provider configures, requests through it with
 * an agent's lease, and the follower reading what squid wrote: each request once, attributed
 * to the agent, across a restart of the follower and squid's own log rotation.
 */
let f: SquidFixture;
let provider: SquidProvider;
let base: string;
let dir: string;

beforeAll(async () => {
  f = await startSquidFixture();
  provider = f.provider();
  base = `http://${UPSTREAM}:${String(f.upstreamPort)}`;
  const desired = [agent("support-triage", [`http:get:${UPSTREAM}:${String(f.upstreamPort)}/v1/tickets/*`])];
  await sync(provider, desired);
  await f.squid.start();
  await sync(provider, desired);
  dir = mkdtempSync(join(tmpdir(), "charter-squid-trail-"));
}, 60_000);
afterAll(async () => {
  await f.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function all(store: SqliteTrailStore): Promise<TrailEvent[]> {
  return (await store.readChain(1, 100_000)).map((l) => eventFromBytes(l.bytes, l.hash.toString("hex")));
}

/** squid writes its log through a buffer: waits until `count` lines are in the file. */
async function lines(path: string, count: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const text = existsSync(path) ? readFileSync(path, "utf8") : "";
    if (text.split("\n").filter((l) => l !== "").length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${path} never reached ${String(count)} lines`);
}

describe("following squid's access log", () => {
  it("records each request once, attributed to the agent, across a follower restart and squid's log rotation", async () => {
    const log = join(f.squid.directory, "access.log");
    const store = openSqliteTrail(join(dir, "trail.sqlite"));
    try {
      const context = new TrailContext();
      // What loading the ledger adds for an approved agent: its proxy identity.
      context.principals.add({ principal: "charter-agent-support-triage", instance: null, agent: "support-triage", kind: "identity-role", fromMs: 0, untilMs: null });
      const follow = () => squidFollower(store, new TrailIngestor(store, () => context.current()), "egress", log);
      const lease = await provider.issueLease("support-triage", { ttlSeconds: 600 });
      const creds = `${lease.username}:${lease.password}`;
      expect((await f.send("GET", `${base}/v1/tickets/1?token=secret-value`, creds)).status).toBe(200);
      expect((await f.send("POST", `${base}/v1/tickets/1`, creds)).status).toBe(403);
      expect((await f.send("GET", `${base}/v1/tickets/1`)).status).toBe(407);
      await lines(log, 3);
      await follow().catchUp();
      const first = await all(store);
      expect(first.map((e) => [e.source, e.principal, e.agent, e.action, e.resource, e.outcome, e.errorCode])).toEqual([
        ["squid", "charter-agent-support-triage", "support-triage", "get", `${UPSTREAM}:${String(f.upstreamPort)}/v1/tickets/1`, "allowed", null],
        ["squid", "charter-agent-support-triage", "support-triage", "post", `${UPSTREAM}:${String(f.upstreamPort)}/v1/tickets/1`, "denied", "403"],
        ["squid", "", null, "get", `${UPSTREAM}:${String(f.upstreamPort)}/v1/tickets/1`, "denied", "407"],
      ]);
      expect(first[0]).toMatchObject({ attested: true, detail: { status: "200", lease: lease.lease } });
      expect(JSON.stringify(first)).not.toContain("secret-value");
      expect(JSON.stringify(first)).not.toContain(lease.password);

      // A new follower on the same store resumes where the last one stopped.
      await follow().catchUp();
      expect((await store.tip()).seq).toBe(3);

      // squid renames access.log to access.log.0 and opens a new one; lines on both sides.
      expect((await f.send("GET", `${base}/v1/tickets/2`, creds)).status).toBe(200);
      await lines(log, 4);
      await runGroup(f.squid.program, ["-k", "rotate", "-f", join(f.squid.directory, "squid.conf")], { timeoutMs: 30_000 });
      await lines(`${log}.0`, 4);
      expect((await f.send("GET", `${base}/v1/tickets/3`, creds)).status).toBe(200);
      await lines(log, 1);
      await follow().catchUp();
      const after = await all(store);
      expect(after.map((e) => e.resource?.split("/").pop())).toEqual(["1", "1", "1", "2", "3"]);
      expect(new Set(after.map((e) => e.sourceKey)).size).toBe(after.length);
      expect((await store.gaps()).filter((g) => g.source === "squid")).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("backfills from the CLI, records nothing twice, and trail status shows the source", async () => {
    const db = join(dir, "cli.sqlite");
    const file = join(f.squid.directory, "access.log.0");
    const first = await runCli(["trail", "ingest", "--source", "squid", file, "--instance", "egress", "--db", db], dir);
    expect(first.stdout).toMatch(/^4 events stored/);
    const again = await runCli(["trail", "ingest", "--source", "squid", file, "--instance", "egress", "--db", db], dir);
    expect(again.stdout).toMatch(/^0 events stored/);
    const status = await runCli(["trail", "status", "--format", "json", "--db", db], dir);
    expect(status.stdout).toContain('"squid"');
    expect(status.stdout).toContain('"egress"');
    expect((await runCli(["trail", "ingest", "--source", "squid", file, "--db", db], dir)).stderr).toMatch(/--source squid needs --instance/);
  });
});
