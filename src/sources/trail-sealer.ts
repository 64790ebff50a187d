import { isCharterError } from "../errors.js";
import type { LedgerSource } from "../audit/ledger-source.js";
import { parseCanonical } from "../evidence/canonical-json.js";
import type { EvidenceRecord, TrailAnchorBody, TrailCount } from "../schema-types/evidence-record.generated.js";
import { summariseAlerts } from "../trail/alert-summary.js";
import { collectAnchors, type LedgerAnchors } from "../trail/ledger-anchors.js";
import { formatFrontier, parseFrontier, sealSegment, TILE_LEAVES } from "../trail/segments.js";
import { alertLogRecords } from "./alert-log-records.js";
import type { Segment, TrailStore } from "./trail-store.js";

/** Events per segment at most: large enough that anchors stay few, small enough that a seal takes a second. */
const DEFAULT_SEGMENT_EVENTS = 1 << 20;

/**
 * Seals every stored event not yet in a segment, in segments of at most maxEvents, each with
 * the signed checkpoint of the trail's tree at its end. Replicas sharing a store may race: the
 * store accepts a segment only right after the last one, so the loser stops and nothing is
 * sealed twice.
 */
export async function sealPending(store: TrailStore, signerKey: string, options: { readonly maxEvents?: number; readonly now?: () => Date } = {}): Promise<Segment[]> {
  const maxEvents = options.maxEvents ?? DEFAULT_SEGMENT_EVENTS;
  const origin = await store.origin();
  const sealed: Segment[] = [];
  for (;;) {
    const segments = await store.segments();
    const last = segments.at(-1);
    const from = (last?.toSeq ?? 0) + 1;
    const tip = await store.tip();
    if (tip.seq < from) return sealed;
    const frontier = parseFrontier(await store.frontier());
    if (frontier.size !== from - 1) return sealed;
    const to = Math.min(tip.seq, from + maxEvents - 1);
    const tileStart = Math.floor((from - 1) / TILE_LEAVES) * TILE_LEAVES + 1;
    const pending = tileStart < from ? await store.leafHashes(tileStart, from - 1) : [];
    const segment = sealSegment({
      origin,
      index: (last?.index ?? -1) + 1,
      frontier,
      leaves: await store.leafHashes(from, to),
      signerKey,
      sealedAt: (options.now?.() ?? new Date()).toISOString(),
      pendingTileLeaves: pending,
    });
    const stored = { index: segment.index, fromSeq: segment.fromSeq, toSeq: segment.toSeq, root: segment.root, checkpoint: segment.checkpoint, sealedAt: segment.sealedAt };
    if (!(await store.addSegment(stored, segment.tiles, formatFrontier(segment.frontier)))) return sealed;
    sealed.push({ ...stored, anchor: null });
  }
}

/** At most this many segments per anchor record: the record stays small; the rest go in the next. */
const MAX_SEGMENTS_PER_ANCHOR = 1000;

/** The body of the next anchor record: the sealed segments not yet anchored, oldest first, and the checkpoint at the last. */
export async function anchorBody(store: TrailStore): Promise<{ body: TrailAnchorBody; segments: number[] } | null> {
  const pending = (await store.segments()).filter((s) => s.anchor === null).slice(0, MAX_SEGMENTS_PER_ANCHOR);
  const last = pending.at(-1);
  if (last === undefined) return null;
  const coverage = (await store.sourceStatus()).map((s) => ({ source: s.source, instance: s.instance, attested: s.attested, events: s.events, lastEventAt: s.lastEventMs === null ? null : new Date(s.lastEventMs).toISOString() }));
  return {
    body: {
      origin: await store.origin(),
      segments: pending.map((s) => ({ index: s.index, fromSeq: s.fromSeq, toSeq: s.toSeq, root: s.root })),
      checkpoint: last.checkpoint,
      coverage,
      counts: await countsIn(store, pending[0]?.fromSeq ?? last.fromSeq, last.toSeq),
      alerts: summariseAlerts(await alertLogRecords(store, last.toSeq), pending[0]?.fromSeq ?? last.fromSeq, last.toSeq),
    },
    segments: pending.map((s) => s.index),
  };
}

/**
 * Events per agent (null: unattributed) and data class (null: all classes) between two seqs, for
 * the evidence branch's trail page. Grouped by the rows' class bit sets, which are few, and split
 * into classes here; the bit positions are the store's (meta `class:<name>`).
 */
async function countsIn(store: TrailStore, fromSeq: number, toSeq: number): Promise<TrailCount[]> {
  const bits = new Map<number, string>();
  for (const r of await store.select("SELECT key, value FROM meta WHERE key LIKE 'class:%'")) bits.set(Number(r["value"]), String(r["key"]).slice("class:".length));
  const rows = await store.select(
    "SELECT coalesce(agent, -1) AS agent, CAST(classes AS TEXT) AS classes, count(*) AS n FROM events WHERE seq >= ? AND seq <= ? GROUP BY coalesce(agent, -1), classes",
    [fromSeq, toSeq],
  );
  const counts = new Map<string, TrailCount>();
  const add = (agent: string | null, dataClass: string | null, n: number): void => {
    const key = JSON.stringify([agent, dataClass]);
    counts.set(key, { agent, dataClass, events: (counts.get(key)?.events ?? 0) + n });
  };
  const names = await store.namesOf("agent", rows.map((r) => Number(r["agent"])).filter((id) => id !== -1));
  for (const r of rows) {
    const id = Number(r["agent"]);
    const agent = id === -1 ? null : (names.get(id) ?? `#${String(id)}`);
    const n = Number(r["n"]);
    add(agent, null, n);
    const set = BigInt(String(r["classes"]));
    for (const [bit, name] of bits) if ((set >> BigInt(bit)) & 1n) add(agent, name, n);
  }
  const key = (c: TrailCount): string => `${c.agent === null ? "0" : `1${c.agent}`}\0${c.dataClass === null ? "0" : `1${c.dataClass}`}`;
  return [...counts.values()].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * The trail's anchors on an evidence branch, by reading every record: every segment anchored for
 * `origin`, and each anchor's checkpoint. What a clone offers; the app reads them from its audit
 * index instead (audit/indexed-anchors.ts), which read each record once.
 */
export async function readAnchors(source: LedgerSource, origin: string): Promise<LedgerAnchors> {
  const entries: { seq: number; body: TrailAnchorBody }[] = [];
  const unreadable: number[] = [];
  const size = await source.size();
  for (let from = 0; from < size; from += 1000) {
    for (const [i, bytes] of (await source.read(from, Math.min(1000, size - from))).entries()) {
      let record: EvidenceRecord;
      try {
        record = parseCanonical(bytes) as EvidenceRecord;
      } catch (error) {
        if (!isCharterError(error)) throw error;
        unreadable.push(from + i);
        continue;
      }
      if (record.kind === "trail-anchor" && record.body.origin === origin) entries.push({ seq: record.seq, body: record.body });
    }
  }
  return collectAnchors(entries, unreadable);
}
