import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { CharterError } from "../errors.js";
import type { BindingKind, PrincipalBinding } from "../trail/attribute.js";
import { chainEvents, layoutEvents } from "../trail/chain.js";
import { chunkLines, splitChunk } from "./trail-chunk.js";
import { columnsOf } from "./sqlite-trail-columns.js";
import { chunksOf, insertChunks, insertRows, readTip, statementCache, TrailNames } from "./sqlite-trail-rows.js";
import { WriterThread } from "./sqlite-trail-writer-thread.js";
import type { DecidedEvent } from "../trail/decide.js";
import type { TrailSourceKind } from "../trail/event.js";
import {
  type AppendResult,
  type Cell,
  type ChainRow,
  DAILY_BACKFILL_SQL,
  type IngestToken,
  type NameKind,
  type NewIngestToken,
  type Segment,
  type SourceGap,
  type SourcePosition,
  type SourceStatusRow,
  type TrailStore,
} from "./trail-store.js";
import { SOURCE_STATUS_SQL, type SourceStatusSql, sourceStatusRow } from "./source-status-sql.js";

/**
 * The trail in one SQLite file (WAL): the default store, with no server to run. The app ingests
 * into it while `charter audit actions` and `charter trail verify` read it from other processes;
 * WAL lets readers see the last committed state without blocking the writer. Every append is
 * committed with synchronous=FULL before it resolves, which is what lets ingest acknowledge an
 * event: acknowledged means on disk.
 *
 * Rows are kept narrow for the queries (names as dictionary ids, flags as bits, data classes as
 * a bit mask) beside the event's stored bytes, which are the record the hash chain covers. Daily
 * and hourly rollups (data class, within hours, day or hour, agent → count), kept in the same
 * transaction, answer the population questions ("how many off-hours reads of customer data in
 * a year, by which agents") without reading the events.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS names (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  UNIQUE (kind, value)
);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  observed_ms INTEGER NOT NULL,
  id BLOB NOT NULL,
  agent INTEGER,
  source INTEGER NOT NULL,
  action INTEGER NOT NULL,
  resource INTEGER,
  principal INTEGER NOT NULL,
  classes INTEGER NOT NULL,
  bits INTEGER NOT NULL,
  manifest_seq INTEGER,
  trace BLOB
);
-- Redeliveries carry the time they were observed at, like the first delivery: keyed by time
-- first, the dedupe index grows at its end (events arrive roughly in time order) instead of at
-- random places, and it is the time index every query walks.
CREATE UNIQUE INDEX IF NOT EXISTS events_time ON events (observed_ms, id);
CREATE INDEX IF NOT EXISTS events_agent ON events (agent, observed_ms);
-- The record: the stored bytes of consecutive events, one line each, with their chain hashes.
CREATE TABLE IF NOT EXISTS chunks (
  first_seq INTEGER PRIMARY KEY,
  last_seq INTEGER NOT NULL,
  lines BLOB NOT NULL,
  hashes BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_trace ON events (trace) WHERE trace IS NOT NULL;
-- Events no agent owns, by source: the alert log's own records (read at every anchor for its
-- alert summary) and unattributed identities. Partial, so agents' events cost it nothing.
CREATE INDEX IF NOT EXISTS events_unowned ON events (source, seq) WHERE agent IS NULL;
CREATE TABLE IF NOT EXISTS hourly (
  class INTEGER NOT NULL,
  within INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  agent INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (class, within, hour, agent)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS daily (
  class INTEGER NOT NULL,
  within INTEGER NOT NULL,
  day INTEGER NOT NULL,
  agent INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (class, within, day, agent)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS positions (
  source TEXT NOT NULL,
  instance TEXT NOT NULL,
  position TEXT NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (source, instance)
);
CREATE TABLE IF NOT EXISTS source_status (
  source TEXT NOT NULL,
  instance TEXT NOT NULL,
  attested INTEGER NOT NULL,
  last_event_ms INTEGER,
  last_received_ms INTEGER,
  events INTEGER NOT NULL,
  PRIMARY KEY (source, instance)
);
CREATE TABLE IF NOT EXISTS configured_sources (
  source TEXT NOT NULL,
  instance TEXT NOT NULL,
  attested INTEGER NOT NULL,
  configured_ms INTEGER NOT NULL,
  silent_after_ms INTEGER NOT NULL,
  PRIMARY KEY (source, instance)
);
CREATE TABLE IF NOT EXISTS source_gaps (
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  instance TEXT NOT NULL,
  kind TEXT NOT NULL,
  detected_ms INTEGER NOT NULL,
  detail TEXT NOT NULL,
  reported_seq INTEGER
);
CREATE TABLE IF NOT EXISTS ingest_tokens (
  id TEXT PRIMARY KEY NOT NULL,
  secret_hash BLOB NOT NULL,
  kind TEXT NOT NULL,
  agent TEXT,
  source TEXT NOT NULL,
  instance TEXT NOT NULL,
  attested INTEGER NOT NULL,
  note TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  revoked_ms INTEGER
);
CREATE TABLE IF NOT EXISTS principals (
  principal TEXT NOT NULL,
  instance TEXT NOT NULL,
  agent TEXT NOT NULL,
  kind TEXT NOT NULL,
  from_ms INTEGER NOT NULL,
  until_ms INTEGER,
  PRIMARY KEY (principal, instance, from_ms)
);
CREATE TABLE IF NOT EXISTS segments (
  idx INTEGER PRIMARY KEY,
  from_seq INTEGER NOT NULL,
  to_seq INTEGER NOT NULL,
  root TEXT NOT NULL,
  checkpoint TEXT NOT NULL,
  sealed_at TEXT NOT NULL,
  anchor_seq INTEGER,
  anchor_sha256 TEXT
);
CREATE TABLE IF NOT EXISTS tiles (idx INTEGER PRIMARY KEY, hash BLOB NOT NULL);
`;

export interface SqliteTrailOptions {
  /** The trail's checkpoint origin when the file is created; default charter-trail/<random uuid>. */
  readonly origin?: string;
  /** Pages of SQLite cache, in KiB (negative) as the pragma takes it; default 64 MiB. */
  readonly cacheKiB?: number;
  /** Set false only for benchmarks that measure the engine, never for a trail that acknowledges events. */
  readonly durable?: boolean;
  /** Set false to commit appends on the calling thread (one append at a time); default: a writer thread for a trail in a file. */
  readonly writerThread?: boolean;
}


export function openSqliteTrail(
  path: string,
  options: SqliteTrailOptions = {},
): SqliteTrailStore {
  return new SqliteTrailStore(path, options);
}

export class SqliteTrailStore implements TrailStore {
  readonly dialect = "sqlite" as const;
  readonly location: string;
  readonly appendsInFlight: number;
  readonly #db: Database.Database;
  readonly #prepared: (sql: string) => Database.Statement;
  readonly #names: TrailNames;
  /** Commits appended batches beside this thread; null for a trail in memory (a thread cannot share it). */
  readonly #writer: WriterThread | null;
  /** The preparation of appended batches, one after the other. */
  #order: Promise<void> = Promise.resolve();
  /** The seq the batches given to the writer will end at. */
  #expected = 0;
  /** Set when the writer refused or failed a batch: the next one waits for the writer and reads the tip. */
  #resync = false;
  #origin: string;

  constructor(path: string, options: SqliteTrailOptions = {}) {
    this.location = path;
    // Two: one batch committing on the writer thread while the caller prepares the next.
    this.appendsInFlight = path === ":memory:" || options.writerThread === false ? 1 : 2;
    try {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      this.#db = new Database(path);
      this.#db.pragma("journal_mode = WAL");
      this.#db.pragma(
        `synchronous = ${options.durable === false ? "OFF" : "FULL"}`,
      );
      // The app ingests while the CLI reads or backfills from another process.
      this.#db.pragma("busy_timeout = 10000");
      this.#db.pragma(`cache_size = ${String(-(options.cacheKiB ?? 65_536))}`);
      this.#prepared = statementCache(this.#db);
      this.#names = new TrailNames(this.#prepared);
      this.#writer =
        path === ":memory:" || options.writerThread === false
          ? null
          : new WriterThread({ path, durable: options.durable !== false, cacheKiB: options.cacheKiB ?? 65_536 });
      this.#db.exec(SCHEMA);
      this.#migrate();
      const row = this.#db
        .prepare("SELECT value FROM meta WHERE key = 'origin'")
        .get() as { value: string } | undefined;
      if (row === undefined) {
        this.#origin = options.origin ?? `charter-trail/${randomUUID()}`;
        this.#db
          .prepare(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('origin', ?)",
          )
          .run(this.#origin);
        this.#origin = (
          this.#db
            .prepare("SELECT value FROM meta WHERE key = 'origin'")
            .get() as { value: string }
        ).value;
      } else {
        this.#origin = row.value;
      }
    } catch (cause) {
      throw new CharterError(
        "IO",
        `cannot open the trail store ${path}: ${(cause as Error).message}`,
        {
          cause,
          hint: "Check that the directory is writable, or set CHARTER_TRAIL_DB to another file.",
        },
      );
    }
  }

  /**
   * Trails created before the daily rollup get it filled from their hourly one, once: the
   * marker and the rows are written in one transaction, so a crash leaves either both or neither.
   */
  #migrate(): void {
    if (this.#db.prepare("SELECT 1 FROM meta WHERE key = 'rollup:daily'").get() !== undefined) return;
    this.#db
      .transaction(() => {
        if (this.#db.prepare("SELECT 1 FROM meta WHERE key = 'rollup:daily'").get() !== undefined) return;
        this.#db.exec(DAILY_BACKFILL_SQL);
        this.#db.prepare("INSERT INTO meta (key, value) VALUES ('rollup:daily', '1')").run();
      })
      .immediate();
  }

  origin(): Promise<string> {
    return Promise.resolve(this.#origin);
  }

  /**
   * Stores events after the tip in one durable transaction. With a writer thread (a trail in a
   * file), the batch is laid out here after the seq the batches before it will end at, and
   * hashed, compressed and committed by the writer thread while the caller prepares the next
   * one; the returned promise resolves only once that commit is durable. A batch the writer refuses (its
   * tip moved, or one of its events is in the trail already) is appended here instead, after
   * every batch before it was answered, so the chain keeps the order of the calls.
   */
  append(events: readonly DecidedEvent[], positions: readonly SourcePosition[] = []): Promise<AppendResult> {
    const writer = this.#writer;
    if (writer === null || writer.failed || events.length === 0) return this.#appendHere(events, positions);
    return new Promise<AppendResult>((resolve, reject) => {
      // Batches are prepared one after the other, in call order: each is chained on the tip the one before leaves.
      this.#order = this.#order
        .then(async () => {
          if (this.#resync) {
            // After a refused batch the expected tip is unknown until the writes before are answered.
            await writer.idle();
            this.#resync = false;
          }
          if (writer.failed) {
            resolve(await this.#appendHere(events, positions));
            return;
          }
          const tipSeq = writer.busy === 0 ? readTip(this.#prepared).seq : this.#expected;
          const rows = columnsOf(events);
          const laid = layoutEvents(tipSeq, events);
          this.#expected = tipSeq + laid.events.length;
          writer.write({ tipSeq, rows, lines: laid.lines, ends: laid.ends, positions, nowMs: Date.now() }).then(
            (outcome) => {
              if (outcome !== "conflict") {
                const hashes = Buffer.from(outcome.buffer, outcome.byteOffset, outcome.byteLength);
                laid.events.forEach((e, i) => {
                  (e as { hash: string }).hash = hashes.toString("hex", 32 * i, 32 * i + 32);
                });
                resolve({ stored: laid.events, duplicates: 0 });
              } else {
                this.#resync = true;
                this.#appendHere(events, positions).then(resolve, reject);
              }
            },
            (error: unknown) => {
              this.#resync = true;
              reject(error instanceof Error ? error : new Error(String(error)));
            },
          );
        })
        .catch(reject);
    });
  }

  /** Appends on this connection: duplicates are left out and the chain is built on the rows stored. */
  #appendHere(events: readonly DecidedEvent[], positions: readonly SourcePosition[]): Promise<AppendResult> {
    const run = this.#db.transaction((): AppendResult => {
      const tip = readTip(this.#prepared);
      const fresh = insertRows(this.#prepared, this.#names, tip.seq, columnsOf(events), "skip") as number[];
      const chained = chainEvents(
        tip,
        fresh.map((i) => events[i] as DecidedEvent),
      );
      insertChunks(this.#prepared, chunksOf(tip.seq, chained), positions, Date.now());
      return { stored: chained.events, duplicates: events.length - fresh.length };
    });
    try {
      return Promise.resolve(run.immediate());
    } catch (error) {
      this.#names.forget();
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  tip(): Promise<{ seq: number; hash: string }> {
    return Promise.resolve(readTip(this.#prepared));
  }

  position(source: TrailSourceKind, instance: string): Promise<string | null> {
    const row = this.#prepared(
      "SELECT position FROM positions WHERE source = ? AND instance = ?",
    ).get(source, instance) as { position: string } | undefined;
    return Promise.resolve(row?.position ?? null);
  }

  createToken(t: NewIngestToken): Promise<void> {
    this.#prepared(
      "INSERT INTO ingest_tokens (id, secret_hash, kind, agent, source, instance, attested, note, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(
      t.id,
      t.secretHash,
      t.kind,
      t.agent,
      t.source,
      t.instance,
      t.attested ? 1 : 0,
      t.note,
      t.createdMs,
    );
    return Promise.resolve();
  }

  findToken(id: string, secretHash: Buffer): Promise<IngestToken | null> {
    const row = this.#prepared("SELECT * FROM ingest_tokens WHERE id = ?").get(
      id,
    ) as TokenRow | undefined;
    if (
      row === undefined ||
      row.secret_hash.length !== secretHash.length ||
      !row.secret_hash.equals(secretHash)
    )
      return Promise.resolve(null);
    return Promise.resolve(tokenOf(row));
  }

  revokeToken(id: string, nowMs: number): Promise<boolean> {
    return Promise.resolve(
      this.#prepared(
        "UPDATE ingest_tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL",
      ).run(nowMs, id).changes === 1,
    );
  }

  listTokens(): Promise<IngestToken[]> {
    return Promise.resolve(
      (
        this.#prepared(
          "SELECT * FROM ingest_tokens ORDER BY created_ms, id",
        ).all() as TokenRow[]
      ).map(tokenOf),
    );
  }

  addBindings(bindings: readonly PrincipalBinding[]): Promise<void> {
    const insert = this.#prepared(
      "INSERT INTO principals (principal, instance, agent, kind, from_ms, until_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (principal, instance, from_ms) DO UPDATE SET until_ms = excluded.until_ms",
    );
    this.#db
      .transaction(() => {
        for (const b of bindings)
          insert.run(
            b.principal,
            b.instance ?? "",
            b.agent,
            b.kind,
            b.fromMs,
            b.untilMs,
          );
      })
      .immediate();
    return Promise.resolve();
  }

  bindings(): Promise<PrincipalBinding[]> {
    const rows = this.#prepared(
      "SELECT * FROM principals ORDER BY principal, from_ms",
    ).all() as {
      principal: string;
      instance: string;
      agent: string;
      kind: BindingKind;
      from_ms: number;
      until_ms: number | null;
    }[];
    return Promise.resolve(
      rows.map((r) => ({
        principal: r.principal,
        instance: r.instance === "" ? null : r.instance,
        agent: r.agent,
        kind: r.kind,
        fromMs: r.from_ms,
        untilMs: r.until_ms,
      })),
    );
  }

  readChain(from: number, count: number): Promise<ChainRow[]> {
    const out: ChainRow[] = [];
    for (const row of this.iterateChain(from)) {
      if (out.length >= count) break;
      out.push(row);
    }
    return Promise.resolve(out);
  }

  /** The stored links from seq `from` on, in order, read a chunk at a time (bounded memory). */
  *iterateChain(from = 1): IterableIterator<ChainRow> {
    const start = this.#prepared(
      "SELECT coalesce(max(first_seq), 1) FROM chunks WHERE first_seq <= ?",
    )
      .pluck()
      .get(from) as number;
    const chunks = this.#db
      .prepare(
        "SELECT first_seq, lines, hashes FROM chunks WHERE first_seq >= ? ORDER BY first_seq",
      )
      .raw(true);
    for (const [first, lines, hashes] of chunks.iterate(
      start,
    ) as IterableIterator<[number, Buffer, Buffer]>) {
      yield* splitChunk(first, lines, hashes, from);
    }
  }

  /**
   * Chunks in seq order with their lines decompressed, for verification: the fastest way
   * through the record. A chunk that does not decode yields no lines, which verify reports.
   */
  *iterateChunks(): IterableIterator<[number, number, Buffer, Buffer]> {
    for (const [first, last, stored, hashes] of this.#db
      .prepare(
        "SELECT first_seq, last_seq, lines, hashes FROM chunks ORDER BY first_seq",
      )
      .raw(true)
      .iterate() as IterableIterator<[number, number, Buffer, Buffer]>)
      yield [first, last, chunkLines(stored) ?? Buffer.alloc(0), hashes];
  }

  /** Query rows in seq order, for the deep check (classes as exact integers). */
  *iterateRows(): Generator<{
    seq: number;
    observed_ms: number;
    id: Buffer;
    agent: number | null;
    source: number;
    action: number;
    resource: number | null;
    principal: number;
    classes: bigint;
    bits: number;
    manifest_seq: number | null;
    trace: Buffer | null;
  }> {
    // A connection of its own: one connection runs one statement at a time, and the chunks are being read beside it.
    const db = new Database(this.location, { readonly: true });
    try {
      const statement = db
        .prepare(
          "SELECT seq, observed_ms, id, agent, source, action, resource, principal, classes, bits, manifest_seq, trace FROM events ORDER BY seq",
        )
        .safeIntegers(true);
      for (const r of statement.iterate() as IterableIterator<
        Record<string, unknown>
      >) {
        const n = (v: unknown): number | null =>
          v === null ? null : Number(v);
        yield {
          seq: Number(r["seq"]),
          observed_ms: Number(r["observed_ms"]),
          id: r["id"] as Buffer,
          agent: n(r["agent"]),
          source: Number(r["source"]),
          action: Number(r["action"]),
          resource: n(r["resource"]),
          principal: Number(r["principal"]),
          classes: r["classes"] as bigint,
          bits: Number(r["bits"]),
          manifest_seq: n(r["manifest_seq"]),
          trace: r["trace"] as Buffer | null,
        };
      }
    } finally {
      db.close();
    }
  }

  leafHashes(from: number, to: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    const rows = this.#prepared(
      "SELECT first_seq, last_seq, hashes FROM chunks WHERE last_seq >= ? AND first_seq <= ? ORDER BY first_seq",
    ).all(from, to) as {
      first_seq: number;
      last_seq: number;
      hashes: Buffer;
    }[];
    for (const r of rows) {
      for (
        let seq = Math.max(from, r.first_seq);
        seq <= Math.min(to, r.last_seq);
        seq++
      )
        out.push(
          r.hashes.subarray(
            (seq - r.first_seq) * 32,
            (seq - r.first_seq + 1) * 32,
          ),
        );
    }
    return Promise.resolve(out);
  }

  segments(): Promise<Segment[]> {
    const rows = this.#prepared(
      "SELECT * FROM segments ORDER BY idx",
    ).all() as SegmentRow[];
    return Promise.resolve(rows.map(segmentOf));
  }

  addSegment(
    segment: Omit<Segment, "anchor">,
    tiles: readonly { index: number; hash: Buffer }[],
    frontier: string,
  ): Promise<boolean> {
    return Promise.resolve(
      this.#db
        .transaction((): boolean => {
          const last = this.#prepared(
            "SELECT idx, to_seq FROM segments ORDER BY idx DESC LIMIT 1",
          ).get() as { idx: number; to_seq: number } | undefined;
          if (
            (last?.idx ?? -1) + 1 !== segment.index ||
            (last?.to_seq ?? 0) + 1 !== segment.fromSeq
          )
            return false;
          this.#prepared(
            "INSERT INTO segments (idx, from_seq, to_seq, root, checkpoint, sealed_at) VALUES (?, ?, ?, ?, ?, ?)",
          ).run(
            segment.index,
            segment.fromSeq,
            segment.toSeq,
            segment.root,
            segment.checkpoint,
            segment.sealedAt,
          );
          const tile = this.#prepared(
            "INSERT OR REPLACE INTO tiles (idx, hash) VALUES (?, ?)",
          );
          for (const t of tiles) tile.run(t.index, t.hash);
          this.#prepared(
            "INSERT INTO meta (key, value) VALUES ('frontier', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
          ).run(frontier);
          return true;
        })
        .immediate(),
    );
  }

  frontier(): Promise<string | null> {
    const row = this.#prepared(
      "SELECT value FROM meta WHERE key = 'frontier'",
    ).get() as { value: string } | undefined;
    return Promise.resolve(row?.value ?? null);
  }

  tiles(from: number, to: number): Promise<Map<number, Buffer>> {
    const rows = this.#prepared(
      "SELECT idx, hash FROM tiles WHERE idx BETWEEN ? AND ?",
    ).all(from, to) as { idx: number; hash: Buffer }[];
    return Promise.resolve(new Map(rows.map((r) => [r.idx, r.hash])));
  }

  markAnchored(
    indexes: readonly number[],
    anchor: { seq: number; sha256: string },
  ): Promise<void> {
    const update = this.#prepared(
      "UPDATE segments SET anchor_seq = ?, anchor_sha256 = ? WHERE idx = ? AND anchor_seq IS NULL",
    );
    this.#db
      .transaction(() => {
        for (const i of indexes) update.run(anchor.seq, anchor.sha256, i);
      })
      .immediate();
    return Promise.resolve();
  }

  declareSource(source: TrailSourceKind, instance: string, attested: boolean, silentAfterMs: number, nowMs: number): Promise<void> {
    this.#prepared(
      `INSERT INTO configured_sources (source, instance, attested, configured_ms, silent_after_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (source, instance) DO UPDATE SET attested = excluded.attested, silent_after_ms = excluded.silent_after_ms`,
    ).run(source, instance, attested ? 1 : 0, nowMs, silentAfterMs);
    return Promise.resolve();
  }

  declareSilenceLimit(silentAfterMs: number): Promise<void> {
    this.#prepared("INSERT INTO meta (key, value) VALUES ('silent_after_ms', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(silentAfterMs));
    return Promise.resolve();
  }

  sourceStatus(): Promise<SourceStatusRow[]> {
    const rows = this.#prepared(SOURCE_STATUS_SQL).all() as SourceStatusSql[];
    return Promise.resolve(rows.map(sourceStatusRow));
  }

  recordGap(gap: SourceGap): Promise<void> {
    this.#prepared(
      "INSERT INTO source_gaps (source, instance, kind, detected_ms, detail) VALUES (?, ?, ?, ?, ?)",
    ).run(gap.source, gap.instance, gap.kind, gap.detectedMs, gap.detail);
    return Promise.resolve();
  }

  gaps(
    options: { unreported?: boolean } = {},
  ): Promise<(SourceGap & { id: number; reportedSeq: number | null })[]> {
    const rows = this.#prepared(
      `SELECT * FROM source_gaps${options.unreported === true ? " WHERE reported_seq IS NULL" : ""} ORDER BY id`,
    ).all() as {
      id: number;
      source: TrailSourceKind;
      instance: string;
      kind: "gap" | "silent";
      detected_ms: number;
      detail: string;
      reported_seq: number | null;
    }[];
    return Promise.resolve(
      rows.map((r) => ({
        id: r.id,
        source: r.source,
        instance: r.instance,
        kind: r.kind,
        detectedMs: r.detected_ms,
        detail: r.detail,
        reportedSeq: r.reported_seq,
      })),
    );
  }

  markGapsReported(ids: readonly number[], seq: number): Promise<void> {
    const update = this.#prepared(
      "UPDATE source_gaps SET reported_seq = ? WHERE id = ?",
    );
    this.#db
      .transaction(() => {
        for (const id of ids) update.run(seq, id);
      })
      .immediate();
    return Promise.resolve();
  }

  select(
    sql: string,
    params: readonly Cell[] = [],
  ): Promise<Record<string, unknown>[]> {
    return Promise.resolve(
      this.#prepared(sql).all(...params) as Record<string, unknown>[],
    );
  }

  nameId(kind: NameKind, value: string): Promise<number | undefined> {
    if (kind === "class") {
      const row = this.#prepared("SELECT value FROM meta WHERE key = ?").get(
        `class:${value}`,
      ) as { value: string } | undefined;
      return Promise.resolve(
        row === undefined ? undefined : Number(row.value) + 1,
      );
    }
    const row = this.#prepared(
      "SELECT id FROM names WHERE kind = ? AND value = ?",
    ).get(kind, value) as { id: number } | undefined;
    return Promise.resolve(row?.id);
  }

  namesOf(kind: NameKind, ids: Iterable<number>): Promise<Map<number, string>> {
    const names = new Map<number, string>();
    const wanted = [...new Set(ids)];
    if (wanted.length === 0) return Promise.resolve(names);
    // One statement whatever the count: the ids travel as one JSON array, not as bound variables
    // (SQLite caps those), and each is looked up through the primary key.
    const rows = this.#prepared(
      "SELECT id, value FROM names WHERE kind = ? AND id IN (SELECT value FROM json_each(?))",
    ).all(kind, JSON.stringify(wanted)) as { id: number; value: string }[];
    for (const r of rows) names.set(r.id, r.value);
    return Promise.resolve(names);
  }

  async close(): Promise<void> {
    await this.#order;
    await this.#writer?.close();
    if (this.#db.open) this.#db.close();
  }
}

interface TokenRow {
  id: string;
  secret_hash: Buffer;
  kind: "agent" | "source";
  agent: string | null;
  source: TrailSourceKind;
  instance: string;
  attested: number;
  note: string;
  created_ms: number;
  revoked_ms: number | null;
}

function tokenOf(r: TokenRow): IngestToken {
  return {
    id: r.id,
    kind: r.kind,
    agent: r.agent,
    source: r.source,
    instance: r.instance,
    attested: r.attested === 1,
    createdAt: new Date(r.created_ms).toISOString(),
    revokedAt:
      r.revoked_ms === null ? null : new Date(r.revoked_ms).toISOString(),
    note: r.note,
  };
}

interface SegmentRow {
  idx: number;
  from_seq: number;
  to_seq: number;
  root: string;
  checkpoint: string;
  sealed_at: string;
  anchor_seq: number | null;
  anchor_sha256: string | null;
}

function segmentOf(r: SegmentRow): Segment {
  return {
    index: r.idx,
    fromSeq: r.from_seq,
    toSeq: r.to_seq,
    root: r.root,
    checkpoint: r.checkpoint,
    sealedAt: r.sealed_at,
    anchor:
      r.anchor_seq === null || r.anchor_sha256 === null
        ? null
        : { seq: r.anchor_seq, sha256: r.anchor_sha256 },
  };
}
