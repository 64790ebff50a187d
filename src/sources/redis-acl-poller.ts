import { randomBytes } from "node:crypto";
import { CharterError } from "../errors.js";
import { openConnection, type RedisConnection } from "../providers/redis/connection.js";
import { type KeyAccessOf, MARKER_USER, MAX_ENTRIES, parseAclLog, parseAclLogState, reconcileAclLog } from "./redis-acl-log.js";
import type { TrailIngestor } from "./trail-ingestor.js";
import type { TrailStore } from "./trail-store.js";

/** Prefix of the variable holding the ACL LOG reader's redis:// URL for one instance. */
export const REDIS_ACL_URL_PREFIX = "CHARTER_TRAIL_REDIS_";

export function redisAclUrlVariable(instance: string): string {
  return REDIS_ACL_URL_PREFIX + instance.toUpperCase().replaceAll("-", "_");
}

/**
 * The ACL rules of the user the poller connects as (`ACL SETUSER charter-trail on >password
 * <rules…>`): it reads the log and the server's clock in one transaction, and the command table
 * to tell reads from writes. No key and no data. `acl|log` also allows ACL LOG RESET (Redis 7.0
 * cannot allow a subcommand's argument alone); a reset the poller made would show as a gap
 * like anyone else's. AUTH, which leaves the marker entry, needs no rule.
 */
export function aclLogReaderRules(): string[] {
  return ["resetkeys", "resetchannels", "-@all", "+multi", "+exec", "+time", "+acl|log", "+command|info"];
}

export interface AclLogPollerOptions {
  readonly instance: string;
  readonly url: string;
}

/**
 * Polls one Redis server's ACL LOG (see redis-acl-log.ts for how entries are told apart and
 * losses found) and ingests what is new. The state read from the store before each poll and
 * saved with the events of that poll (one transaction) is what makes a restarted poller, or
 * `charter trail ingest --source redis-acl` between two of the app's polls, add nothing twice.
 * One poller per instance at a time: two polling at once may each count the same growth.
 */
export class RedisAclPoller {
  readonly #store: TrailStore;
  readonly #ingestor: TrailIngestor;
  readonly #instance: string;
  readonly #connection: RedisConnection;
  readonly #access = new Map<string, "read" | "write" | undefined>();

  constructor(store: TrailStore, ingestor: TrailIngestor, options: AclLogPollerOptions) {
    this.#store = store;
    this.#ingestor = ingestor;
    this.#instance = options.instance;
    this.#connection = openConnection(options.instance, options.url, { variable: redisAclUrlVariable(options.instance), readyCheck: false });
  }

  get instance(): string {
    return this.#instance;
  }

  /** One read: resolves once its events, gaps and the new state are stored. */
  async poll(): Promise<{ events: number; gaps: number }> {
    const previous = parseAclLogState(await this.#store.position("redis-acl", this.#instance));
    // TIME, the log and the marker's refusal in one transaction: nothing else runs between them.
    // The marker's password is random, so the AUTH is always refused; no user by its name exists.
    const replies = await this.#connection.batch([["MULTI"], ["TIME"], ["ACL", "LOG", MAX_ENTRIES], ["AUTH", MARKER_USER, randomBytes(16).toString("hex")], ["EXEC"]]);
    const exec = replies[4];
    if (exec === undefined || !exec.ok || !Array.isArray(exec.value)) {
      const reason = replies.find((r): r is { ok: false; error: string } => !r.ok);
      throw new CharterError("IO", `reading the ACL LOG of Redis instance ${this.#instance} failed: ${reason !== undefined ? firstLine(reason.error) : "no transaction reply"}`, {
        hint: `Give the user in ${redisAclUrlVariable(this.#instance)} the rules docs/providers.md lists for the ACL LOG reader.`,
      });
    }
    const [time, log] = exec.value as unknown[];
    const serverMs = serverTime(time);
    if (serverMs === null || time instanceof Error || log instanceof Error) {
      throw new CharterError("IO", `Redis instance ${this.#instance} refused TIME or ACL LOG: ${firstLine(time instanceof Error ? time.message : log instanceof Error ? log.message : "unreadable TIME reply")}`, {
        hint: `Give the user in ${redisAclUrlVariable(this.#instance)} the rules docs/providers.md lists for the ACL LOG reader.`,
      });
    }
    const { entries, malformed } = parseAclLog(log, serverMs);
    await this.#learnAccess(entries.filter((e) => e.reason === "key").map((e) => (e.client["cmd"] ?? "").toLowerCase()));
    const access: KeyAccessOf = (command) => this.#access.get(command);
    const result = reconcileAclLog(this.#instance, previous, entries, serverMs, access);
    await this.#ingestor.submit(result.events, [{ source: "redis-acl", instance: this.#instance, position: JSON.stringify(result.state) }]);
    const gaps = [...result.gaps, ...(malformed > 0 ? [`${String(malformed)} ACL LOG entries could not be read (not Redis 7's fields)`] : [])];
    for (const detail of gaps) await this.#store.recordGap({ source: "redis-acl", instance: this.#instance, kind: "gap", detectedMs: Date.now(), detail });
    return { events: result.events.length, gaps: gaps.length };
  }

  /** Reads @read/@write of the commands not yet known, once each (COMMAND INFO, one round trip). */
  async #learnAccess(commands: readonly string[]): Promise<void> {
    // A subcommand (`object|encoding`) is looked up by its container.
    const wanted = [...new Set(commands.filter((c) => /^[a-z0-9_|-]{1,64}$/.test(c)))].filter((c) => !this.#access.has(c));
    if (wanted.length === 0) return;
    const reply = await this.#connection.call("COMMAND", "INFO", ...wanted.map((c) => c.split("|")[0] ?? c)).catch(() => null);
    wanted.forEach((command, i) => {
      const info = Array.isArray(reply) ? (reply[i] as unknown) : null;
      const categories = Array.isArray(info) && Array.isArray(info[6]) ? (info[6] as unknown[]).map(String) : [];
      this.#access.set(command, categories.includes("@write") ? "write" : categories.includes("@read") ? "read" : undefined);
    });
  }

  close(): Promise<void> {
    return this.#connection.close();
  }
}

/** TIME's [seconds, microseconds] as ms. */
function serverTime(reply: unknown): number | null {
  if (!Array.isArray(reply) || reply.length !== 2) return null;
  const seconds = Number(reply[0]);
  const micros = Number(reply[1]);
  return Number.isSafeInteger(seconds) && Number.isSafeInteger(micros) ? seconds * 1000 + Math.floor(micros / 1000) : null;
}

function firstLine(text: string): string {
  return (text.split("\n")[0] ?? "").slice(0, 300);
}
