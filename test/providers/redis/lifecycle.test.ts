import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isCharterError } from "../../../src/errors.js";
import { detectDrift, sync as engineSync } from "../../../src/provision/engine.js";
import { driftBody, provisioningBody } from "../../../src/provision/provisioning-record.js";
import type { DesiredState } from "../../../src/provision/desired-state.js";
import type { DesiredAgent } from "../../../src/provision/provider.js";
import type { RedisProvider } from "../../../src/providers/redis/index.js";
import { agent, type RedisFixture, startRedisFixture, sync } from "./fixture.js";

let f: RedisFixture;
let provider: RedisProvider;
beforeAll(async () => {
  f = await startRedisFixture();
  provider = f.provider();
});
afterAll(async () => {
  await f.stop();
});

const USER = "charter-agent-support-triage";
const triage = agent("support-triage", ["redis:read:cache:customers:*@cache-prod", "redis:write:queue:jobs:*@cache-prod", "redis:read:queue:jobs:*@cache-prod", "redis:write:audit:in:*@cache-prod"]);

const denied = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => "allowed",
    (error: unknown) => (error instanceof Error ? error.message : String(error)),
  );

function state(agents: readonly DesiredAgent[]): DesiredState {
  return {
    commit: "a".repeat(40),
    agents: agents.map((a) => a.id).sort(),
    retired: new Set(agents.filter((a) => a.status === "retired").map((a) => a.id)),
    byProvider: new Map([["redis@cache-prod", agents]]),
    unrouted: [],
  };
}

describe("redis provider lifecycle", () => {
  it("creates one user with exactly the approved keys and read/write commands, and a second sync has nothing to do", async () => {
    const { before, applied, after } = await sync(provider, [triage]);
    expect(before.operations.map((o) => [o.action, o.target])).toEqual([["create-identity", USER]]);
    expect(applied.map((o) => o.status)).toEqual(["applied"]);
    expect(after).toEqual({ operations: [], findings: [] });

    const lease = await provider.issueLease("support-triage", { ttlSeconds: 600 });
    const client = await f.connectAs(lease.username, lease.password);
    await f.admin.set("cache:customers:1", "alice");
    await f.admin.set("cache:orders:1", "order");
    await f.admin.set("audit:in:1", "entry");
    expect(await client.get("cache:customers:1")).toBe("alice");
    expect(await client.lpush("queue:jobs:a", "job")).toBe(1);
    expect(await client.lrange("queue:jobs:a", 0, -1)).toEqual(["job"]);
    // Read-only pattern: no write. Write-only pattern: writes that return no data, no reads.
    expect(await denied(client.set("cache:customers:1", "mallory"))).toMatch(/NOPERM/);
    expect(await client.set("audit:in:2", "x")).toBe("OK");
    expect(await denied(client.get("audit:in:1"))).toMatch(/NOPERM/);
    // Keys nobody approved, and commands that reach past the key patterns.
    expect(await denied(client.get("cache:orders:1"))).toMatch(/NOPERM/);
    for (const command of [["FLUSHALL"], ["KEYS", "*"], ["SCAN", "0"], ["RANDOMKEY"], ["CONFIG", "GET", "*"], ["EVAL", "return 1", "0"], ["FUNCTION", "FLUSH"], ["ACL", "LIST"], ["HGETALL", "#charter:leases"], ["PUBLISH", "c", "m"], ["SELECT", "1"]]) {
      expect(await denied(client.call(command[0] as string, ...command.slice(1))), command.join(" ")).toMatch(/NOPERM/);
    }
  });

  it("refuses a lease longer than maxLifetime, and one for an agent it does not manage", async () => {
    for (const [id, ttl, code] of [["support-triage", 3601, "OUT_OF_RANGE"], ["support-triage", 0, "OUT_OF_RANGE"], ["nobody", 60, "NOT_FOUND"]] as const) {
      const error = await provider.issueLease(id, { ttlSeconds: ttl }).catch((e: unknown) => e);
      expect(isCharterError(error) && error.code, `${id} ${ttl}`).toBe(code);
    }
  });

  it("removes an expired lease's password at the next sync, after which it no longer logs in", async () => {
    const lease = await provider.issueLease("support-triage", { ttlSeconds: 1 });
    const open = await f.connectAs(lease.username, lease.password);
    // Wait for the server's clock to pass the lease's end; nothing is asserted about how long it took.
    while (Number(((await f.admin.call("TIME")) as string[])[0]) * 1000 <= Date.parse(lease.validUntil)) await new Promise((r) => setTimeout(r, 100));
    const { before, after } = await sync(provider, [triage]);
    expect(before.operations.map((o) => o.action)).toContain("drop-expired-lease");
    expect(after).toEqual({ operations: [], findings: [] });
    expect(await denied(f.connectAs(lease.username, lease.password))).toMatch(/WRONGPASS/);
    open.disconnect();
  });

  it("ends connections older than maxLifetime: they can only have logged in with a password that has expired", async () => {
    const short = agent("short-lived", ["redis:read:cache:customers:*@cache-prod"], { maxLifetimeSeconds: 1 });
    await sync(provider, [triage, short]);
    const lease = await provider.issueLease("short-lived", { ttlSeconds: 1 });
    const client = await f.connectAs(lease.username, lease.password);
    await f.admin.set("cache:customers:2", "bob");
    expect(await client.get("cache:customers:2")).toBe("bob");
    // CLIENT LIST counts age in whole seconds; wait until this connection is older than one.
    while (!String(await f.admin.call("CLIENT", "LIST", "TYPE", "normal")).split("\n").some((l) => l.includes(`user=${lease.username}`) && Number(/ age=(\d+)/.exec(l)?.[1]) > 1)) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const { before, after } = await sync(provider, [triage, short]);
    expect(before.findings).toContainEqual(expect.objectContaining({ agent: "short-lived", kind: "lifetime" }));
    expect(before.operations.map((o) => o.action)).toContain("end-expired-sessions");
    expect(await denied(client.get("cache:customers:2"))).not.toBe("allowed");
    expect(after.operations).toEqual([]);
  });

  it("retires an agent: its user is deleted, its records removed and its open connection cut", async () => {
    const lease = await provider.issueLease("support-triage", { ttlSeconds: 600 });
    const live = await f.connectAs(lease.username, lease.password);
    expect(await live.get("cache:customers:1")).toBe("alice");
    const retired = { ...triage, status: "retired" as const, permissions: [] };
    const { before, applied, after } = await sync(provider, [retired]);
    expect(before.operations.map((o) => o.action)).toEqual(["revoke-login", "terminate-sessions", "drop-identity"]);
    expect(applied.every((o) => o.status === "applied")).toBe(true);
    expect(after.operations).toEqual([]);
    expect(await denied(live.get("cache:customers:1"))).not.toBe("allowed");
    expect(await f.admin.call("ACL", "GETUSER", USER)).toBeNull();
    expect(await f.admin.hget("#charter:identities", USER)).toBeNull();
    expect(Object.values(await f.admin.hgetall("#charter:leases")).some((v) => v.includes('"support-triage"'))).toBe(false);
    expect(await denied(f.connectAs(lease.username, lease.password))).toMatch(/WRONGPASS/);
  });

  it("never puts a password or its hash in a plan, a record, a drift finding or the output", async () => {
    const writes: string[] = [];
    const original = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
    const capture = (chunk: string | Uint8Array): boolean => {
      writes.push(String(chunk));
      return true;
    };
    process.stdout.write = capture;
    process.stderr.write = capture;
    try {
      const first = await engineSync([provider], state([triage]), { prune: false });
      const lease = await provider.issueLease("support-triage", { ttlSeconds: 600 });
      // A password set by hand too: the finding about it must not carry it either.
      await f.admin.call("ACL", "SETUSER", USER, ">hand-set-secret-4711");
      const drift = await detectDrift([provider], state([triage]), { prune: false });
      const second = await engineSync([provider], state([triage]), { prune: false });
      const retire = await engineSync([provider], state([{ ...triage, status: "retired", permissions: [] }]), { prune: false });
      const context = { repository: { id: "1", fullName: "acme/agents" }, source: "operator" as const, after: null };
      const everything = JSON.stringify([
        first,
        second,
        retire,
        drift,
        provisioningBody(first, context),
        provisioningBody(second, context),
        provisioningBody(retire, context),
        driftBody(drift, { repository: context.repository, commit: "a".repeat(40) }),
        writes,
      ]);
      expect(drift.map((d) => d.kind)).toContain("unknown-credential");
      expect(second.applied.map((o) => o.action)).toContain("revoke-password");
      for (const secret of [lease.password, "hand-set-secret-4711"]) {
        expect(everything).not.toContain(secret);
        expect(everything).not.toContain(createHash("sha256").update(secret).digest("hex"));
      }
      expect(everything).not.toContain(f.provisionerUrl.split(":")[2]?.split("@")[0] ?? "unreachable");
    } finally {
      process.stdout.write = original.out;
      process.stderr.write = original.err;
    }
  });
});
