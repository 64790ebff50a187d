import type Database from "better-sqlite3";
import { CharterError } from "../errors.js";
import type { DecidedEvent } from "../trail/decide.js";
import type { TrailSourceKind } from "../trail/event.js";
import { GENESIS_HASH } from "../trail/event-bytes.js";
import { packChunk } from "./trail-chunk.js";
import { eventBits, MAX_DATA_CLASSES, type NameKind, resourceKey, RollupCounts, type SourcePosition, triState } from "./trail-store.js";

/**
 * How a batch of events becomes rows of the SQLite trail, shared by the store's own connection
 * and its writer thread (sqlite-trail-writer.ts): both must write exactly the same rows, so the
 * writing lives here once.
 */

/** What the query row of an event needs: plain data, so that it crosses to the writer thread as it is. */
export interface TrailRow {
  readonly observedMs: number;
  /** The event id, hex. */
  readonly id: string;
  readonly agent: string | null;
  readonly source: TrailSourceKind;
  readonly sourceInstance: string;
  readonly action: string;
  /** The resource's key (resourceKey), null when the event names none. */
  readonly resource: string | null;
  readonly principal: string;
  /** Index into the batch's sets of data classes (the catalog hands out one array per resource). */
  readonly classSet: number;
  readonly bits: number;
  /** withinHours as a tri-state (triState). */
  readonly within: number;
  readonly manifestSeq: number | null;
  readonly traceId: string | null;
  readonly attested: boolean;
  readonly receivedMs: number;
}

/** A batch's rows with the distinct data-class sets they point into. */
export interface TrailRows {
  readonly rows: TrailRow[];
  readonly classSets: (readonly string[])[];
}

/** A stored chunk of the record (trail-chunk.ts), ready to insert. */
export interface StoredChunk {
  readonly first: number;
  readonly last: number;
  readonly lines: Uint8Array;
  readonly hashes: Uint8Array;
}

/** Events per stored chunk: small enough that showing one event reads little, large enough to keep writes sequential and compress well. */
const CHUNK_EVENTS = 256;

/** One cache of prepared statements per connection: preparing costs more than running a small insert. */
export function statementCache(db: Database.Database): (sql: string) => Database.Statement {
  const statements = new Map<string, Database.Statement>();
  return (sql) => {
    let statement = statements.get(sql);
    if (statement === undefined) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
}

/** The rows of decided events, in the order given. */
export function rowsOf(events: readonly DecidedEvent[]): TrailRows {
  const rows: TrailRow[] = [];
  const classSets: (readonly string[])[] = [];
  const setIndex = new Map<readonly string[], number>();
  let receivedAt = "";
  let receivedMs = Number.NaN;
  for (const e of events) {
    // A submission's events share one receive time.
    if (e.receivedAt !== receivedAt) {
      receivedAt = e.receivedAt;
      receivedMs = Date.parse(receivedAt);
    }
    let classSet = setIndex.get(e.dataClasses);
    if (classSet === undefined) {
      setIndex.set(e.dataClasses, (classSet = classSets.length));
      classSets.push(e.dataClasses);
    }
    rows.push({
      observedMs: Date.parse(e.observedAt),
      id: e.id,
      agent: e.agent,
      source: e.source,
      sourceInstance: e.sourceInstance,
      action: e.action,
      resource: resourceKey(e),
      principal: e.principal,
      classSet,
      bits: eventBits(e),
      within: triState(e.withinHours),
      manifestSeq: e.manifestSeq,
      traceId: e.traceId,
      attested: e.attested,
      receivedMs,
    });
  }
  return { rows, classSets };
}

/** The record of chained events as chainEvents lays it out: their lines one after the other, where each ends, their hashes. */
export interface RecordRun {
  readonly lines: Uint8Array;
  readonly ends: ArrayLike<number>;
  readonly hashes: Uint8Array;
}

/** The stored chunks of a chained run placed after seq `tipSeq`, compressed (the writer thread does this, beside the thread that chains). */
export function chunksOf(tipSeq: number, record: RecordRun): StoredChunk[] {
  const chunks: StoredChunk[] = [];
  const lines = asBuffer(record.lines);
  const count = record.ends.length;
  for (let i = 0; i < count; i += CHUNK_EVENTS) {
    const j = Math.min(count, i + CHUNK_EVENTS);
    chunks.push({
      first: tipSeq + i + 1,
      last: tipSeq + j,
      lines: packChunk(lines.subarray(i === 0 ? 0 : record.ends[i - 1], record.ends[j - 1])),
      hashes: record.hashes.subarray(32 * i, 32 * j),
    });
  }
  return chunks;
}

/** The last stored link: seq 0 and the genesis hash for an empty trail. */
export function readTip(prepared: (sql: string) => Database.Statement): { seq: number; hash: string } {
  const row = prepared("SELECT last_seq, hashes FROM chunks ORDER BY first_seq DESC LIMIT 1").get() as { last_seq: number; hashes: Buffer } | undefined;
  return row === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: row.last_seq, hash: row.hashes.subarray(row.hashes.length - 32).toString("hex") };
}

/**
 * The names dictionary of one connection, with its ids cached: names are written inside the
 * caller's transaction when new, so after a rollback the cache must be forgotten (forget).
 */
export class TrailNames {
  readonly #prepared: (sql: string) => Database.Statement;
  readonly #names = new Map<NameKind, Map<string, number>>();
  readonly #sourceIds = new Map<string, Map<string, number>>();
  readonly #classBits = new Map<string, number>();
  #classSets = new WeakMap<readonly string[], { mask: bigint; rollup: number[] }>();

  constructor(prepared: (sql: string) => Database.Statement) {
    this.#prepared = prepared;
  }

  /** A dictionary id, created inside the caller's transaction when new. */
  name(kind: NameKind, value: string): number {
    let ids = this.#names.get(kind);
    if (ids === undefined) this.#names.set(kind, (ids = new Map<string, number>()));
    const cached = ids.get(value);
    if (cached !== undefined) return cached;
    this.#prepared("INSERT OR IGNORE INTO names (kind, value) VALUES (?, ?)").run(kind, value);
    const row = this.#prepared("SELECT id FROM names WHERE kind = ? AND value = ?").get(kind, value) as { id: number };
    ids.set(value, row.id);
    return row.id;
  }

  /** The source's dictionary id ("source/instance"), without building the name for every event. */
  sourceId(source: string, instance: string): number {
    let ids = this.#sourceIds.get(source);
    if (ids === undefined) this.#sourceIds.set(source, (ids = new Map<string, number>()));
    let id = ids.get(instance);
    if (id === undefined) ids.set(instance, (id = this.name("source", `${source}/${instance}`)));
    return id;
  }

  /**
   * A set of data classes as the row's bit mask and the rollups' class numbers (0 for every
   * event, k + 1 for bit k), worked out once per array.
   */
  classes(dataClasses: readonly string[]): { mask: bigint; rollup: number[] } {
    const cached = this.#classSets.get(dataClasses);
    if (cached !== undefined) return cached;
    let mask = 0n;
    const rollup = [0];
    for (const c of dataClasses) {
      const index = this.#classIndex(c);
      mask |= 1n << BigInt(index);
      rollup.push(index + 1);
    }
    const out = { mask, rollup };
    this.#classSets.set(dataClasses, out);
    return out;
  }

  /** Data classes get bit positions 0..61 in order of first appearance. */
  #classIndex(name: string): number {
    const cached = this.#classBits.get(name);
    if (cached !== undefined) return cached;
    const row = this.#prepared("SELECT value FROM meta WHERE key = ?").get(`class:${name}`) as { value: string } | undefined;
    let index: number;
    if (row !== undefined) index = Number(row.value);
    else {
      const count = (this.#prepared("SELECT count(*) AS n FROM meta WHERE key LIKE 'class:%'").get() as { n: number }).n;
      if (count >= MAX_DATA_CLASSES) {
        throw new CharterError("LIMIT_EXCEEDED", `the trail tells apart at most ${MAX_DATA_CLASSES} data classes; "${name}" would be one more`, {
          hint: "Use fewer, broader data classes in the resource catalog.",
        });
      }
      index = count;
      this.#prepared("INSERT INTO meta (key, value) VALUES (?, ?)").run(`class:${name}`, String(index));
    }
    this.#classBits.set(name, index);
    return index;
  }

  /** Forgets every cached id: after a rollback, the names created in it do not exist. */
  forget(): void {
    this.#names.clear();
    this.#sourceIds.clear();
    this.#classBits.clear();
    this.#classSets = new WeakMap();
  }
}

/**
 * Inserts the rows of a batch from seq `tipSeq` + 1 on, inside the caller's transaction, and
 * writes the rollups and source status of those stored. A row whose (time, id) is in the trail
 * already (or earlier in the batch) is a duplicate: with `duplicates` "skip" it is left out and
 * the next row takes its seq; with "refuse" the first one ends the call with false (the caller
 * rolls back: its chain was built on every row being new). Returns the indexes of the rows
 * stored, or false.
 */
export function insertRows(
  prepared: (sql: string) => Database.Statement,
  names: TrailNames,
  tipSeq: number,
  batch: TrailRows,
  duplicates: "skip" | "refuse",
): number[] | false {
  // One statement per event both stores the query row and tells a duplicate: the unique time
  // index refuses an event already in the trail and only that conflict is ignored, so any other
  // failure still aborts the whole batch.
  const insert = prepared(
    "INSERT INTO events (seq, observed_ms, id, agent, source, action, resource, principal, classes, bits, manifest_seq, trace) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (observed_ms, id) DO NOTHING",
  );
  const classes = batch.classSets.map((set) => names.classes(set));
  const rollups = new RollupCounts();
  const status = new Map<string, { source: TrailSourceKind; instance: string; attested: boolean; last: number; received: number; n: number }>();
  const fresh: number[] = [];
  let seq = tipSeq;
  for (const [i, r] of batch.rows.entries()) {
    const agent = r.agent === null ? null : names.name("agent", r.agent);
    const set = classes[r.classSet] as { mask: bigint; rollup: number[] };
    const stored = insert.run(
      seq + 1,
      r.observedMs,
      Buffer.from(r.id, "hex"),
      agent,
      names.sourceId(r.source, r.sourceInstance),
      names.name("action", r.action),
      r.resource === null ? null : names.name("resource", r.resource),
      names.name("principal", r.principal),
      set.mask,
      r.bits,
      r.manifestSeq,
      r.traceId === null ? null : Buffer.from(r.traceId, "hex"),
    ).changes;
    if (stored === 0) {
      if (duplicates === "refuse") return false;
      continue;
    }
    seq += 1;
    fresh.push(i);
    rollups.add(set.rollup, r.within, r.observedMs, agent);
    const sk = `${r.source}\n${r.sourceInstance}`;
    const s = status.get(sk);
    if (s === undefined) status.set(sk, { source: r.source, instance: r.sourceInstance, attested: r.attested, last: r.observedMs, received: r.receivedMs, n: 1 });
    else {
      s.last = Math.max(s.last, r.observedMs);
      s.received = Math.max(s.received, r.receivedMs);
      s.n += 1;
    }
  }
  const upsertHour = prepared(
    "INSERT INTO hourly (class, within, hour, agent, n) VALUES (?, ?, ?, ?, ?) ON CONFLICT (class, within, hour, agent) DO UPDATE SET n = n + excluded.n",
  );
  for (const row of rollups.rows("hour")) upsertHour.run(...row);
  const upsertDay = prepared("INSERT INTO daily (class, within, day, agent, n) VALUES (?, ?, ?, ?, ?) ON CONFLICT (class, within, day, agent) DO UPDATE SET n = n + excluded.n");
  for (const row of rollups.rows("day")) upsertDay.run(...row);
  const upsertStatus = prepared(
    `INSERT INTO source_status (source, instance, attested, last_event_ms, last_received_ms, events) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (source, instance) DO UPDATE SET last_event_ms = max(coalesce(last_event_ms, 0), excluded.last_event_ms),
       last_received_ms = max(coalesce(last_received_ms, 0), excluded.last_received_ms), events = events + excluded.events, attested = excluded.attested`,
  );
  for (const s of status.values()) upsertStatus.run(s.source, s.instance, s.attested ? 1 : 0, s.last, s.received, s.n);
  return fresh;
}

/** Inserts the record's chunks and saves the sources' positions, inside the caller's transaction. */
export function insertChunks(prepared: (sql: string) => Database.Statement, chunks: readonly StoredChunk[], positions: readonly SourcePosition[], nowMs: number): void {
  const insertChunk = prepared("INSERT INTO chunks (first_seq, last_seq, lines, hashes) VALUES (?, ?, ?, ?)");
  for (const c of chunks) insertChunk.run(c.first, c.last, asBuffer(c.lines), asBuffer(c.hashes));
  const savePosition = prepared(
    "INSERT INTO positions (source, instance, position, updated_ms) VALUES (?, ?, ?, ?) ON CONFLICT (source, instance) DO UPDATE SET position = excluded.position, updated_ms = excluded.updated_ms",
  );
  for (const p of positions) savePosition.run(p.source, p.instance, p.position, nowMs);
}

/** Bytes that crossed from another thread arrive as a plain Uint8Array; the driver binds Buffers as blobs. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
