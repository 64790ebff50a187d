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
 * the connections of Charter's users. Every user comes from one ACL LIST, one pass over the
 * server's catalog: Redis 7.0 spends most of a user's description rebuilding its command rules,
 * and ACL LIST does that once per user where ACL USERS and a pipeline of ACL GETUSER cost a
 * round of parsing and reply-building per user on top (about a third more, measured).
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
  const [list, time, identities, leases, clients] = await connection.batch([["ACL", "LIST"], ["TIME"], ["HGETALL", METADATA.identities], ["HGETALL", METADATA.leases], ["CLIENT", "LIST", "TYPE", "normal"]]);
  const users = stringArray(ok(list, "ACL LIST")).map(parseAclListLine);
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

const FLAGS = new Set(["on", "off", "nopass", "sanitize-payload", "skip-sanitize-payload"]);

/**
 * One line of ACL LIST (`user NAME flags #sha256… keys channels commands (selector)…`), read into
 * the fields ACL GETUSER would give for the user's root selector. User names hold no spaces
 * (Redis refuses them). A token of the root selector that is neither a flag, a password, a key
 * or channel pattern nor `resetchannels` is kept with the commands, so a rule this parser does
 * not know can only make the user differ from the approved rules, never match them.
 */
function parseAclListLine(line: string): ObservedUser {
  const tokens = line.split(" ").filter((t) => t !== "");
  if (tokens[0] !== "user" || tokens[1] === undefined) throw new Error(`ACL LIST returned a line that does not describe a user: ${JSON.stringify(line.slice(0, 80))}`);
  const flags: string[] = [];
  const passwords: string[] = [];
  const commands: string[] = [];
  const keys: string[] = [];
  const channels: string[] = [];
  let selectors = 0;
  let inSelector = false;
  for (const token of tokens.slice(2)) {
    if (inSelector || token.startsWith("(")) {
      if (!inSelector) selectors++;
      inSelector = !token.endsWith(")");
    } else if (FLAGS.has(token)) flags.push(token);
    else if (/^#[0-9a-f]{64}$/.test(token)) passwords.push(token.slice(1));
    else if (/^(?:%R?W?)?~/.test(token)) keys.push(token);
    else if (token.startsWith("&")) channels.push(token);
    else if (token !== "resetchannels") commands.push(token);
  }
  return { name: tokens[1], flags, passwords, commands: commands.join(" "), keys: keys.join(" "), channels: channels.join(" "), selectors };
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
