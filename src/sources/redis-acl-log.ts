import { createHash } from "node:crypto";
import type { SourceEvent } from "../trail/event.js";

/**
 * Redis 7.0's ACL LOG read as the attested record of what each ACL user was refused. An entry
 * (7.0) has `count`, `reason` (command, key, channel, auth), `context` (toplevel, multi, lua,
 * module), `object`, `username`, `age-seconds` and `client-info`: no entry id and no creation
 * time (Redis 7.2 adds both). The server merges a denial into an entry with the same reason,
 * context, object and username that was updated less than 60 s before (among the 10 newest
 * entries), growing its `count` and moving it to the head; the log keeps `acllog-max-len`
 * entries (default 128), drops the least recently updated one past that, and is emptied by
 * `ACL LOG RESET` and by a restart. It records denials only, never a command that ran.
 *
 * So an entry is told apart across polls by its four fields plus its last-update time (the
 * server's TIME minus its age, read in one transaction), and what is new is the growth of its
 * count. Whether anything was lost between two polls is told by a marker: after each read the
 * poller fails one AUTH as MARKER_USER in the same transaction, which leaves (or refreshes) an
 * entry newer than everything read. The log drops its least recently updated entries first, so
 * while that marker entry is still there at the next poll, nothing updated after the previous
 * read was dropped; when it is gone, the log was reset, the server restarted, or more entries
 * arrived than the log holds, and the poll records a gap.
 *
 * Everything in an entry except the count and age is written by whoever sent the refused
 * command (user names on AUTH, key names, the client's name): kept clipped, as data.
 */

/** The user name of the poller's marker entry; no ACL user by this name may exist. */
export const MARKER_USER = "charter-acl-log-marker";

/** Redis merges a denial into an entry updated less than this long ago (ACL_LOG_GROUPING_MAX_TIME_DELTA). */
const GROUPING_MS = 60_000;
/** How far apart two readings of one entry's update time may be (TIME and ACL LOG run in one transaction, both in ms). */
const SAME_TIME_MS = 25;
/** Entries kept in the saved state at most: acllog-max-len beyond this is read, but only this many are remembered. */
export const MAX_ENTRIES = 10_000;

export interface AclLogEntry {
  readonly reason: string;
  readonly context: string;
  readonly object: string;
  readonly username: string;
  readonly count: number;
  /** When the server last updated the entry, server ms. */
  readonly updatedMs: number;
  /** The client-info fields worth keeping; never a secret (client-info carries none). */
  readonly client: Readonly<Record<string, string>>;
}

/** One remembered entry: its fields, the count and update time last read, and an id fixed when first seen. */
interface SavedEntry {
  readonly r: string;
  readonly c: string;
  readonly o: string;
  readonly u: string;
  readonly n: number;
  readonly t: number;
  readonly id: string;
}

export interface AclLogState {
  readonly v: 1;
  /** Server time of the last read, which is also when the marker entry was last refreshed. */
  readonly readMs: number;
  readonly entries: readonly SavedEntry[];
}

export interface AclLogPoll {
  readonly events: SourceEvent[];
  readonly state: AclLogState;
  /** Why denials may be missing between the last read and this one, for the source's status. */
  readonly gaps: string[];
}

/** Whether a command reads or writes its keys (Redis's @read/@write categories); undefined when unknown. */
export type KeyAccessOf = (command: string) => "read" | "write" | undefined;

/** Client-info fields kept: who connected from where, as whom, running what. */
const CLIENT_FIELDS = ["addr", "laddr", "name", "db", "user", "cmd", "resp"] as const;

/** Parses ACL LOG's reply (an array of flat key/value arrays, RESP2) read at `serverMs`; a malformed entry is reported, not thrown. */
export function parseAclLog(reply: unknown, serverMs: number): { entries: AclLogEntry[]; malformed: number } {
  const entries: AclLogEntry[] = [];
  let malformed = 0;
  if (!Array.isArray(reply)) return { entries, malformed: 1 };
  for (const item of reply) {
    const entry = Array.isArray(item) ? entryOf(item, serverMs) : null;
    if (entry === null) malformed++;
    else entries.push(entry);
  }
  return { entries, malformed };
}

function entryOf(flat: readonly unknown[], serverMs: number): AclLogEntry | null {
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = flat[i];
    if (typeof key === "string" || Buffer.isBuffer(key)) fields.set(String(key), flat[i + 1]);
  }
  const text = (name: string): string | null => {
    const value = fields.get(name);
    return typeof value === "string" ? value : Buffer.isBuffer(value) ? value.toString("utf8") : null;
  };
  const count = Number(fields.get("count"));
  const age = Number(text("age-seconds") ?? fields.get("age-seconds"));
  const reason = text("reason");
  const context = text("context");
  const object = text("object");
  const username = text("username");
  if (reason === null || context === null || object === null || username === null) return null;
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isFinite(age) || age < 0) return null;
  return {
    reason: clip(reason, 16),
    context: clip(context, 16),
    object: clip(object, 512),
    username: clip(username, 256),
    count,
    updatedMs: Math.round(serverMs - age * 1000),
    client: clientFields(text("client-info") ?? ""),
  };
}

function clientFields(info: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of info.slice(0, 4096).split(" ")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    const key = pair.slice(0, eq);
    if ((CLIENT_FIELDS as readonly string[]).includes(key)) out[key] = clip(pair.slice(eq + 1), 64);
  }
  return out;
}

/** The saved state, or null when there is none or it is not this format (read afresh then). */
export function parseAclLogState(text: string | null): AclLogState | null {
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as Partial<AclLogState>;
    return value.v === 1 && typeof value.readMs === "number" && Array.isArray(value.entries) ? (value as AclLogState) : null;
  } catch {
    return null;
  }
}

/**
 * What one read adds to the trail: each entry not seen before as one event covering its count,
 * each entry whose count grew as one event covering the growth, and a gap when the marker says
 * entries may have been dropped. `previous` null: the first read, which takes the whole log
 * as found (the denials from before Charter polled it).
 */
export function reconcileAclLog(instance: string, previous: AclLogState | null, entries: readonly AclLogEntry[], serverMs: number, access: KeyAccessOf = () => undefined): AclLogPoll {
  const gaps: string[] = [];
  const real = entries.filter((e) => e.username !== MARKER_USER);
  if (previous !== null) {
    const marker = entries.find((e) => e.username === MARKER_USER && e.reason === "auth" && Math.abs(e.updatedMs - previous.readMs) <= SAME_TIME_MS);
    if (marker === undefined) {
      gaps.push(
        `ACL LOG lost entries between ${iso(previous.readMs)} and ${iso(serverMs)}: the log was reset (ACL LOG RESET), the server restarted, or more denials arrived than acllog-max-len keeps; denials in that time may be missing (poll more often or raise acllog-max-len)`,
      );
    }
  }
  const unmatched = new Set(previous?.entries ?? []);
  const byTuple = new Map<string, SavedEntry[]>();
  for (const s of unmatched) {
    const key = tupleKey(s.r, s.c, s.o, s.u);
    byTuple.set(key, [...(byTuple.get(key) ?? []), s]);
  }
  const matches = new Map<AclLogEntry, SavedEntry>();
  // An entry read again unchanged first: it accounts for nothing new.
  for (const e of real) {
    const candidates = byTuple.get(tupleKey(e.reason, e.context, e.object, e.username)) ?? [];
    const same = candidates.find((s) => unmatched.has(s) && s.n === e.count && Math.abs(s.t - e.updatedMs) <= SAME_TIME_MS);
    if (same !== undefined) {
      matches.set(e, same);
      unmatched.delete(same);
    }
  }
  // Then growth: only an entry still inside Redis's grouping window when last read can have grown.
  // Not told apart (Redis 7.0 gives no entry id): more distinct denials than acllog-max-len
  // within that minute push the growing entry out and a later one with the same fields starts
  // anew; it is then counted as the old one's growth, short by the old count. The marker, newer
  // than both, does not see that drop.
  for (const e of real) {
    if (matches.has(e)) continue;
    const candidates = (byTuple.get(tupleKey(e.reason, e.context, e.object, e.username)) ?? []).filter(
      (s) => unmatched.has(s) && e.count > s.n && e.updatedMs > s.t && previous !== null && previous.readMs - s.t <= GROUPING_MS,
    );
    const grown = candidates.sort((a, b) => b.t - a.t)[0];
    if (grown === undefined) continue;
    matches.set(e, grown);
    unmatched.delete(grown);
  }

  const events: SourceEvent[] = [];
  const saved: SavedEntry[] = [];
  for (const e of [...real].sort((a, b) => a.updatedMs - b.updatedMs)) {
    const before = matches.get(e);
    const id = before?.id ?? entryId(e);
    const from = before?.n ?? 0;
    if (e.count > from) events.push(eventOf(instance, e, id, from, access));
    saved.push({ r: e.reason, c: e.context, o: e.object, u: e.username, n: e.count, t: before !== undefined && e.count === before.n ? before.t : e.updatedMs, id });
  }
  return { events, state: { v: 1, readMs: serverMs, entries: saved.slice(-MAX_ENTRIES) }, gaps };
}

function eventOf(instance: string, e: AclLogEntry, id: string, from: number, access: KeyAccessOf): SourceEvent {
  // A denied key names the key; a denied command names the command; a refused AUTH is a refused
  // connection (as PostgreSQL's are) under the user name tried.
  // A key is in the permission vocabulary as redis:read|write:<key>, by what the command does with it.
  const command = clip((e.client["cmd"] ?? (e.reason === "command" ? e.object : "")).toLowerCase(), 64);
  const keyAction = e.reason === "key" ? access(command) : undefined;
  return {
    source: "redis-acl",
    sourceInstance: instance,
    attested: true,
    sourceKey: `${id}:${String(from + 1)}-${String(e.count)}`,
    observedAt: iso(e.updatedMs),
    principal: e.username,
    claimedAgent: null,
    tokenAgent: null,
    action: e.reason === "auth" ? "connect" : (keyAction ?? (command || "unknown")),
    system: "redis",
    resource: e.reason === "key" || e.reason === "channel" ? e.object : null,
    instance,
    outcome: "denied",
    errorCode: e.reason === "auth" ? "WRONGPASS" : "NOPERM",
    traceId: null,
    spanId: null,
    tool: null,
    model: null,
    inputTokens: null,
    outputTokens: null,
    detail: {
      reason: e.reason,
      context: e.context,
      object: clip(e.object, 200),
      count: String(e.count - from),
      ...(command === "" ? {} : { command }),
      ...Object.fromEntries(Object.entries(e.client).map(([k, v]) => [`client.${k}`, v])),
    },
  };
}

function tupleKey(reason: string, context: string, object: string, username: string): string {
  return JSON.stringify([reason, context, object, username]);
}

function entryId(e: AclLogEntry): string {
  return createHash("sha256").update(JSON.stringify([e.reason, e.context, e.object, e.username, e.updatedMs])).digest("hex").slice(0, 16);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}
