import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { parsePermission, type Permission } from "../src/manifest/permission.js";
import type { DesiredAgent, ProviderDiff } from "../src/provision/provider.js";
import { createRedisProvider, provisionerRules, type RedisProvider } from "../src/providers/redis/index.js";
import { startRedis } from "../test/helpers/redis.js";
import { report, round, time } from "./measure.js";

const AGENTS = Number(process.env["CHARTER_BENCH_REDIS_AGENTS"] ?? 1000);
const INSTANCE = "cache-prod";
const PROVISIONER = "charter-provisioner";

function permission(raw: string): Permission {
  const parsed = parsePermission(raw);
  if (!parsed.ok) throw new Error(`bench permission ${raw}: ${parsed.reason}`);
  return parsed.permission;
}

/** Agent i reads its own prefix and one of 20 shared ones; every other agent also writes to a queue. */
function desiredAgents(count: number): DesiredAgent[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `agent-${String(i).padStart(4, "0")}`;
    const raws = [`redis:read:cache:${id}:*@${INSTANCE}`, `redis:read:shared:s${String(i % 20)}:*@${INSTANCE}`, ...(i % 2 === 0 ? [`redis:write:queue:q${String(i % 10)}:*@${INSTANCE}`] : [])];
    return { id, status: "active" as const, commit: "a".repeat(40), manifestSha256: "b".repeat(64), permissions: raws.map(permission), maxLifetimeSeconds: 3600, maxConcurrentSessions: undefined };
  });
}

async function sync(provider: RedisProvider, desired: readonly DesiredAgent[]): Promise<{ diff: ProviderDiff; failed: number }> {
  const diff = provider.diff(desired, await provider.observe(), { prune: false });
  const applied = await provider.apply(diff.operations);
  return { diff, failed: applied.filter((o) => o.status !== "applied").length };
}

/**
 * Provisioning 1,000 agents (2–3 key patterns each) on a throwaway Redis 7 as the documented
 * provisioner user: the first sync, which creates every ACL user, against a no-op re-sync, which
 * only observes (one pipelined ACL GETUSER per user) and diffs. The ratio is what a periodic
 * drift check costs relative to provisioning from scratch.
 */
export async function run(): Promise<void> {
  const server = await startRedis();
  let provider: RedisProvider | undefined;
  try {
    const admin = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await admin.connect();
    const password = randomBytes(16).toString("hex");
    await admin.call("ACL", "SETUSER", PROVISIONER, "reset", "on", `>${password}`, ...provisionerRules());
    admin.disconnect();
    provider = createRedisProvider({ instance: INSTANCE, url: `redis://${PROVISIONER}:${password}@127.0.0.1:${String(server.port)}/0`, knownUsers: ["default"] });
    const desired = desiredAgents(AGENTS);
    const active = provider;
    let first = { diff: { operations: [], findings: [] } as ProviderDiff, failed: 0 };
    const firstMs = await time(async () => {
      first = await sync(active, desired);
    });
    let noop = { diff: { operations: [], findings: [] } as ProviderDiff, failed: 0 };
    const noopMs = await time(async () => {
      noop = await sync(active, desired);
    });
    if (first.failed > 0) throw new Error(`redis provision bench: ${first.failed} steps failed on the first sync`);
    if (noop.diff.operations.length > 0 || noop.diff.findings.length > 0) throw new Error("redis provision bench: the re-sync was not a no-op");
    report({
      bench: "provision/redis",
      agents: AGENTS,
      operations: first.diff.operations.length,
      first_sync_ms: round(firstMs),
      per_agent_ms: round(firstMs / AGENTS, 2),
      noop_sync_ms: round(noopMs),
      baseline: "first sync (create every ACL user)",
      ratio: round(noopMs / firstMs, 3),
    });
  } finally {
    await provider?.close();
    await server.stop();
  }
}
