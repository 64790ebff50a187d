import type { PrincipalBinding } from "../trail/attribute.js";
import type { DecidedEvent } from "../trail/decide.js";
import type { TrailEvent, TrailSourceKind } from "../trail/event.js";

/**
 * Where the trail lives: an embedded SQLite file by default, PostgreSQL when several ingest
 * processes share one trail. Both keep the same facts; the pure core (src/trail) never sees
 * either.
 */

/** Where a source has read up to, saved in the same transaction as the events read before it. */
export interface SourcePosition {
  readonly source: TrailSourceKind;
  readonly instance: string;
  /** The source's own notion of a position (a log file's identity and byte offset), as JSON. */
  readonly position: string;
}

export interface AppendResult {
  /** The events stored, in seq order. */
  readonly stored: readonly TrailEvent[];
  /** Events already in the trail (same source, instance and source key), not stored again. */
  readonly duplicates: number;
}

export type IngestTokenKind = "agent" | "source";

export interface IngestToken {
  /** The public part of the token, shown in lists and logs. */
  readonly id: string;
  readonly kind: IngestTokenKind;
  /** For agent tokens: the agent the telemetry is recorded under. */
  readonly agent: string | null;
  /** The source kind and instance its events are recorded as. */
  readonly source: TrailSourceKind;
  readonly instance: string;
  /** Source tokens for infrastructure (a gateway, a proxy) are attested; agent tokens never. */
  readonly attested: boolean;
  readonly createdAt: string;
  readonly revokedAt: string | null;
  readonly note: string;
}

export interface NewIngestToken {
  readonly id: string;
  /** SHA-256 of the secret part; the secret itself is never stored. */
  readonly secretHash: Buffer;
  readonly kind: IngestTokenKind;
  readonly agent: string | null;
  readonly source: TrailSourceKind;
  readonly instance: string;
  readonly attested: boolean;
  readonly note: string;
  readonly createdMs: number;
}

/** A stored link of the chain, as verification reads it. */
export interface ChainRow {
  readonly seq: number;
  readonly hash: Buffer;
  readonly bytes: Buffer;
}

/** A sealed range of the trail: seqs from..to, with the signed checkpoint of the trail's tree at size `to`. */
export interface Segment {
  readonly index: number;
  readonly fromSeq: number;
  readonly toSeq: number;
  /** The Merkle root of the whole trail at size toSeq, lowercase hex. */
  readonly root: string;
  /** The signed C2SP checkpoint note. */
  readonly checkpoint: string;
  readonly sealedAt: string;
  /** The evidence record that anchors it, once anchored. */
  readonly anchor: { readonly seq: number; readonly sha256: string } | null;
}

export interface SourceStatusRow {
  readonly source: TrailSourceKind;
  readonly instance: string;
  readonly attested: boolean;
  readonly lastEventMs: number | null;
  readonly lastReceivedMs: number | null;
  readonly events: number;
  readonly position: string | null;
  readonly gaps: number;
  readonly lastGapDetail: string | null;
  /** When the deployment first configured the source (a followed log, a live ingest token); null when only its events tell of it. */
  readonly configuredMs: number | null;
  /** The silence limit the deployment configured for it (or for every source); null: the reader's default. */
  readonly silentAfterMs: number | null;
}

export interface SourceGap {
  readonly source: TrailSourceKind;
  readonly instance: string;
  readonly kind: "gap" | "silent";
  readonly detectedMs: number;
  readonly detail: string;
}

export type Cell = string | number | bigint | Buffer | null;

export interface TrailStore {
  readonly dialect: "sqlite" | "postgres";
  /** For messages: the file, or the PostgreSQL schema. */
  readonly location: string;
  /** The checkpoint origin of this trail (charter-trail/<id>), fixed when the trail is created. */
  origin(): Promise<string>;
  /**
   * Stores events after the tip, in the order given, in one durable transaction: each is
   * chained to the one before; an event whose (source, instance, source key) is stored already
   * is left out. Positions are saved in the same transaction, so a source restarting from its
   * saved position re-reads nothing that was stored and skips nothing that was not.
   */
  append(events: readonly DecidedEvent[], positions?: readonly SourcePosition[]): Promise<AppendResult>;
  /**
   * How many appends a caller may have outstanding at once, stored in the order they were
   * called (the SQLite store commits one while the next is prepared); absent: one at a time.
   */
  readonly appendsInFlight?: number;
  tip(): Promise<{ seq: number; hash: string }>;
  position(source: TrailSourceKind, instance: string): Promise<string | null>;

  createToken(token: NewIngestToken): Promise<void>;
  /** The token with this public id and secret hash, revoked or not; null when none matches. */
  findToken(id: string, secretHash: Buffer): Promise<IngestToken | null>;
  revokeToken(id: string, nowMs: number): Promise<boolean>;
  listTokens(): Promise<IngestToken[]>;

  addBindings(bindings: readonly PrincipalBinding[]): Promise<void>;
  bindings(): Promise<PrincipalBinding[]>;

  /** Stored links from seq `from` on, at most `count`, in seq order. */
  readChain(from: number, count: number): Promise<ChainRow[]>;
  /** Leaf hashes of seqs from..to inclusive. */
  leafHashes(from: number, to: number): Promise<Buffer[]>;
  segments(): Promise<Segment[]>;
  /** Stores a sealed segment; refused (false) when it does not start right after the last one. */
  addSegment(segment: Omit<Segment, "anchor">, tiles: readonly { index: number; hash: Buffer }[], frontier: string): Promise<boolean>;
  frontier(): Promise<string | null>;
  /** Roots of the 4096-leaf subtrees, by index, for inclusion proofs. */
  tiles(from: number, to: number): Promise<Map<number, Buffer>>;
  markAnchored(indexes: readonly number[], anchor: { seq: number; sha256: string }): Promise<void>;

  /**
   * Declares a source the deployment configures (a followed PostgreSQL log), so that one that
   * never sends anything still appears, silent since it was configured. The first
   * configuration time is kept; the silence limit is the latest.
   */
  declareSource(source: TrailSourceKind, instance: string, attested: boolean, silentAfterMs: number, nowMs: number): Promise<void>;
  /** The deployment's silence limit, for the sources it did not declare (those known from tokens or events). */
  declareSilenceLimit(silentAfterMs: number): Promise<void>;
  /** Every source that sent events, saved a position, was declared or has a live ingest token. */
  sourceStatus(): Promise<SourceStatusRow[]>;
  recordGap(gap: SourceGap): Promise<void>;
  gaps(options?: { unreported?: boolean }): Promise<(SourceGap & { id: number; reportedSeq: number | null })[]>;
  markGapsReported(ids: readonly number[], seq: number): Promise<void>;

  /** Read-only SQL for the audit queries, `?` placeholders. */
  select(sql: string, params?: readonly Cell[]): Promise<Record<string, unknown>[]>;
  /** Dictionary ids of names (agents, actions, resources, sources, data classes); undefined when never seen. */
  nameId(kind: NameKind, value: string): Promise<number | undefined>;
  /**
   * The names of many dictionary ids in one read (ids never issued are absent): a report names
   * every agent or principal it counts, and one round trip per name would cost PostgreSQL more
   * than the query that counted them.
   */
  namesOf(kind: NameKind, ids: Iterable<number>): Promise<Map<number, string>>;
  close(): Promise<void>;
}

export type NameKind = "agent" | "source" | "action" | "resource" | "class" | "principal";

/** Bit layout of events.bits: what every filter on the row reads without decoding the bytes. */
export const BITS = {
  attested: 1,
  outcomeShift: 1,
  withinShift: 3,
  scopeShift: 5,
  flagShift: 7,
} as const;

export const OUTCOME_CODE = { allowed: 0, denied: 1, error: 2 } as const;
const FLAG_BITS = { unattributed: 1, "agent-mismatch": 2, "clock-skew": 4, "resource-unmapped": 8 } as const;

/** null → 0, false → 1, true → 2: a tri-state in two bits. */
export function triState(value: boolean | null): number {
  return value === null ? 0 : value ? 2 : 1;
}

export function eventBits(e: Pick<TrailEvent, "attested" | "outcome" | "withinHours" | "inScope" | "flags">): number {
  let flags = 0;
  for (const f of e.flags) flags |= FLAG_BITS[f];
  return (
    (e.attested ? BITS.attested : 0) |
    (OUTCOME_CODE[e.outcome] << BITS.outcomeShift) |
    (triState(e.withinHours) << BITS.withinShift) |
    (triState(e.inScope) << BITS.scopeShift) |
    (flags << BITS.flagShift)
  );
}

/** The key the catalog and queries use for a resource: system:resource@instance. */
export function resourceKey(e: Pick<TrailEvent, "system" | "resource" | "instance">): string | null {
  if (e.system === null || e.resource === null) return null;
  return `${e.system}:${e.resource}${e.instance === null ? "" : `@${e.instance}`}`;
}

/** Data classes a trail can tell apart: one bit each in a 63-bit mask. */
export const MAX_DATA_CLASSES = 62;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/**
 * The rollups both stores keep beside the events, counted per batch in the batch's transaction:
 * (data class, within hours, hour or day, agent) → events. Class 0 counts every event, class
 * k + 1 the events of the data class with bit k; agent -1 is the unattributed. A year's
 * population question reads at most 365 daily rows per agent and class, whole hours at the
 * window's ends from the hourly rollup, and only the partial hours from the events.
 */
export class RollupCounts {
  // Keyed by agent, then by hour and within together in one number, with a count per class: no
  // key string is built per event, and the daily rollup is summed from the hourly one when the
  // rows are written (ingest counts tens of thousands of events a second).
  readonly #byAgent = new Map<number, Map<number, { agent: number; within: number; hour: number; counts: number[] }>>();

  add(classes: readonly number[], within: number, observedMs: number, agent: number | null): void {
    const hour = Math.floor(observedMs / HOUR_MS);
    const a = agent ?? -1;
    let groups = this.#byAgent.get(a);
    if (groups === undefined) this.#byAgent.set(a, (groups = new Map<number, { agent: number; within: number; hour: number; counts: number[] }>()));
    // within is 0, 1 or 2.
    const key = hour * 4 + within;
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = { agent: a, within, hour, counts: [] }));
    for (const cls of classes) group.counts[cls] = (group.counts[cls] ?? 0) + 1;
  }

  /** The rows of one rollup: class, within, hour or day, agent, count. */
  rows(unit: "hour" | "day"): [number, number, number, number, number][] {
    const out = new Map<string, [number, number, number, number, number]>();
    for (const g of [...this.#byAgent.values()].flatMap((groups) => [...groups.values()])) {
      const at = unit === "hour" ? g.hour : Math.floor(g.hour / 24);
      g.counts.forEach((n, cls) => {
        const key = `${String(cls)}|${String(g.within)}|${String(at)}|${String(g.agent)}`;
        const row = out.get(key);
        if (row === undefined) out.set(key, [cls, g.within, at, g.agent, n]);
        else row[4] += n;
      });
    }
    return [...out.values()];
  }
}

/** Fills the daily rollup from the hourly one, for trails created before it existed (both stores run it once, in their schema transaction). */
export const DAILY_BACKFILL_SQL = "INSERT INTO daily (class, within, day, agent, n) SELECT class, within, hour / 24, agent, sum(n) FROM hourly GROUP BY class, within, hour / 24, agent";
