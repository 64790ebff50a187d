import { Redis } from "ioredis";
import { CharterError } from "../../errors.js";
import { redisUrlVariable as urlVariable } from "../../provision/config.js";

/**
 * The provisioner's connection to one Redis server. It fails fast: no reconnect loop and no
 * offline queue, so a wrong port or password ends in one clear error instead of a command that
 * waits forever. The error names the server and the cause, never the URL (it holds the password).
 */
export interface RedisConnection {
  /** Sends one command; a server or connection error becomes a CharterError naming the instance. */
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** Sends many commands in one round trip; each result is the reply or the error it got. */
  batch(commands: readonly (readonly (string | number)[])[]): Promise<({ ok: true; value: unknown } | { ok: false; error: string })[]>;
  /** The server's address without credentials, for messages. */
  readonly address: string;
  close(): Promise<void>;
}

/**
 * `variable` names where the URL came from, for messages (the provisioner's by default);
 * `readyCheck: false` for a user without INFO, whose refused INFO would otherwise land in the ACL LOG.
 */
export function openConnection(instance: string, url: string, options: { readonly variable?: string; readonly readyCheck?: boolean } = {}): RedisConnection {
  const variable = options.variable ?? urlVariable(instance);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new CharterError("INVALID_CONFIG", `${variable} is not a URL`, { cause, hint: "Use redis://user:password@host:port/0." });
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new CharterError("INVALID_CONFIG", `${variable} has scheme ${parsed.protocol}, expected redis: or rediss:`, {
      hint: "Use redis://user:password@host:port/0.",
    });
  }
  const address = `${parsed.hostname}:${parsed.port || "6379"}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, connectTimeout: 5000, enableReadyCheck: options.readyCheck ?? true });
  let lastError: Error | undefined;
  // Without a listener ioredis prints every connection error itself; the cause is kept for the message instead.
  client.on("error", (error: Error) => {
    lastError = error;
  });
  let ready: Promise<void> | undefined;

  const connect = (): Promise<void> => {
    if (client.status === "ready") return Promise.resolve();
    if (ready === undefined || client.status === "end") {
      lastError = undefined;
      ready = client.connect().catch((cause: unknown) => {
        ready = undefined;
        throw connectionError(variable, address, lastError ?? cause);
      });
    }
    return ready;
  };

  return {
    address,
    async call(command, ...args) {
      await connect();
      try {
        return await client.call(command, ...args);
      } catch (cause) {
        throw commandError(instance, command, cause);
      }
    },
    async batch(commands) {
      await connect();
      if (commands.length === 0) return [];
      const pipeline = client.pipeline();
      for (const [command, ...args] of commands) pipeline.call(String(command), ...args);
      const replies = (await pipeline.exec()) ?? [];
      return replies.map(([error, value]) => (error === null ? { ok: true as const, value } : { ok: false as const, error: error.message }));
    },
    async close() {
      if (client.status === "end" || client.status === "wait") {
        client.disconnect();
        return;
      }
      await client.quit().catch(() => {
        client.disconnect();
      });
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function connectionError(variable: string, address: string, cause: unknown): CharterError {
  const message = messageOf(cause);
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(message)) {
    return new CharterError("IO", `the Redis server at ${address} refused the user name or password in ${variable}`, {
      cause,
      hint: `Check the user and password in ${variable} against the ACL user docs/providers.md sets up for it.`,
    });
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|connect/i.test(message)) {
    return new CharterError("IO", `cannot connect to the Redis server at ${address} (${firstLine(message)}); check the host and port in ${variable}`, {
      cause,
      hint: `Check the host and port in ${variable}, and that the server is running.`,
    });
  }
  return new CharterError("IO", `cannot connect to the Redis server at ${address}: ${firstLine(message)}`, { cause, hint: `Check ${variable}.` });
}

/** Messages say what to fix themselves: the engine wraps them in its own ("redis@<instance>: could not read the provider's state: …"). */
function commandError(instance: string, command: string, cause: unknown): CharterError {
  const message = messageOf(cause);
  if (/unknown command/i.test(message) && command.toUpperCase() === "ACL") {
    return new CharterError("INVALID_CONFIG", `the Redis server for instance ${instance} has no ACL command (older than Redis 6, or ACL renamed away); Charter needs Redis 7.0 or later`, {
      cause,
      hint: "Upgrade the server to Redis 7, or remove the instance from provisioning.providers.redis in .github/charter.yml.",
    });
  }
  if (/NOPERM/i.test(message)) {
    return new CharterError("IO", `the provisioner's ACL user may not run ${command.toUpperCase()} (${firstLine(message)}); give it the rules docs/providers.md lists`, {
      cause,
      hint: "Give the provisioner's ACL user the rules docs/providers.md lists.",
    });
  }
  return new CharterError("IO", `${command.toUpperCase()} failed on the Redis server for instance ${instance}: ${firstLine(message)}`, { cause });
}

function firstLine(text: string): string {
  return (text.split("\n")[0] ?? "").slice(0, 300);
}
