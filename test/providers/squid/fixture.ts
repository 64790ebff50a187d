// A throwaway squid driven by the provider the way an operator runs it: the first sync writes
// squid.conf (its reload fails: nothing runs yet), squid starts on that file, and every later
// sync reloads it. A real upstream HTTP server on loopback answers every request that gets
// through with what it received, so a test sees exactly what the proxy forwarded.
import { createServer, request, type Server } from "node:http";
import type { Agent } from "node:http";
import { parsePermission, type Permission } from "../../../src/manifest/permission.js";
import type { DesiredAgent } from "../../../src/provision/provider.js";
import { createSquidProvider, type SquidProvider } from "../../../src/providers/squid/index.js";
import { throwawaySquid, type ThrowawaySquid } from "../../helpers/squid.js";

export const UPSTREAM = "upstream.charter.test";
export const OTHER = "other.charter.test";

export interface Answer {
  readonly status: number;
  readonly body: string;
}

export interface SquidFixture {
  readonly squid: ThrowawaySquid;
  readonly upstreamPort: number;
  /** What the upstream received, as "METHOD /path". */
  readonly received: string[];
  /** Resolves once a request for /slow/… has reached the upstream; its answer waits for releaseSlow(). */
  slowArrived(): Promise<void>;
  releaseSlow(): void;
  provider(): SquidProvider;
  /** One request through the proxy; `credentials` as user:password, or none. */
  send(method: string, url: string, credentials?: string, agent?: Agent): Promise<Answer>;
  stop(): Promise<void>;
}

function permission(raw: string): Permission {
  const parsed = parsePermission(raw);
  if (!parsed.ok) throw new Error(`bad test permission ${raw}: ${parsed.reason}`);
  return parsed.permission;
}

/** An agent with permissions the grammar accepts; `unchecked` ones skip it, as a permission from a hostile source would. */
export function agent(id: string, permissions: readonly string[], overrides: Partial<DesiredAgent> & { unchecked?: readonly Permission[] } = {}): DesiredAgent {
  const { unchecked = [], ...rest } = overrides;
  return {
    id,
    status: "active",
    commit: "a".repeat(40),
    manifestSha256: "b".repeat(64),
    permissions: [...permissions.map(permission), ...unchecked],
    maxLifetimeSeconds: 3600,
    maxConcurrentSessions: undefined,
    ...rest,
  };
}

export async function startSquidFixture(): Promise<SquidFixture> {
  const received: string[] = [];
  let arrived: () => void = () => undefined;
  let arrival = new Promise<void>((resolve) => (arrived = resolve));
  const held: (() => void)[] = [];
  const upstream: Server = createServer((req, res) => {
    received.push(`${req.method ?? ""} ${req.url ?? ""}`);
    const answer = (): void => {
      res.end(`upstream saw ${req.method ?? ""} ${req.url ?? ""}`);
    };
    if ((req.url ?? "").includes("/slow/")) {
      // Half the answer now, the rest when the test says: the request is in flight until then.
      res.write("upstream started; ");
      held.push(answer);
      arrived();
    } else answer();
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const address = upstream.address();
  const upstreamPort = typeof address === "object" && address !== null ? address.port : 0;
  let squid: ThrowawaySquid;
  try {
    squid = await throwawaySquid([UPSTREAM, OTHER]);
  } catch (error) {
    upstream.close();
    throw error;
  }
  return {
    squid,
    upstreamPort,
    received,
    slowArrived: () => arrival,
    releaseSlow() {
      for (const answer of held.splice(0)) answer();
      arrival = new Promise<void>((resolve) => (arrived = resolve));
    },
    provider: () => createSquidProvider({ instance: "egress", directory: squid.directory, listen: squid.listen, program: squid.program, hostsFile: squid.hostsFile }),
    send(method, url, credentials, agent) {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string> = {};
        if (credentials !== undefined) headers["proxy-authorization"] = `Basic ${Buffer.from(credentials).toString("base64")}`;
        const target = new URL(url);
        headers["host"] = target.host;
        const req = request({ host: "127.0.0.1", port: squid.port, method, path: url, headers, ...(agent === undefined ? {} : { agent }) }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => {
            resolve({ status: res.statusCode ?? 0, body });
          });
        });
        req.once("error", reject);
        req.end();
      });
    },
    async stop() {
      await squid.stop();
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    },
  };
}

/** observe → diff → apply → observe → diff, as the engine does. */
export async function sync(provider: SquidProvider, desired: readonly DesiredAgent[], prune = false) {
  const before = provider.diff(desired, await provider.observe(), { prune });
  const applied = await provider.apply(before.operations);
  const after = provider.diff(desired, await provider.observe(), { prune });
  return { before, applied, after };
}
