import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectDrift } from "../../../src/provision/engine.js";
import type { DesiredState } from "../../../src/provision/desired-state.js";
import type { DesiredAgent } from "../../../src/provision/provider.js";
import type { RedisProvider } from "../../../src/providers/redis/index.js";
import { agent, type RedisFixture, startRedisFixture, sync } from "./fixture.js";

let f: RedisFixture;
let provider: RedisProvider;
const USER = "charter-agent-support-triage";
const triage = agent("support-triage", ["redis:read:cache:customers:*@cache-prod"]);

beforeAll(async () => {
  f = await startRedisFixture();
  provider = f.provider();
  const first = await sync(provider, [triage]);
  expect(first.after).toEqual({ operations: [], findings: [] });
});
afterAll(async () => {
  await f.stop();
});

function state(agents: readonly DesiredAgent[]): DesiredState {
  return { commit: "a".repeat(40), agents: agents.map((a) => a.id), retired: new Set(), byProvider: new Map([["redis@cache-prod", agents]]), unrouted: [] };
}

describe("redis drift", () => {
  it("finds `ACL SETUSER agent +@all` run by hand, says what it allows and how to fix it, and a sync takes it back", async () => {
    await f.admin.call("ACL", "SETUSER", USER, "+@all");
    const drift = await detectDrift([provider], state([triage]), { prune: false });
    expect(drift).toHaveLength(1);
    expect(drift[0]).toMatchObject({ provider: "redis", instance: "cache-prod", agent: "support-triage", kind: "acl-rules" });
    expect(drift[0]?.detail).toMatch(/may run \d+ command\(s\) nobody approved \(.*\)/);
    expect(drift[0]?.detail).toContain("a sync resets its rules");
    const { applied, after } = await sync(provider, [triage]);
    expect(applied.map((o) => [o.action, o.status])).toEqual([["set-rules", "applied"]]);
    expect(after).toEqual({ operations: [], findings: [] });
    expect(String(await f.admin.call("ACL", "DRYRUN", USER, "FLUSHALL"))).toMatch(/no permissions/);
  });

  it("finds key patterns and channels nobody approved, keeps the agent's live lease through the fix", async () => {
    const lease = await provider.issueLease("support-triage", { ttlSeconds: 600 });
    await f.admin.call("ACL", "SETUSER", USER, "~*", "&*");
    const drift = await detectDrift([provider], state([triage]), { prune: false });
    expect(drift.map((d) => d.kind)).toEqual(["acl-rules"]);
    expect(drift[0]?.detail).toContain("holds keys");
    expect(drift[0]?.detail).toContain("may use channels &*");
    await sync(provider, [triage]);
    const client = await f.connectAs(lease.username, lease.password);
    await f.admin.set("cache:other:1", "x");
    await expect(client.get("cache:other:1")).rejects.toThrow(/NOPERM/);
    await f.admin.set("cache:customers:9", "ok");
    expect(await client.get("cache:customers:9")).toBe("ok");
  });

  it("finds a password set by hand and removes it", async () => {
    await f.admin.call("ACL", "SETUSER", USER, ">typed-by-hand");
    const drift = await detectDrift([provider], state([triage]), { prune: false });
    expect(drift.map((d) => d.kind)).toEqual(["unknown-credential"]);
    await sync(provider, [triage]);
    await expect(f.connectAs(USER, "typed-by-hand")).rejects.toThrow(/WRONGPASS/);
  });

  it("reports an unmanaged user and a look-alike without Charter's record, and never touches them", async () => {
    await f.admin.call("ACL", "SETUSER", "backdoor", "on", ">pw", "~*", "+@all");
    await f.admin.call("ACL", "SETUSER", "charter-agent-impostor", "on", ">pw", "~*", "+@all");
    await f.admin.call("ACL", "SETUSER", "app-cache", "on", ">pw", "~app:*", "+get");
    const known = f.provider({ knownUsers: ["default", "app-cache"] });
    const drift = await detectDrift([known], state([triage]), { prune: true });
    expect(drift.map((d) => [d.agent, d.kind])).toEqual([
      ["-", "unmanaged-user"],
      ["impostor", "unmanaged-identity"],
    ]);
    // The finding is about the user, under no agent's name, and says how to remove it.
    expect(drift[0]?.detail).toMatch(/^ACL user backdoor is not owned by any manifest and not listed in knownUsers \(enabled, commands \+@all, keys ~\*\)/);
    expect(drift[0]?.fix).toBe("ACL DELUSER backdoor");
    const { applied, after } = await sync(known, [triage], true);
    expect(applied).toEqual([]);
    expect(after.findings.map((d) => d.kind)).toEqual(["unmanaged-user", "unmanaged-identity"]);
    expect(await f.admin.call("ACL", "GETUSER", "charter-agent-impostor")).not.toBeNull();
    await f.admin.call("ACL", "DELUSER", "backdoor", "charter-agent-impostor", "app-cache");
  });

  it("reports a user whose marker says it is Charter's but whose agent has no manifest as orphaned, and removes it only when pruning", async () => {
    const orphan = agent("old-agent", ["redis:read:cache:customers:*@cache-prod"]);
    await sync(provider, [triage, orphan]);
    const kept = await sync(provider, [triage]);
    expect(kept.before.findings.map((d) => [d.agent, d.kind])).toEqual([["old-agent", "orphaned-identity"]]);
    const pruned = await sync(provider, [triage], true);
    expect(pruned.applied.map((o) => o.action)).toEqual(["revoke-login", "terminate-sessions", "drop-identity"]);
    expect(pruned.after).toEqual({ operations: [], findings: [] });
  });

  it("has nothing to do at a new commit that left the manifest alone: no marker rewrite, no drift", async () => {
    await sync(provider, [triage]);
    const { before, after } = await sync(provider, [{ ...triage, commit: "e".repeat(40) }]);
    expect(before).toEqual({ operations: [], findings: [] });
    expect(after).toEqual({ operations: [], findings: [] });
  });

  it("tells a new approval from drift: a changed manifest is work to do, not a finding", async () => {
    const widened = { ...triage, commit: "c".repeat(40), manifestSha256: "d".repeat(64), permissions: [...triage.permissions, ...agent("x", ["redis:write:cache:customers:*@cache-prod"]).permissions] };
    const { before, after } = await sync(provider, [widened]);
    expect(before.findings).toEqual([]);
    expect(before.operations.map((o) => o.action)).toEqual(["update-identity", "set-rules"]);
    expect(after).toEqual({ operations: [], findings: [] });
  });
});
