import type Database from "better-sqlite3";
import { CharterError } from "../errors.js";
import { GENESIS_HASH } from "../trail/event-bytes.js";
import {
  BYTES_PER_ROW,
  columnViews,
  D_MANIFEST,
  D_OBSERVED,
  D_RECEIVED,
  DOUBLES_PER_ROW,
  FLAG_ATTESTED,
  I_ACTION,
  I_AGENT,
  I_BITS,
  I_CLASS_SET,
  I_FLAGS,
  I_PRINCIPAL,
  I_RESOURCE,
  I_SOURCE,
  I_TRACE,
  I_WITHIN,
  INTS_PER_ROW,
  TRACE_IN_BYTES,
  TRACE_NONE,
  type TrailColumns,
} from "./sqlite-trail-columns.js";
import { packChunk } from "./trail-chunk.js";
import { MAX_DATA_CLASSES, type NameKind, RollupCounts, type SourcePosition } from "./trail-store.js";

/**
 * How a batch of events becomes rows of the SQLite trail, shared by the store's own connection
 * and its writer thread (sqlite-trail-writer.ts): both must write exactly the same rows, so the
 * writing lives here once.
 */

/** A stored chunk of the record (trail-chunk.ts), ready to insert. */
export interface StoredChunk {
  readonly first: number;
  readonly last: number;
  readonly lines: Uint8Array;
  readonly hashes: Uint8Array;
}

/** Events per stored chunk: small enough that showing one event reads little, large enough to keep writes sequential and compress well. */
const CHUNK_EVENTS = 256;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** One cache of prepared statements per connection: preparing costs more than running a small insert. */
export function statementCache(db: Database.Database): (sql: string) => Database.Statement {
  const statements = new Map<string, Database.Statement>();
  return (sql) => {
    let statement = statements.get(sql);
    if (statement === undefined) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
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
  batch: TrailColumns,
  duplicates: "skip" | "refuse",
): number[] | false {
  // One statement per event both stores the query row and tells a duplicate: the unique time
  // index refuses an event already in the trail and only that conflict is ignored, so any other
  // failure still aborts the whole batch.
  const insert = prepared(
    "INSERT INTO events (seq, observed_ms, id, agent, source, action, resource, principal, classes, bits, manifest_seq, trace) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (observed_ms, id) DO NOTHING",
  );
  const { doubles, ints, bytes } = columnViews(batch);
  // Each distinct name and source of the batch is looked up (or created) once, not once per event.
  const nameIds = batch.names.map((value, k) => names.name(batch.kinds[k] as NameKind, value));
  const sourceCount = batch.sources.length / 2;
  const sourceIds: number[] = [];
  for (let k = 0; k < sourceCount; k++) sourceIds.push(names.sourceId(batch.sources[2 * k] as string, batch.sources[2 * k + 1] as string));
  const classes = batch.classSets.map((set) => {
    const c = names.classes(set);
    // Bound as a number when it is one exactly: binding a BigInt costs more, and SQLite stores the same integer.
    return { mask: c.mask <= MAX_SAFE ? Number(c.mask) : c.mask, rollup: c.rollup };
  });
  const oddTraces = batch.oddTraces.map((t) => Buffer.from(t, "hex"));
  const rollups = new RollupCounts();
  // Per source of the batch: the stored events' count, latest observed and received times, and attestation (the first stored event's).
  const counted = new Array<number>(sourceCount).fill(0);
  const last = new Array<number>(sourceCount).fill(0);
  const received = new Array<number>(sourceCount).fill(0);
  const attested = new Array<boolean>(sourceCount).fill(false);
  const fresh: number[] = [];
  let seq = tipSeq;
  for (let i = 0; i < batch.count; i++) {
    const d = i * DOUBLES_PER_ROW;
    const o = i * INTS_PER_ROW;
    const b = i * BYTES_PER_ROW;
    const observedMs = doubles[d + D_OBSERVED] as number;
    const agentAt = ints[o + I_AGENT] as number;
    const agent = agentAt < 0 ? null : (nameIds[agentAt] as number);
    const resourceAt = ints[o + I_RESOURCE] as number;
    const manifestSeq = doubles[d + D_MANIFEST] as number;
    const traceAt = ints[o + I_TRACE] as number;
    const source = ints[o + I_SOURCE] as number;
    const set = classes[ints[o + I_CLASS_SET] as number] as { mask: number | bigint; rollup: number[] };
    const stored = insert.run(
      seq + 1,
      observedMs,
      bytes.subarray(b, b + 16),
      agent,
      sourceIds[source],
      nameIds[ints[o + I_ACTION] as number],
      resourceAt < 0 ? null : nameIds[resourceAt],
      nameIds[ints[o + I_PRINCIPAL] as number],
      set.mask,
      ints[o + I_BITS],
      Number.isNaN(manifestSeq) ? null : manifestSeq,
      traceAt === TRACE_NONE ? null : traceAt === TRACE_IN_BYTES ? bytes.subarray(b + 16, b + 32) : oddTraces[traceAt],
    ).changes;
    if (stored === 0) {
      if (duplicates === "refuse") return false;
      continue;
    }
    seq += 1;
    fresh.push(i);
    rollups.add(set.rollup, ints[o + I_WITHIN] as number, observedMs, agent);
    const receivedMs = doubles[d + D_RECEIVED] as number;
    if (counted[source] === 0) {
      attested[source] = ((ints[o + I_FLAGS] as number) & FLAG_ATTESTED) !== 0;
      last[source] = observedMs;
      received[source] = receivedMs;
    } else {
      last[source] = Math.max(last[source] as number, observedMs);
      received[source] = Math.max(received[source] as number, receivedMs);
    }
    counted[source] = (counted[source] as number) + 1;
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
  for (let k = 0; k < sourceCount; k++) {
    if (counted[k] === 0) continue;
    upsertStatus.run(batch.sources[2 * k], batch.sources[2 * k + 1], attested[k] === true ? 1 : 0, last[k], received[k], counted[k]);
  }
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
