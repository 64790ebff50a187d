// A throwaway Redis set up the way docs/providers.md tells an operator to: the provider runs as
// a provisioner user created with provisionerRules(), not as the default user, so every test
// also proves that the documented rules suffice.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { parsePermission, type Permission } from "../../../src/manifest/permission.js";
import type { DesiredAgent } from "../../../src/provision/provider.js";
import { createRedisProvider, provisionerRules, type RedisProvider } from "../../../src/providers/redis/index.js";
import { startRedis, type RedisServer } from "../../helpers/redis.js";

const INSTANCE = "cache-prod";
export const PROVISIONER = "charter-provisioner";

export interface RedisFixture {
  readonly server: RedisServer;
  /** The default user: the operator's superuser. */
  readonly admin: Redis;
  readonly provisionerUrl: string;
  provider(options?: { knownUsers?: readonly string[] }): RedisProvider;
  /** A connection logged in as an agent's user (ready check off: the agent may not run INFO); rejects with the server's refusal. */
  connectAs(user: string, password: string): Promise<Redis>;
  stop(): Promise<void>;
}

function permission(raw: string): Permission {
  const parsed = parsePermission(raw);
  if (!parsed.ok) throw new Error(`bad test permission ${raw}: ${parsed.reason}`);
  return parsed.permission;
}

export function agent(id: string, permissions: readonly string[], overrides: Partial<DesiredAgent> = {}): DesiredAgent {
  return {
    id,
    status: "active",
    commit: "a".repeat(40),
    manifestSha256: "b".repeat(64),
    permissions: permissions.map(permission),
    maxLifetimeSeconds: 3600,
    maxConcurrentSessions: undefined,
    ...overrides,
  };
}

export async function startRedisFixture(): Promise<RedisFixture> {
  const server = await startRedis();
  const clients: Redis[] = [];
  const providers: RedisProvider[] = [];
  try {
    const admin = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    clients.push(admin);
    await admin.connect();
    const password = randomBytes(16).toString("hex");
    await admin.call("ACL", "SETUSER", PROVISIONER, "reset", "on", `>${password}`, ...provisionerRules());
    const provisionerUrl = `redis://${PROVISIONER}:${password}@127.0.0.1:${String(server.port)}/0`;
    return {
      server,
      admin,
      provisionerUrl,
      provider(options = {}) {
        const provider = createRedisProvider({ instance: INSTANCE, url: provisionerUrl, knownUsers: options.knownUsers ?? ["default"] });
        providers.push(provider);
        return provider;
      },
      async connectAs(user, secret) {
        // AUTH sent by hand: ioredis's own connect() resolves even when the server refuses the password.
        const client = new Redis({ host: "127.0.0.1", port: server.port, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
        client.on("error", () => undefined);
        clients.push(client);
        await client.connect();
        await client.call("AUTH", user, secret);
        return client;
      },
      async stop() {
        await Promise.allSettled(providers.map((p) => p.close()));
        for (const c of clients) c.disconnect();
        await server.stop();
      },
    };
  } catch (error) {
    for (const c of clients) c.disconnect();
    await server.stop();
    throw error;
  }
}

/** observe → diff → apply → observe → diff, as the engine does. */
export async function sync(provider: RedisProvider, desired: readonly DesiredAgent[], prune = false) {
  const before = provider.diff(desired, await provider.observe(), { prune });
  const applied = await provider.apply(before.operations);
  const after = provider.diff(desired, await provider.observe(), { prune });
  return { before, applied, after };
}
