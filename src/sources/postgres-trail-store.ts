/* eslint-disable @typescript-eslint/no-unnecessary-type-conversion -- BIGINT columns arrive as text unless the client's type parser (set in openPostgresTrail) converts them; every read still goes through Number() so that no row is ever handled as a string if that setting changes. */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { CharterError } from "../errors.js";
import type { BindingKind, PrincipalBinding } from "../trail/attribute.js";
import { chainEvents } from "../trail/chain.js";
import type { DecidedEvent } from "../trail/decide.js";
import { GENESIS_HASH } from "../trail/event-bytes.js";
import type { TrailSourceKind } from "../trail/event.js";
import { SOURCE_STATUS_SQL, type SourceStatusSql, sourceStatusRow } from "./source-status-sql.js";
import { packChunk, splitChunk } from "./trail-chunk.js";
import {
  type AppendResult,
  type Cell,
  type ChainRow,
  eventBits,
  DAILY_BACKFILL_SQL,
  type IngestToken,
  MAX_DATA_CLASSES,
  type NameKind,
  type NewIngestToken,
  resourceKey,
  RollupCounts,
  type Segment,
  type SourceGap,
  type SourcePosition,
  type SourceStatusRow,
  triState,
  type TrailStore,
} from "./trail-store.js";

/**
 * The trail in a PostgreSQL schema, for several ingest replicas writing one trail (as the job
 * queue and the audit index share DATABASE_URL). The chain is one total order: every append
 * holds a transaction-scoped advisory lock named after the schema while it reads the tip, chains
 * and inserts, so replicas take turns per batch (group commit keeps the turns few). The tables
 * and their meaning are the SQLite store's; see sqlite-trail-store.ts.
 */
const CHUNK_EVENTS = 256;

function schemaSql(): string[] {
  return [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS names (id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL, UNIQUE (kind, value))",
    `CREATE TABLE IF NOT EXISTS events (seq BIGINT PRIMARY KEY, observed_ms BIGINT NOT NULL, id BYTEA NOT NULL, agent BIGINT, source BIGINT NOT NULL,
      action BIGINT NOT NULL, resource BIGINT, principal BIGINT NOT NULL, classes BIGINT NOT NULL, bits INTEGER NOT NULL, manifest_seq BIGINT, trace BYTEA)`,
    "CREATE UNIQUE INDEX IF NOT EXISTS events_time ON events (observed_ms, id)",
    "CREATE INDEX IF NOT EXISTS events_agent ON events (agent, observed_ms)",
    "CREATE INDEX IF NOT EXISTS events_trace ON events (trace) WHERE trace IS NOT NULL",
    // Events no agent owns, by source: the alert log's records each anchor summarises, and unattributed identities.
    "CREATE INDEX IF NOT EXISTS events_unowned ON events (source, seq) WHERE agent IS NULL",
    "CREATE TABLE IF NOT EXISTS chunks (first_seq BIGINT PRIMARY KEY, last_seq BIGINT NOT NULL, lines BYTEA NOT NULL, hashes BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS hourly (class INTEGER NOT NULL, within INTEGER NOT NULL, hour BIGINT NOT NULL, agent BIGINT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (class, within, hour, agent))",
    "CREATE TABLE IF NOT EXISTS daily (class INTEGER NOT NULL, within INTEGER NOT NULL, day BIGINT NOT NULL, agent BIGINT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (class, within, day, agent))",
    // Each batch adds to counters already stored: with half of each page left free, the new
    // version of a row fits beside the old one and is updated in place (HOT), with no index entry
    // and no bloat for the seed query to read through. Set here rather than at CREATE, so that
    // trails created before it get it too (for the pages written from now on).
    "ALTER TABLE hourly SET (fillfactor = 50)",
    "ALTER TABLE daily SET (fillfactor = 50)",
    "CREATE TABLE IF NOT EXISTS positions (source TEXT NOT NULL, instance TEXT NOT NULL, position TEXT NOT NULL, updated_ms BIGINT NOT NULL, PRIMARY KEY (source, instance))",
    `CREATE TABLE IF NOT EXISTS source_status (source TEXT NOT NULL, instance TEXT NOT NULL, attested INTEGER NOT NULL, last_event_ms BIGINT,
      last_received_ms BIGINT, events BIGINT NOT NULL, PRIMARY KEY (source, instance))`,
    `CREATE TABLE IF NOT EXISTS configured_sources (source TEXT NOT NULL, instance TEXT NOT NULL, attested INTEGER NOT NULL, configured_ms BIGINT NOT NULL,
      silent_after_ms BIGINT NOT NULL, PRIMARY KEY (source, instance))`,
    `CREATE TABLE IF NOT EXISTS source_gaps (id BIGSERIAL PRIMARY KEY, source TEXT NOT NULL, instance TEXT NOT NULL, kind TEXT NOT NULL,
      detected_ms BIGINT NOT NULL, detail TEXT NOT NULL, reported_seq BIGINT)`,
    `CREATE TABLE IF NOT EXISTS ingest_tokens (id TEXT PRIMARY KEY, secret_hash BYTEA NOT NULL, kind TEXT NOT NULL, agent TEXT, source TEXT NOT NULL,
      instance TEXT NOT NULL, attested INTEGER NOT NULL, note TEXT NOT NULL, created_ms BIGINT NOT NULL, revoked_ms BIGINT)`,
    `CREATE TABLE IF NOT EXISTS principals (principal TEXT NOT NULL, instance TEXT NOT NULL, agent TEXT NOT NULL, kind TEXT NOT NULL,
      from_ms BIGINT NOT NULL, until_ms BIGINT, PRIMARY KEY (principal, instance, from_ms))`,
    `CREATE TABLE IF NOT EXISTS segments (idx BIGINT PRIMARY KEY, from_seq BIGINT NOT NULL, to_seq BIGINT NOT NULL, root TEXT NOT NULL,
      checkpoint TEXT NOT NULL, sealed_at TEXT NOT NULL, anchor_seq BIGINT, anchor_sha256 TEXT)`,
    "CREATE TABLE IF NOT EXISTS tiles (idx BIGINT PRIMARY KEY, hash BYTEA NOT NULL)",
  ];
}

export async function openPostgresTrail(connectionString: string, schema: string, options: { readonly origin?: string } = {}): Promise<TrailStore> {
  const client = new pg.Client({ connectionString });
  // Large counts and seqs come back as text otherwise.
  client.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
  try {
    await client.connect();
  } catch (cause) {
    throw new CharterError("IO", `cannot connect to the trail database: ${(cause as Error).message}`, { cause, hint: "Check DATABASE_URL, or unset it to use the embedded SQLite trail." });
  }
  client.on("error", () => undefined);
  const quoted = client.escapeIdentifier(schema);
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`charter-trail:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await client.query(`SET search_path TO ${quoted}`);
    for (const sql of schemaSql()) await client.query(sql);
    // Trails created before the daily rollup get it filled from their hourly one, once, under the schema lock.
    if ((await client.query("SELECT 1 FROM meta WHERE key = 'rollup:daily'")).rowCount === 0) {
      await client.query(DAILY_BACKFILL_SQL);
      await client.query("INSERT INTO meta (key, value) VALUES ('rollup:daily', '1')");
    }
    await client.query("INSERT INTO meta (key, value) VALUES ('origin', $1) ON CONFLICT (key) DO NOTHING", [options.origin ?? `charter-trail/${randomUUID()}`]);
    await client.query("COMMIT");
  } catch (cause) {
    await client.query("ROLLBACK").catch(() => undefined);
    await client.end();
    throw new CharterError("IO", `cannot prepare the trail schema ${schema}: ${(cause as Error).message}`, { cause });
  }
  const origin = (await client.query<{ value: string }>("SELECT value FROM meta WHERE key = 'origin'")).rows[0]?.value ?? "";
  return new PostgresTrailStore(client, schema, origin);
}

class PostgresTrailStore implements TrailStore {
  readonly dialect = "postgres" as const;
  readonly location: string;
  readonly #client: pg.Client;
  readonly #schema: string;
  readonly #origin: string;
  readonly #names = new Map<string, number>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(client: pg.Client, schema: string, origin: string) {
    this.#client = client;
    this.#schema = schema;
    this.#origin = origin;
    this.location = `PostgreSQL schema ${schema}`;
  }

  /** One client: its queries run one at a time anyway; transactions must not interleave. */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #tx<T>(work: () => Promise<T>): Promise<T> {
    return this.#serial(async () => {
      await this.#client.query("BEGIN");
      try {
        await this.#client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`charter-trail:${this.#schema}`]);
        const result = await work();
        await this.#client.query("COMMIT");
        return result;
      } catch (error) {
        await this.#client.query("ROLLBACK").catch(() => undefined);
        this.#names.clear();
        throw error;
      }
    });
  }

  #q<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    return this.#client.query<R>(sql, params).then((r) => r.rows);
  }

  origin(): Promise<string> {
    return Promise.resolve(this.#origin);
  }

  async #name(kind: NameKind, value: string): Promise<number> {
    const key = `${kind}\n${value}`;
    const cached = this.#names.get(key);
    if (cached !== undefined) return cached;
    await this.#q("INSERT INTO names (kind, value) VALUES ($1, $2) ON CONFLICT (kind, value) DO NOTHING", [kind, value]);
    const id = Number((await this.#q<{ id: number }>("SELECT id FROM names WHERE kind = $1 AND value = $2", [kind, value]))[0]?.id);
    this.#names.set(key, id);
    return id;
  }

  async #classIndex(name: string): Promise<number> {
    const key = `class-bit\n${name}`;
    const cached = this.#names.get(key);
    if (cached !== undefined) return cached;
    const row = (await this.#q<{ value: string }>("SELECT value FROM meta WHERE key = $1", [`class:${name}`]))[0];
    let index: number;
    if (row !== undefined) index = Number(row.value);
    else {
      index = Number((await this.#q<{ n: number }>("SELECT count(*) AS n FROM meta WHERE key LIKE 'class:%'"))[0]?.n ?? 0);
      if (index >= MAX_DATA_CLASSES) throw new CharterError("LIMIT_EXCEEDED", `the trail tells apart at most ${MAX_DATA_CLASSES} data classes`, { hint: "Use fewer, broader data classes in the resource catalog." });
      await this.#q("INSERT INTO meta (key, value) VALUES ($1, $2)", [`class:${name}`, String(index)]);
    }
    this.#names.set(key, index);
    return index;
  }

  append(events: readonly DecidedEvent[], positions: readonly SourcePosition[] = []): Promise<AppendResult> {
    return this.#tx(async () => {
      const seen = new Set<string>();
      const candidates: DecidedEvent[] = [];
      for (const e of events) {
        const key = `${e.observedAt}\n${e.id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        candidates.push(e);
      }
      const existing = new Set<string>();
      if (candidates.length > 0) {
        const rows = await this.#q<{ observed_ms: number; id: Buffer }>(
          "SELECT e.observed_ms, e.id FROM events e JOIN unnest($1::bigint[], $2::bytea[]) AS k(t, i) ON e.observed_ms = k.t AND e.id = k.i",
          [candidates.map((e) => Date.parse(e.observedAt)), candidates.map((e) => Buffer.from(e.id, "hex"))],
        );
        for (const r of rows) existing.add(`${new Date(Number(r.observed_ms)).toISOString()}\n${r.id.toString("hex")}`);
      }
      const fresh = candidates.filter((e) => !existing.has(`${new Date(Date.parse(e.observedAt)).toISOString()}\n${e.id}`));
      const tip = await this.#tipNow();
      const chained = chainEvents(tip, fresh);
      const cols: unknown[][] = Array.from({ length: 12 }, () => []);
      const rollups = new RollupCounts();
      const status = new Map<string, { source: string; instance: string; attested: boolean; last: number; received: number; n: number }>();
      for (const e of chained.events) {
        const observedMs = Date.parse(e.observedAt);
        const receivedMs = Date.parse(e.receivedAt);
        const agent = e.agent === null ? null : await this.#name("agent", e.agent);
        const resource = resourceKey(e);
        let classes = 0n;
        const classIds: number[] = [0];
        for (const c of e.dataClasses) {
          const index = await this.#classIndex(c);
          classes |= 1n << BigInt(index);
          classIds.push(index + 1);
        }
        const row = [
          e.seq,
          observedMs,
          Buffer.from(e.id, "hex"),
          agent,
          await this.#name("source", `${e.source}/${e.sourceInstance}`),
          await this.#name("action", e.action),
          resource === null ? null : await this.#name("resource", resource),
          await this.#name("principal", e.principal),
          classes.toString(),
          eventBits(e),
          e.manifestSeq,
          e.traceId === null ? null : Buffer.from(e.traceId, "hex"),
        ];
        row.forEach((v, i) => (cols[i] as unknown[]).push(v));
        rollups.add(classIds, triState(e.withinHours), observedMs, agent);
        const sk = `${e.source}\n${e.sourceInstance}`;
        const s = status.get(sk);
        if (s === undefined) status.set(sk, { source: e.source, instance: e.sourceInstance, attested: e.attested, last: observedMs, received: receivedMs, n: 1 });
        else {
          s.last = Math.max(s.last, observedMs);
          s.received = Math.max(s.received, receivedMs);
          s.n++;
        }
      }
      if (chained.events.length > 0) {
        await this.#q(
          `INSERT INTO events (seq, observed_ms, id, agent, source, action, resource, principal, classes, bits, manifest_seq, trace)
           SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::int[], $11::bigint[], $12::bytea[])`,
          cols,
        );
        for (let i = 0; i < chained.events.length; i += CHUNK_EVENTS) {
          const j = Math.min(chained.events.length, i + CHUNK_EVENTS);
          await this.#q("INSERT INTO chunks (first_seq, last_seq, lines, hashes) VALUES ($1, $2, $3, $4)", [
            tip.seq + i + 1,
            tip.seq + j,
            packChunk(chained.lines.subarray(i === 0 ? 0 : chained.ends[i - 1], chained.ends[j - 1])),
            chained.hashes.subarray(32 * i, 32 * j),
          ]);
        }
        for (const [table, unit] of [["hourly", "hour"], ["daily", "day"]] as const) {
          const rows = rollups.rows(unit);
          await this.#q(
            `INSERT INTO ${table} (class, within, ${unit}, agent, n) SELECT * FROM unnest($1::int[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[])
             ON CONFLICT (class, within, ${unit}, agent) DO UPDATE SET n = ${table}.n + excluded.n`,
            [0, 1, 2, 3, 4].map((i) => rows.map((r) => r[i])),
          );
        }
        for (const s of status.values()) {
          await this.#q(
            `INSERT INTO source_status (source, instance, attested, last_event_ms, last_received_ms, events) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (source, instance) DO UPDATE SET last_event_ms = greatest(source_status.last_event_ms, excluded.last_event_ms),
               last_received_ms = greatest(source_status.last_received_ms, excluded.last_received_ms), events = source_status.events + excluded.events, attested = excluded.attested`,
            [s.source, s.instance, s.attested ? 1 : 0, s.last, s.received, s.n],
          );
        }
      }
      for (const p of positions) {
        await this.#q("INSERT INTO positions (source, instance, position, updated_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (source, instance) DO UPDATE SET position = excluded.position, updated_ms = excluded.updated_ms", [
          p.source,
          p.instance,
          p.position,
          Date.now(),
        ]);
      }
      return { stored: chained.events, duplicates: events.length - fresh.length };
    });
  }

  async #tipNow(): Promise<{ seq: number; hash: string }> {
    const row = (await this.#q<{ last_seq: number; hashes: Buffer }>("SELECT last_seq, hashes FROM chunks ORDER BY first_seq DESC LIMIT 1"))[0];
    return row === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: Number(row.last_seq), hash: row.hashes.subarray(row.hashes.length - 32).toString("hex") };
  }

  tip(): Promise<{ seq: number; hash: string }> {
    return this.#serial(() => this.#tipNow());
  }

  position(source: TrailSourceKind, instance: string): Promise<string | null> {
    return this.#serial(async () => (await this.#q<{ position: string }>("SELECT position FROM positions WHERE source = $1 AND instance = $2", [source, instance]))[0]?.position ?? null);
  }

  createToken(t: NewIngestToken): Promise<void> {
    return this.#serial(async () => {
      await this.#q("INSERT INTO ingest_tokens (id, secret_hash, kind, agent, source, instance, attested, note, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", [
        t.id,
        t.secretHash,
        t.kind,
        t.agent,
        t.source,
        t.instance,
        t.attested ? 1 : 0,
        t.note,
        t.createdMs,
      ]);
    });
  }

  findToken(id: string, secretHash: Buffer): Promise<IngestToken | null> {
    return this.#serial(async () => {
      const row = (await this.#q<TokenRow>("SELECT * FROM ingest_tokens WHERE id = $1", [id]))[0];
      return row === undefined || !row.secret_hash.equals(secretHash) ? null : tokenOf(row);
    });
  }

  revokeToken(id: string, nowMs: number): Promise<boolean> {
    return this.#serial(async () => ((await this.#client.query("UPDATE ingest_tokens SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL", [nowMs, id])).rowCount ?? 0) === 1);
  }

  listTokens(): Promise<IngestToken[]> {
    return this.#serial(async () => (await this.#q<TokenRow>("SELECT * FROM ingest_tokens ORDER BY created_ms, id")).map(tokenOf));
  }

  addBindings(bindings: readonly PrincipalBinding[]): Promise<void> {
    return this.#serial(async () => {
      for (const b of bindings) {
        await this.#q(
          "INSERT INTO principals (principal, instance, agent, kind, from_ms, until_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (principal, instance, from_ms) DO UPDATE SET until_ms = excluded.until_ms",
          [b.principal, b.instance ?? "", b.agent, b.kind, b.fromMs, b.untilMs],
        );
      }
    });
  }

  bindings(): Promise<PrincipalBinding[]> {
    return this.#serial(async () =>
      (await this.#q<{ principal: string; instance: string; agent: string; kind: BindingKind; from_ms: number; until_ms: number | null }>("SELECT * FROM principals ORDER BY principal, from_ms")).map((r) => ({
        principal: r.principal,
        instance: r.instance === "" ? null : r.instance,
        agent: r.agent,
        kind: r.kind,
        fromMs: Number(r.from_ms),
        untilMs: r.until_ms === null ? null : Number(r.until_ms),
      })),
    );
  }

  readChain(from: number, count: number): Promise<ChainRow[]> {
    return this.#serial(async () => {
      const out: ChainRow[] = [];
      let cursor = Number((await this.#q<{ s: number | null }>("SELECT max(first_seq) AS s FROM chunks WHERE first_seq <= $1", [from]))[0]?.s ?? 1);
      while (out.length < count) {
        const rows = await this.#q<{ first_seq: number; lines: Buffer; hashes: Buffer }>("SELECT first_seq, lines, hashes FROM chunks WHERE first_seq >= $1 ORDER BY first_seq LIMIT 64", [cursor]);
        if (rows.length === 0) break;
        for (const r of rows) for (const link of splitChunk(Number(r.first_seq), r.lines, r.hashes, from)) if (out.length < count) out.push(link);
        cursor = Number(rows.at(-1)?.first_seq ?? cursor) + 1;
      }
      return out;
    });
  }

  leafHashes(from: number, to: number): Promise<Buffer[]> {
    return this.#serial(async () => {
      const rows = await this.#q<{ first_seq: number; last_seq: number; hashes: Buffer }>("SELECT first_seq, last_seq, hashes FROM chunks WHERE last_seq >= $1 AND first_seq <= $2 ORDER BY first_seq", [from, to]);
      const out: Buffer[] = [];
      for (const r of rows) {
        const first = Number(r.first_seq);
        for (let seq = Math.max(from, first); seq <= Math.min(to, Number(r.last_seq)); seq++) out.push(r.hashes.subarray((seq - first) * 32, (seq - first + 1) * 32));
      }
      return out;
    });
  }

  segments(): Promise<Segment[]> {
    return this.#serial(async () => (await this.#q<SegmentRow>("SELECT * FROM segments ORDER BY idx")).map(segmentOf));
  }

  addSegment(segment: Omit<Segment, "anchor">, tiles: readonly { index: number; hash: Buffer }[], frontier: string): Promise<boolean> {
    return this.#tx(async () => {
      const last = (await this.#q<{ idx: number; to_seq: number }>("SELECT idx, to_seq FROM segments ORDER BY idx DESC LIMIT 1"))[0];
      if (Number(last?.idx ?? -1) + 1 !== segment.index || Number(last?.to_seq ?? 0) + 1 !== segment.fromSeq) return false;
      await this.#q("INSERT INTO segments (idx, from_seq, to_seq, root, checkpoint, sealed_at) VALUES ($1, $2, $3, $4, $5, $6)", [segment.index, segment.fromSeq, segment.toSeq, segment.root, segment.checkpoint, segment.sealedAt]);
      for (const t of tiles) await this.#q("INSERT INTO tiles (idx, hash) VALUES ($1, $2) ON CONFLICT (idx) DO UPDATE SET hash = excluded.hash", [t.index, t.hash]);
      await this.#q("INSERT INTO meta (key, value) VALUES ('frontier', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [frontier]);
      return true;
    });
  }

  frontier(): Promise<string | null> {
    return this.#serial(async () => (await this.#q<{ value: string }>("SELECT value FROM meta WHERE key = 'frontier'"))[0]?.value ?? null);
  }

  tiles(from: number, to: number): Promise<Map<number, Buffer>> {
    return this.#serial(async () => new Map((await this.#q<{ idx: number; hash: Buffer }>("SELECT idx, hash FROM tiles WHERE idx BETWEEN $1 AND $2", [from, to])).map((r) => [Number(r.idx), r.hash])));
  }

  markAnchored(indexes: readonly number[], anchor: { seq: number; sha256: string }): Promise<void> {
    return this.#serial(async () => {
      await this.#q("UPDATE segments SET anchor_seq = $1, anchor_sha256 = $2 WHERE idx = ANY($3::bigint[]) AND anchor_seq IS NULL", [anchor.seq, anchor.sha256, [...indexes]]);
    });
  }

  declareSource(source: TrailSourceKind, instance: string, attested: boolean, silentAfterMs: number, nowMs: number): Promise<void> {
    return this.#serial(async () => {
      await this.#q(
        `INSERT INTO configured_sources (source, instance, attested, configured_ms, silent_after_ms) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (source, instance) DO UPDATE SET attested = excluded.attested, silent_after_ms = excluded.silent_after_ms`,
        [source, instance, attested ? 1 : 0, nowMs, silentAfterMs],
      );
    });
  }

  declareSilenceLimit(silentAfterMs: number): Promise<void> {
    return this.#serial(async () => {
      await this.#q("INSERT INTO meta (key, value) VALUES ('silent_after_ms', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [String(silentAfterMs)]);
    });
  }

  sourceStatus(): Promise<SourceStatusRow[]> {
    return this.#serial(async () => (await this.#q<SourceStatusSql>(SOURCE_STATUS_SQL)).map(sourceStatusRow));
  }

  recordGap(gap: SourceGap): Promise<void> {
    return this.#serial(async () => {
      await this.#q("INSERT INTO source_gaps (source, instance, kind, detected_ms, detail) VALUES ($1, $2, $3, $4, $5)", [gap.source, gap.instance, gap.kind, gap.detectedMs, gap.detail]);
    });
  }

  gaps(options: { unreported?: boolean } = {}): Promise<(SourceGap & { id: number; reportedSeq: number | null })[]> {
    return this.#serial(async () =>
      (await this.#q<{ id: number; source: TrailSourceKind; instance: string; kind: "gap" | "silent"; detected_ms: number; detail: string; reported_seq: number | null }>(
        `SELECT * FROM source_gaps${options.unreported === true ? " WHERE reported_seq IS NULL" : ""} ORDER BY id`,
      )).map((r) => ({ id: Number(r.id), source: r.source, instance: r.instance, kind: r.kind, detectedMs: Number(r.detected_ms), detail: r.detail, reportedSeq: r.reported_seq === null ? null : Number(r.reported_seq) })),
    );
  }

  markGapsReported(ids: readonly number[], seq: number): Promise<void> {
    return this.#serial(async () => {
      await this.#q("UPDATE source_gaps SET reported_seq = $1 WHERE id = ANY($2::bigint[])", [seq, [...ids]]);
    });
  }

  select(sql: string, params: readonly Cell[] = []): Promise<Record<string, unknown>[]> {
    let n = 0;
    const numbered = sql.replace(/\?/g, () => `$${String(++n)}`);
    return this.#serial(() => this.#q(numbered, params.map((p) => (typeof p === "bigint" ? p.toString() : p))));
  }

  nameId(kind: NameKind, value: string): Promise<number | undefined> {
    return this.#serial(async () => {
      if (kind === "class") {
        const row = (await this.#q<{ value: string }>("SELECT value FROM meta WHERE key = $1", [`class:${value}`]))[0];
        return row === undefined ? undefined : Number(row.value) + 1;
      }
      const row = (await this.#q<{ id: number }>("SELECT id FROM names WHERE kind = $1 AND value = $2", [kind, value]))[0];
      return row === undefined ? undefined : Number(row.id);
    });
  }

  namesOf(kind: NameKind, ids: Iterable<number>): Promise<Map<number, string>> {
    const wanted = [...new Set(ids)];
    return this.#serial(async () => {
      const names = new Map<number, string>();
      if (wanted.length === 0) return names;
      // One round trip whatever the count: the ids travel as one array parameter.
      for (const r of await this.#q<{ id: string; value: string }>("SELECT id, value FROM names WHERE kind = $1 AND id = ANY($2::bigint[])", [kind, wanted.map(String)])) names.set(Number(r.id), r.value);
      return names;
    });
  }

  close(): Promise<void> {
    return this.#serial(() => this.#client.end());
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
    attested: Number(r.attested) === 1,
    createdAt: new Date(Number(r.created_ms)).toISOString(),
    revokedAt: r.revoked_ms === null ? null : new Date(Number(r.revoked_ms)).toISOString(),
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
    index: Number(r.idx),
    fromSeq: Number(r.from_seq),
    toSeq: Number(r.to_seq),
    root: r.root,
    checkpoint: r.checkpoint,
    sealedAt: r.sealed_at,
    anchor: r.anchor_seq === null || r.anchor_sha256 === null ? null : { seq: Number(r.anchor_seq), sha256: r.anchor_sha256 },
  };
}
