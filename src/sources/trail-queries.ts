import { CharterError } from "../errors.js";
import { decodeCursor, type Page, type PageRequest, pageOf } from "../audit/page-cursor.js";
import { eventFromBytes } from "../trail/event-bytes.js";
import type { TrailEvent, TrailOutcome } from "../trail/event.js";
import { ALERT_LOG_SOURCE_NAME } from "./alert-log.js";
import { splitChunk } from "./trail-chunk.js";
import { BITS, type Cell, DAY_MS, HOUR_MS, OUTCOME_CODE, type TrailStore } from "./trail-store.js";

/** The filters of charter audit actions. Times are UTC milliseconds, since inclusive, until exclusive. */
export interface ActionFilter {
  readonly agent?: string;
  readonly since?: number;
  readonly until?: number;
  /** A resource in the vocabulary's form without the action, with an optional final *: postgres:crm.public.*@crm-prod. */
  readonly resource?: string;
  readonly dataClass?: string;
  readonly action?: string;
  readonly outcome?: TrailOutcome;
  readonly outsideHours?: boolean;
  readonly outOfScope?: boolean;
  readonly unattributed?: boolean;
  /** pgaudit, or pgaudit/crm-prod. */
  readonly source?: string;
  readonly attestedOnly?: boolean;
}

interface Where {
  readonly sql: string;
  readonly params: Cell[];
  /** A filter names something the trail has never seen: nothing can match. */
  readonly empty: boolean;
}

async function whereOf(store: TrailStore, f: ActionFilter): Promise<Where> {
  const parts: string[] = [];
  const params: Cell[] = [];
  let empty = false;
  const id = async (kind: "agent" | "action", value: string): Promise<void> => {
    const found = await store.nameId(kind, value);
    if (found === undefined) empty = true;
    parts.push(`${kind} = ?`);
    params.push(found ?? -1);
  };
  if (f.agent !== undefined) await id("agent", f.agent);
  if (f.action !== undefined) await id("action", f.action);
  if (f.since !== undefined) {
    parts.push("observed_ms >= ?");
    params.push(f.since);
  }
  if (f.until !== undefined) {
    parts.push("observed_ms < ?");
    params.push(f.until);
  }
  if (f.dataClass !== undefined) {
    const cls = await store.nameId("class", f.dataClass);
    if (cls === undefined) empty = true;
    parts.push("(classes & ?) <> 0");
    params.push(cls === undefined ? 0 : (1n << BigInt(cls - 1)).toString());
  }
  if (f.resource !== undefined) {
    // system:resource[@instance], a final * on the resource: without an instance it matches on every instance.
    const at = f.resource.lastIndexOf("@");
    const instance = at === -1 ? null : f.resource.slice(at + 1);
    const base = at === -1 ? f.resource : f.resource.slice(0, at);
    const prefix = base.endsWith("*");
    const head = likeEscape(prefix ? base.slice(0, -1) : base);
    const patterns = instance !== null ? [`${head}${prefix ? "%" : ""}@${likeEscape(instance)}`] : prefix ? [`${head}%`] : [head, `${head}@%`];
    parts.push(`resource IN (SELECT id FROM names WHERE kind = 'resource' AND (${patterns.map(() => "value LIKE ? ESCAPE '\\'").join(" OR ")}))`);
    params.push(...patterns);
  }
  if (f.source !== undefined) {
    parts.push("source IN (SELECT id FROM names WHERE kind = 'source' AND (value = ? OR value LIKE ? ESCAPE '\\'))");
    params.push(f.source, `${likeEscape(f.source)}/%`);
  }
  if (f.outcome !== undefined) {
    parts.push(`((bits >> ${BITS.outcomeShift}) & 3) = ?`);
    params.push(OUTCOME_CODE[f.outcome]);
  }
  if (f.outsideHours === true) parts.push(`((bits >> ${BITS.withinShift}) & 3) = 1`);
  if (f.outOfScope === true) parts.push(`((bits >> ${BITS.scopeShift}) & 3) = 1`);
  if (f.unattributed === true) {
    // The alert log's records are Charter's own, with no agent by design: an identity no manifest
    // owns is an agent's or a person's, and counting Charter's records among them would inflate it.
    parts.push("agent IS NULL AND source NOT IN (SELECT id FROM names WHERE kind = 'source' AND value = ?)");
    params.push(ALERT_LOG_SOURCE_NAME);
  }
  if (f.attestedOnly === true) parts.push(`(bits & ${BITS.attested}) = 1`);
  return { sql: parts.length === 0 ? "1 = 1" : parts.join(" AND "), params, empty };
}

function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** One page of the events matching the filter, in observed-time order (then seq): keyset pages. */
export async function pageActions(store: TrailStore, filter: ActionFilter, page: PageRequest): Promise<Page<TrailEvent>> {
  const where = await whereOf(store, filter);
  if (where.empty) return { rows: [], next: null };
  const params = [...where.params];
  let sql = `SELECT seq, observed_ms FROM events WHERE ${where.sql}`;
  if (page.after !== undefined) {
    const [ms = 0, seq = 0] = decodeCursor(page.after, "nn");
    sql += " AND observed_ms >= ? AND (observed_ms > ? OR seq > ?)";
    params.push(ms, ms, seq);
  }
  sql += " ORDER BY observed_ms, seq";
  if (page.limit !== undefined) {
    sql += " LIMIT ?";
    params.push(page.limit + 1);
  }
  const rows = await store.select(sql, params);
  const found = pageOf(rows, page.limit, (r) => [Number(r["observed_ms"]), Number(r["seq"])]);
  return { rows: await eventsBySeq(store, found.rows.map((r) => Number(r["seq"]))), next: found.next };
}

/** How many events match: from the hourly rollup when the filter is one it keeps, otherwise by counting rows. */
export async function countActions(store: TrailStore, filter: ActionFilter): Promise<number> {
  const rolled = rollupShaped(filter);
  if (rolled) return (await offHoursOrAll(store, filter)).total;
  const where = await whereOf(store, filter);
  if (where.empty) return 0;
  return Number((await store.select(`SELECT count(*) AS n FROM events WHERE ${where.sql}`, where.params))[0]?.["n"] ?? 0);
}

function rollupShaped(f: ActionFilter): boolean {
  return f.resource === undefined && f.action === undefined && f.outcome === undefined && f.outOfScope !== true && f.unattributed !== true && f.source === undefined && f.attestedOnly !== true;
}

export interface PopulationCount {
  readonly total: number;
  /** Events per agent (null: unattributed), most first. */
  readonly byAgent: readonly { readonly agent: string | null; readonly events: number }[];
}

/**
 * The population of the auditor's standard question ("customer data accessed outside allowed
 * hours in the last 12 months: how many times, by which agents"), and any other question over
 * agent, data class, allowed hours and a time window: whole days from the daily rollup, whole
 * hours at either end from the hourly one, the partial hours at the very ends from the events
 * themselves, so the answer is exact and a year costs a few thousand rows whatever the volume.
 */
export async function offHoursOrAll(store: TrailStore, f: Pick<ActionFilter, "agent" | "dataClass" | "outsideHours" | "since" | "until">): Promise<PopulationCount> {
  const cls = f.dataClass === undefined ? 0 : await store.nameId("class", f.dataClass);
  const agentId = f.agent === undefined ? undefined : await store.nameId("agent", f.agent);
  if (cls === undefined || (f.agent !== undefined && agentId === undefined)) return { total: 0, byAgent: [] };
  const counts = new Map<number, number>();
  const add = (agent: number, n: number): void => {
    counts.set(agent, (counts.get(agent) ?? 0) + n);
  };
  const spans: Span[] = [];
  cover(f.since ?? 0, f.until ?? 8.64e15, ROLLUPS, spans);
  for (const span of spans) {
    if (span.rollup === undefined) {
      const where = await whereOf(store, { ...f, since: span.from, until: span.to });
      for (const r of await store.select(`SELECT coalesce(agent, -1) AS agent, count(*) AS n FROM events WHERE ${where.sql} GROUP BY coalesce(agent, -1)`, where.params)) add(Number(r["agent"]), Number(r["n"]));
      continue;
    }
    const { table, unit, ms } = span.rollup;
    const params: Cell[] = [cls, span.from / ms, span.to / ms];
    let sql = `SELECT agent, sum(n) AS n FROM ${table} WHERE class = ?${f.outsideHours === true ? " AND within = 1" : ""} AND ${unit} >= ? AND ${unit} < ?`;
    if (agentId !== undefined) {
      sql += " AND agent = ?";
      params.push(agentId);
    }
    for (const r of await store.select(`${sql} GROUP BY agent`, params)) add(Number(r["agent"]), Number(r["n"]));
  }
  const byAgent: { agent: string | null; events: number }[] = [];
  const names = await store.namesOf("agent", [...counts.keys()].filter((a) => a !== -1));
  for (const [agent, n] of counts) if (n > 0) byAgent.push({ agent: agent === -1 ? null : (names.get(agent) ?? `#${String(agent)}`), events: n });
  byAgent.sort((a, b) => b.events - a.events || String(a.agent).localeCompare(String(b.agent)));
  return { total: byAgent.reduce((n, a) => n + a.events, 0), byAgent };
}

interface Rollup {
  readonly table: "daily" | "hourly";
  readonly unit: "day" | "hour";
  readonly ms: number;
}

/** Coarsest first. */
const ROLLUPS: readonly Rollup[] = [
  { table: "daily", unit: "day", ms: DAY_MS },
  { table: "hourly", unit: "hour", ms: HOUR_MS },
];

/** A part of the window answered by one rollup (whole units), or by the events (rollup undefined). */
interface Span {
  readonly from: number;
  readonly to: number;
  readonly rollup?: Rollup;
}

/** Splits [from, to) into the whole units of the coarsest rollup that fits, finer ones at the ends. */
function cover(from: number, to: number, rollups: readonly Rollup[], out: Span[]): void {
  if (from >= to) return;
  const [rollup, ...finer] = rollups;
  if (rollup === undefined) {
    out.push({ from, to });
    return;
  }
  const first = Math.ceil(from / rollup.ms) * rollup.ms;
  const last = Math.floor(to / rollup.ms) * rollup.ms;
  if (first >= last) {
    cover(from, to, finer, out);
    return;
  }
  cover(from, first, finer, out);
  out.push({ from: first, to: last, rollup });
  cover(last, to, finer, out);
}

/** Every event of one trace (a tool span and the SQL statements that carried its traceparent), in observed order. */
export async function traceEvents(store: TrailStore, traceId: string): Promise<TrailEvent[]> {
  if (!/^[0-9a-f]{32}$/.test(traceId)) throw new CharterError("USAGE", `${JSON.stringify(traceId.slice(0, 80))} is not a W3C trace id`, { hint: "Give the 32 hex digits, as charter audit actions prints them." });
  const rows = await store.select("SELECT seq FROM events WHERE trace = ? ORDER BY observed_ms, seq LIMIT 10001", [Buffer.from(traceId, "hex")]);
  if (rows.length > 10_000) throw new CharterError("LIMIT_EXCEEDED", `trace ${traceId} has more than 10,000 events`, { hint: "Narrow it down with charter audit actions and a time window." });
  return eventsBySeq(store, rows.map((r) => Number(r["seq"])));
}

/** Events from their stored bytes, in the order of the seqs given; each chunk is read once. */
async function eventsBySeq(store: TrailStore, seqs: readonly number[]): Promise<TrailEvent[]> {
  const bySeq = new Map<number, TrailEvent>();
  const wanted = new Set(seqs);
  const chunkFirsts = new Set<number>();
  for (const seq of seqs) {
    const [chunk] = await store.select("SELECT first_seq FROM chunks WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1", [seq]);
    if (chunk !== undefined) chunkFirsts.add(Number(chunk["first_seq"]));
  }
  for (const first of chunkFirsts) {
    const [chunk] = await store.select("SELECT first_seq, lines, hashes FROM chunks WHERE first_seq = ?", [first]);
    if (chunk === undefined) continue;
    for (const link of splitChunk(first, chunk["lines"] as Buffer, chunk["hashes"] as Buffer)) {
      if (wanted.has(link.seq)) bySeq.set(link.seq, eventFromBytes(link.bytes, link.hash.toString("hex")));
    }
  }
  return seqs.flatMap((s) => {
    const e = bySeq.get(s);
    return e === undefined ? [] : [e];
  });
}
