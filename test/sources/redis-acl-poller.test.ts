import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RedisAclPoller, aclLogReaderRules } from "../../src/sources/redis-acl-poller.js";
import { openSqliteTrail, type SqliteTrailStore } from "../../src/sources/sqlite-trail-store.js";
import { TrailContext } from "../../src/sources/trail-context.js";
import { TrailIngestor } from "../../src/sources/trail-ingestor.js";
import { statusRows } from "../../src/sources/trail-status.js";
import { eventFromBytes } from "../../src/trail/event-bytes.js";
import type { TrailEvent } from "../../src/trail/event.js";
import { runCli } from "../cli/run-cli.js";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { saveEnv } from "../helpers/saved-env.js";

/**
 * A real Redis 7.0 whose ACL LOG records what an agent's ACL user was refused, polled into a
 * real trail store: each denial counted once across polls and poller restarts, and a reset or
 * an overflow of the log shown as a gap instead of passing unnoticed.
 */
const AGENT_USER = "charter-agent-support-triage";
const READER = "charter-trail";

let server: RedisServer;
let admin: Redis;
let readerUrl: string;
let dir: string;
let store: SqliteTrailStore;
let context: TrailContext;
const opened: Redis[] = [];
const pollers: RedisAclPoller[] = [];

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.url, { maxRetriesPerRequest: 0 });
  await admin.call("ACL", "SETUSER", READER, "reset", "on", ">reader-secret", ...aclLogReaderRules());
  readerUrl = `redis://${READER}:reader-secret@127.0.0.1:${String(server.port)}/0`;
  await admin.call("ACL", "SETUSER", AGENT_USER, "reset", "on", ">agent-secret", "~cache:customers:*", "-@all", "+@read");
}, 60_000);
afterAll(async () => {
  admin.disconnect();
  await server.stop();
});
beforeEach(async () => {
  await admin.call("CONFIG", "SET", "acllog-max-len", "128");
  await admin.call("ACL", "LOG", "RESET");
  dir = mkdtempSync(join(tmpdir(), "charter-acl-log-"));
  store = openSqliteTrail(join(dir, "trail.sqlite"));
  context = new TrailContext();
  // As the ledger's loader binds it for an agent with a manifest (trail-context.ts).
  context.principals.add({ principal: AGENT_USER, instance: null, agent: "support-triage", kind: "identity-role", fromMs: 0, untilMs: null });
});
afterEach(async () => {
  for (const c of opened.splice(0)) c.disconnect();
  await Promise.allSettled(pollers.splice(0).map((p) => p.close()));
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function agent(): Promise<Redis> {
  // No ready check: the agent may not run INFO, and its refusal would be one more entry.
  const client = new Redis({ host: "127.0.0.1", port: server.port, username: AGENT_USER, password: "agent-secret", maxRetriesPerRequest: 0, enableReadyCheck: false, lazyConnect: true });
  client.on("error", () => undefined);
  opened.push(client);
  await client.connect();
  return client;
}

/** A fresh poller on the same store, as after a restart of the app. */
async function poll(): Promise<{ events: number; gaps: number }> {
  const ingestor = new TrailIngestor(store, () => context.current());
  const poller = new RedisAclPoller(store, ingestor, { instance: "cache-prod", url: readerUrl });
  pollers.push(poller);
  try {
    return await poller.poll();
  } finally {
    await ingestor.close();
  }
}

async function events(): Promise<TrailEvent[]> {
  return (await store.readChain(1, 100_000)).map((l) => eventFromBytes(l.bytes, l.hash.toString("hex")));
}

async function status(): Promise<{ state: string; gaps: number; lastGap: string | null }> {
  const row = (await statusRows(store, Date.now(), 3_600_000)).find((r) => r.source === "redis-acl" && r.instance === "cache-prod");
  return { state: row?.state ?? "absent", gaps: row?.gaps ?? 0, lastGap: row?.lastGap ?? null };
}

describe("the Redis ACL LOG as an attested trail source", () => {
  it("turns each denial into one attributed event, counts a merged entry's growth once, and adds nothing on re-polls or a restarted poller", async () => {
    const client = await agent();
    await expect(client.get("cache:orders:1")).rejects.toThrow(/NOPERM/);
    await expect(client.get("cache:orders:1")).rejects.toThrow(/NOPERM/);
    await expect(client.set("cache:customers:1", "x")).rejects.toThrow(/NOPERM/);
    const refused = new Redis({ host: "127.0.0.1", port: server.port, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    refused.on("error", () => undefined);
    opened.push(refused);
    await refused.connect();
    await expect(refused.call("AUTH", AGENT_USER, "guessed-password")).rejects.toThrow(/WRONGPASS/);

    expect(await poll()).toEqual({ events: 3, gaps: 0 });
    // Denials a millisecond apart may come in either order (the log gives ages, not times).
    const first = (await events()).sort((a, b) => (a.detail["reason"] ?? "").localeCompare(b.detail["reason"] ?? ""));
    expect(first.map((e) => [e.principal, e.agent, e.action, e.resource, e.outcome, e.errorCode, e.detail["reason"], e.detail["count"]])).toEqual([
      [AGENT_USER, "support-triage", "connect", null, "denied", "WRONGPASS", "auth", "1"],
      [AGENT_USER, "support-triage", "set", null, "denied", "NOPERM", "command", "1"],
      [AGENT_USER, "support-triage", "read", "cache:orders:1", "denied", "NOPERM", "key", "2"],
    ]);
    expect(first.every((e) => e.attested && e.source === "redis-acl" && e.instance === "cache-prod" && e.system === "redis")).toBe(true);
    expect(first[2]?.permission).toBe("redis:read:cache:orders:1@cache-prod");
    expect(first[2]?.detail["client.user"]).toBe(AGENT_USER);
    // Passwords never reach the trail: not the agent's, not the one guessed, not the reader's.
    const bytes = JSON.stringify(first);
    for (const secret of ["agent-secret", "guessed-password", "reader-secret", server.password]) expect(bytes).not.toContain(secret);

    expect(await poll()).toEqual({ events: 0, gaps: 0 });
    await expect(client.get("cache:orders:1")).rejects.toThrow(/NOPERM/);
    await expect(client.get("cache:orders:1")).rejects.toThrow(/NOPERM/);
    await expect(client.get("cache:orders:1")).rejects.toThrow(/NOPERM/);
    expect(await poll()).toEqual({ events: 1, gaps: 0 });
    expect(await poll()).toEqual({ events: 0, gaps: 0 });
    const all = await events();
    expect(all).toHaveLength(4);
    // The server merged the five refusals into one entry; the trail holds 2 + 3 of them.
    expect(all[3]?.detail["count"]).toBe("3");
    const log = (await admin.call("ACL", "LOG")) as unknown[][];
    expect(log.filter((e) => e.includes("cache:orders:1"))).toEqual([expect.arrayContaining(["count", 5])]);
    expect(await status()).toMatchObject({ state: "ok", gaps: 0 });
  });

  it("shows an operator's ACL LOG RESET as a gap, also when someone recreates the marker entry afterwards", async () => {
    const client = await agent();
    await expect(client.get("cache:orders:1")).rejects.toThrow(/NOPERM/);
    expect(await poll()).toEqual({ events: 1, gaps: 0 });
    await expect(client.get("cache:orders:2")).rejects.toThrow(/NOPERM/);
    await admin.call("ACL", "LOG", "RESET");
    // The attacker's cover: a refused AUTH as the marker user, as the poller itself sends.
    const forger = new Redis({ host: "127.0.0.1", port: server.port, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    forger.on("error", () => undefined);
    opened.push(forger);
    await forger.connect();
    await new Promise((r) => setTimeout(r, 50));
    await expect(forger.call("AUTH", "charter-acl-log-marker", "x")).rejects.toThrow(/WRONGPASS/);
    expect(await poll()).toEqual({ events: 0, gaps: 1 });
    const s = await status();
    expect(s.state).toBe("gapped");
    expect(s.lastGap).toMatch(/ACL LOG lost entries between .* the log was reset \(ACL LOG RESET\), the server restarted, or more denials arrived than acllog-max-len keeps/);
    // The next poll starts from the new marker: no second gap.
    expect(await poll()).toEqual({ events: 0, gaps: 0 });
  });

  it("shows entries dropped past acllog-max-len as a gap, and none while the log keeps up", async () => {
    await admin.call("CONFIG", "SET", "acllog-max-len", "4");
    const client = await agent();
    expect(await poll()).toEqual({ events: 0, gaps: 0 });
    for (const key of ["cache:a", "cache:b"]) await expect(client.get(key)).rejects.toThrow(/NOPERM/);
    // Two new entries and the marker fit in four.
    expect(await poll()).toEqual({ events: 2, gaps: 0 });
    for (const key of ["cache:c", "cache:d", "cache:e", "cache:f", "cache:g"]) await expect(client.get(key)).rejects.toThrow(/NOPERM/);
    const result = await poll();
    expect(result.gaps).toBe(1);
    // Only what the log still held was recorded; the rest is the gap.
    expect(result.events).toBe(4);
    expect((await status()).state).toBe("gapped");
  });

  it("refuses a reader user without the documented rules with an error naming its variable", async () => {
    await admin.call("ACL", "SETUSER", "weak-reader", "reset", "on", ">weak", "-@all", "+time");
    const ingestor = new TrailIngestor(store, () => context.current());
    const poller = new RedisAclPoller(store, ingestor, { instance: "cache-prod", url: `redis://weak-reader:weak@127.0.0.1:${String(server.port)}/0` });
    pollers.push(poller);
    try {
      await expect(poller.poll()).rejects.toThrow(/ACL LOG of Redis instance cache-prod failed: .*NOPERM/);
      const error = await poller.poll().then(() => null, (e: unknown) => e as { hint?: string });
      expect(error?.hint).toContain("CHARTER_TRAIL_REDIS_CACHE_PROD");
    } finally {
      await ingestor.close();
    }
    expect(await events()).toEqual([]);
  });

  it("charter trail ingest --source redis-acl continues from the saved state, and charter trail status shows the reset as a gap", async () => {
    const restore = saveEnv(["CHARTER_TRAIL_REDIS_CACHE_PROD"]);
    process.env["CHARTER_TRAIL_REDIS_CACHE_PROD"] = readerUrl;
    const db = join(dir, "trail.sqlite");
    try {
      const client = await agent();
      await expect(client.get("cache:orders:1")).rejects.toThrow(/NOPERM/);
      const first = await runCli(["trail", "ingest", "--source", "redis-acl", "--instance", "cache-prod", "--db", db], dir);
      expect([first.code, first.stdout]).toEqual([0, expect.stringMatching(/^1 event stored from the ACL LOG of cache-prod; the trail holds 1 /)]);
      // The app's poller (here: a restarted one) takes over from the CLI's read.
      expect(await poll()).toEqual({ events: 0, gaps: 0 });
      await admin.call("ACL", "LOG", "RESET");
      const again = await runCli(["trail", "ingest", "--source", "redis-acl", "--instance", "cache-prod", "--db", db], dir);
      expect(again.stdout).toContain("0 events stored from the ACL LOG of cache-prod, 1 gap(s) recorded");
      const table = await runCli(["trail", "status", "--db", db], dir);
      expect(table.code).toBe(1);
      expect(table.stdout).toMatch(/redis-acl\/cache-prod {2}attested {2}1 events .* gapped {2}at read \d{4}-.*, 0 entries remembered {2}1 gap\(s\): ACL LOG lost entries between/);
      const file = await runCli(["trail", "ingest", "--source", "redis-acl", "--instance", "cache-prod", "--db", db, "log.json"], dir);
      expect([file.code, file.stderr]).toEqual([2, expect.stringContaining("--source redis-acl reads the server, not a file")]);
    } finally {
      restore();
    }
  });
});
