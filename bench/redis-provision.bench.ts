import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { parsePermission, type Permission } from "../src/manifest/permission.js";
import type { DesiredAgent, ProviderDiff } from "../src/provision/provider.js";
import { createRedisProvider, provisionerRules, type RedisProvider } from "../src/providers/redis/index.js";
import { startRedis } from "../test/helpers/redis.js";
import { median, report, round, time } from "./measure.js";

const SIZES = (process.env["CHARTER_BENCH_REDIS_AGENTS"] ?? "100,1000").split(",").map(Number);
const SAMPLES = Number(process.env["CHARTER_BENCH_REDIS_SAMPLES"] ?? 3);
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

/** Removes every agent user and Charter's records, as the administrator, so the next sync starts from scratch. */
async function reset(admin: Redis): Promise<void> {
  const users = (await admin.call("ACL", "USERS")) as string[];
  const agents = users.filter((u) => u.startsWith("charter-agent-"));
  if (agents.length > 0) await admin.call("ACL", "DELUSER", ...agents);
  const records = (await admin.call("KEYS", "#charter:*")) as string[];
  if (records.length > 0) await admin.del(...records);
}

/**
 * Provisioning N agents (2–3 key patterns each) on a throwaway Redis 7 as the documented
 * provisioner user, at two sizes: the first sync, which creates every ACL user, against a no-op
 * re-sync, which only observes (one ACL LIST for every user) and diffs, as a periodic drift
 * check does (the re-sync right after creation, which waits for Redis's own one-off work, is
 * reported apart); each side sampled
 * SAMPLES times (min and median), the first sync from an emptied server each time. The ratio is
 * what a periodic drift check costs relative to provisioning from scratch.
 */
export async function run(): Promise<void> {
  const server = await startRedis();
  const providers: RedisProvider[] = [];
  const admin = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await admin.connect();
    const password = randomBytes(16).toString("hex");
    await admin.call("ACL", "SETUSER", PROVISIONER, "reset", "on", `>${password}`, ...provisionerRules());
    for (const agents of SIZES) {
      const provider = createRedisProvider({ instance: INSTANCE, url: `redis://${PROVISIONER}:${password}@127.0.0.1:${String(server.port)}/0`, knownUsers: ["default"] });
      providers.push(provider);
      const desired = desiredAgents(agents);
      const firsts: number[] = [];
      const noops: number[] = [];
      const firstResyncs: number[] = [];
      let operations = 0;
      for (let sample = 0; sample < SAMPLES; sample++) {
        await reset(admin);
        let first = { diff: { operations: [], findings: [] } as ProviderDiff, failed: 0 };
        firsts.push(await time(async () => {
          first = await sync(provider, desired);
        }));
        if (first.failed > 0) throw new Error(`redis provision bench: ${first.failed} steps failed on the first sync`);
        operations = first.diff.operations.length;
        // Redis 7.0 builds a user's description (what ACL LIST and ACL GETUSER print) on the
        // first read after ACL SETUSER and keeps it: the first re-sync after creating a thousand
        // users pays that once, every later drift check does not. Reported apart.
        firstResyncs.push(await time(async () => {
          await sync(provider, desired);
        }));
        let noop = { diff: { operations: [], findings: [] } as ProviderDiff, failed: 0 };
        noops.push(await time(async () => {
          noop = await sync(provider, desired);
        }));
        if (noop.diff.operations.length > 0 || noop.diff.findings.length > 0) throw new Error("redis provision bench: the re-sync was not a no-op");
      }
      report({
        bench: "provision/redis",
        agents,
        samples: SAMPLES,
        operations,
        first_sync_ms: { min: round(Math.min(...firsts)), median: round(median(firsts)) },
        noop_sync_ms: { min: round(Math.min(...noops)), median: round(median(noops)) },
        first_resync_after_create_ms: { min: round(Math.min(...firstResyncs)), median: round(median(firstResyncs)) },
        baseline: "first sync (create every ACL user)",
        ratio: round(median(noops) / median(firsts), 3),
        ratio_min: round(Math.min(...noops) / Math.min(...firsts), 3),
      });
    }
  } finally {
    await Promise.allSettled(providers.map((p) => p.close()));
    admin.disconnect();
    await server.stop();
  }
}
