import { CharterError } from "../../errors.js";
import type { RedisConnection } from "./connection.js";
import { type IdentityMarker, type LeaseRecord, parseLease, parseMarker } from "./metadata.js";
import { METADATA, USER_PREFIX } from "./names.js";
import type { ObservedConnection, ObservedUser, RedisObserved } from "./observed.js";
import type { CommandTable } from "./rules.js";

const MIN_MAJOR = 7;

export interface ObserveContext {
  readonly instance: string;
  readonly connection: RedisConnection;
  /** The server's command table, read once per provider: it only changes with the server's version. */
  commandTable(): Promise<CommandTable>;
}

/**
 * Reads, without changing anything, every ACL user, Charter's markers and lease records, and
 * the connections of Charter's users. Everything user-related comes back in one round trip per
 * kind (a pipeline of ACL GETUSER), so a thousand agents cost a few round trips, not thousands.
 */
export async function observe(ctx: ObserveContext): Promise<RedisObserved> {
  const { connection } = ctx;
  const info = String(await connection.call("INFO", "server"));
  const version = /redis_version:(\d+)\.(\d+)/.exec(info);
  const major = version === null ? 0 : Number(version[1]);
  if (major < MIN_MAJOR) {
    throw new CharterError("INVALID_CONFIG", `the Redis server at ${connection.address} runs Redis ${version === null ? "of an unknown version" : `${version[1] ?? ""}.${version[2] ?? ""}`}; Charter needs 7.0 or later (read/write key permissions)`, {
      hint: "Upgrade the server to Redis 7, or remove the instance from provisioning.providers.redis in .github/charter.yml.",
    });
  }
  const provisioner = String(await connection.call("ACL", "WHOAMI"));
  const table = await ctx.commandTable();
  const names = stringArray(await connection.call("ACL", "USERS"));
  const [time, identities, leases, clients] = await connection.batch([["TIME"], ["HGETALL", METADATA.identities], ["HGETALL", METADATA.leases], ["CLIENT", "LIST", "TYPE", "normal"]]);
  const details = await connection.batch(names.map((name) => ["ACL", "GETUSER", name]));

  const users: ObservedUser[] = [];
  names.forEach((name, i) => {
    const reply = details[i];
    // A user deleted between ACL USERS and ACL GETUSER answers nil: it no longer exists.
    if (reply === undefined || !reply.ok || reply.value === null) return;
    users.push(toUser(name, reply.value));
  });
  return {
    instance: ctx.instance,
    provisioner,
    now: serverTime(ok(time, "TIME")),
    commands: table,
    users,
    markers: markers(ok(identities, "HGETALL")),
    leases: leaseRecords(ok(leases, "HGETALL")),
    connections: connectionsOf(String(ok(clients, "CLIENT LIST"))),
  };
}

function ok(reply: { ok: true; value: unknown } | { ok: false; error: string } | undefined, what: string): unknown {
  if (reply === undefined) throw new Error(`${what} got no reply`);
  if (!reply.ok) throw new Error(`${what} failed: ${reply.error}`);
  return reply.value;
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.map((v) => String(v)) : [];
}

/** ACL GETUSER's reply: a flat list of field, value. */
function toUser(name: string, reply: unknown): ObservedUser {
  const fields = new Map<string, unknown>();
  if (Array.isArray(reply)) for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
  const text = (field: string): string => {
    const value = fields.get(field);
    if (Array.isArray(value)) return value.map(String).join(" ");
    return typeof value === "string" || typeof value === "number" ? String(value) : "";
  };
  const selectors = fields.get("selectors");
  return {
    name,
    flags: stringArray(fields.get("flags")),
    passwords: stringArray(fields.get("passwords")),
    commands: text("commands"),
    keys: text("keys"),
    channels: text("channels"),
    selectors: Array.isArray(selectors) ? selectors.length : 0,
  };
}

function serverTime(value: unknown): number {
  const [seconds, micros] = stringArray(value).map(Number);
  if (seconds === undefined || micros === undefined || !Number.isFinite(seconds) || !Number.isFinite(micros)) throw new Error("TIME returned no time");
  return seconds * 1000 + Math.floor(micros / 1000);
}

function pairs(value: unknown): [string, string][] {
  const list = stringArray(value);
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < list.length; i += 2) out.push([list[i] as string, list[i + 1] as string]);
  return out;
}

function markers(value: unknown): Map<string, IdentityMarker> {
  const out = new Map<string, IdentityMarker>();
  for (const [user, text] of pairs(value)) {
    const marker = parseMarker(text);
    if (marker !== undefined) out.set(user, marker);
  }
  return out;
}

function leaseRecords(value: unknown): Map<string, LeaseRecord> {
  const out = new Map<string, LeaseRecord>();
  for (const [hash, text] of pairs(value)) {
    const lease = parseLease(text);
    if (lease !== undefined && /^[0-9a-f]{64}$/.test(hash)) out.set(hash, lease);
  }
  return out;
}

/** CLIENT LIST lines (`id=7 addr=… age=12 … user=charter-agent-x …`); only Charter's users matter. */
function connectionsOf(text: string): ObservedConnection[] {
  const out: ObservedConnection[] = [];
  for (const line of text.split("\n")) {
    const fields = new Map(line.trim().split(" ").map((pair) => {
      const eq = pair.indexOf("=");
      return [pair.slice(0, eq), pair.slice(eq + 1)] as const;
    }));
    const user = fields.get("user");
    const id = fields.get("id");
    const age = Number(fields.get("age"));
    if (user === undefined || id === undefined || !user.startsWith(USER_PREFIX) || !Number.isFinite(age)) continue;
    out.push({ id, user, ageSeconds: age });
  }
  return out;
}
