import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Permission } from "../../../src/manifest/permission.js";
import type { RedisProvider } from "../../../src/providers/redis/index.js";
import { agent, type RedisFixture, startRedisFixture, sync } from "./fixture.js";

// Agent ids and key patterns come from pull requests. The manifest validator refuses these
// already; the provider must refuse them again, since its input can also come from an inventory
// or a caller that skipped validation.
let f: RedisFixture;
let provider: RedisProvider;
beforeAll(async () => {
  f = await startRedisFixture();
  provider = f.provider();
});
afterAll(async () => {
  await f.stop();
});

const forged = (resource: string, action = "read"): Permission => ({ raw: `redis:${action}:${resource}@cache-prod`, system: "redis", action, resource, instance: "cache-prod" });

async function aclList(): Promise<string[]> {
  return ((await f.admin.call("ACL", "LIST")) as string[]).filter((line) => !line.startsWith("user default ") && !line.startsWith("user charter-provisioner "));
}

describe("redis provider against attacker-written names", () => {
  it("derives no user from an agent id that carries ACL rules", async () => {
    const ids = ["x >secret +@all", "x\n+@all", "evil ~* +@all", "UPPER", "a|b", "x%RW~*"];
    const { before, applied } = await sync(provider, ids.map((id) => agent(id, ["redis:read:cache:a:*@cache-prod"])));
    expect(applied).toEqual([]);
    expect(before.findings.map((finding) => finding.kind)).toEqual(ids.map(() => "invalid-agent"));
    expect(await aclList()).toEqual([]);
  });

  it("writes no key pattern that is not the grammar's: spaces, rule characters and glob syntax are refused", async () => {
    const patterns = ["cache:* +@all", "cache:*\n+@all", "cache:* ~*", ">secret", "+@all", "cache:[a-z]*", "cache:?", "cache:\\*", "*", ":*", "cache:*:x*", "#charter:*", "~cache", "&*"];
    const desired = { ...agent("triage", ["redis:read:cache:ok:*@cache-prod"]), permissions: [...agent("t", ["redis:read:cache:ok:*@cache-prod"]).permissions, ...patterns.map((p) => forged(p))] };
    const { before, after } = await sync(provider, [desired]);
    expect(before.findings.map((finding) => finding.kind)).toEqual(patterns.map(() => "invalid-permission"));
    expect(after.operations).toEqual([]);
    const [line, ...rest] = await aclList();
    expect(rest).toEqual([]);
    // One key pattern, no channel, no password, and commands only from the read set.
    expect(line).toMatch(/^user charter-agent-triage on sanitize-payload %R~cache:ok:\* resetchannels -@all /);
    expect(String(await f.admin.call("ACL", "DRYRUN", "charter-agent-triage", "GET", "cache:ok:1"))).toBe("OK");
    for (const command of [["SET", "cache:ok:1", "x"], ["GET", "other"], ["GET", "#charter:leases"], ["FLUSHALL"]]) {
      expect(String(await f.admin.call("ACL", "DRYRUN", "charter-agent-triage", ...command)), command.join(" ")).toMatch(/no permissions/);
    }
  });

  it("refuses a forged plan: rules Charter does not write, and users it does not own", async () => {
    const forgedOps = [
      { type: "set-rules", user: "default", agent: "default", rules: ["-@all"] },
      { type: "delete-user", user: "charter-provisioner", agent: "x" },
      { type: "create-user", user: "charter-agent-evil", marker: "{}", rules: ["-@all", "+@all"] },
      { type: "create-user", user: "charter-agent-evil", marker: "{}", rules: ["-@all", "~* +@all"] },
      { type: "create-user", user: "charter-agent-evil", marker: "{}", rules: ["-@all", "allkeys"] },
      { type: "create-user", user: "charter-agent-evil", marker: "{}", rules: [">password", "-@all"] },
      { type: "kill-connections", user: "charter-agent-evil", ids: ["1 USER default"] },
    ].map((payload) => ({ provider: "redis", instance: "cache-prod", agent: "evil", action: "forged", target: "x", payload }));
    const results = await provider.apply(forgedOps);
    expect(results.map((r) => r.status)).toEqual(forgedOps.map(() => "failed"));
    expect(results.map((r) => r.error)).toEqual([
      expect.stringContaining("not a Charter agent user"),
      expect.stringContaining("not a Charter agent user"),
      expect.stringContaining("refusing ACL rule"),
      expect.stringContaining("refusing ACL rule"),
      expect.stringContaining("refusing ACL rule"),
      expect.stringContaining("refusing ACL rule"),
      expect.stringContaining("not a client id"),
    ]);
    expect(await f.admin.call("ACL", "GETUSER", "charter-agent-evil")).toBeNull();
    expect(await f.admin.call("ACL", "GETUSER", "charter-provisioner")).not.toBeNull();
  });
});
