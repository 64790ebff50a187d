import type { AlertLogRecord } from "../trail/alert-summary.js";
import { eventFromBytes } from "../trail/event-bytes.js";
import { ALERT_LOG_SOURCE, ALERT_LOG_SOURCE_NAME } from "./alert-log.js";
import type { ChainRow, TrailStore } from "./trail-store.js";

/** Seqs looked up per query. */
const PAGE = 1000;
/** Links read at once: a stored chunk's worth. */
const WINDOW = 256;

/**
 * The alert log's records in the stored chain through seq `toSeq`, in seq order, for the
 * summary an anchor record carries. Found by the events' source column (they have no agent, so
 * the partial index of unowned events holds them), then read from the
 * chain's own bytes: the summary must be the one a verifier recomputes from those bytes.
 */
export async function alertLogRecords(store: TrailStore, toSeq: number): Promise<AlertLogRecord[]> {
  const source = await store.nameId("source", ALERT_LOG_SOURCE_NAME);
  if (source === undefined) return [];
  const records: AlertLogRecord[] = [];
  // The chain is stored in compressed chunks: the links read for one record are kept for the
  // records that follow it in the same stretch, instead of unpacking a chunk per record.
  let window = new Map<number, ChainRow>();
  for (let after = 0; ; ) {
    const rows = await store.select("SELECT seq FROM events WHERE agent IS NULL AND source = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?", [source, after, toSeq, PAGE]);
    for (const r of rows) {
      const seq = Number(r["seq"]);
      if (!window.has(seq)) window = new Map((await store.readChain(seq, WINDOW)).map((l) => [l.seq, l]));
      const link = window.get(seq);
      if (link === undefined) continue;
      const e = eventFromBytes(link.bytes, "");
      if (e.source === ALERT_LOG_SOURCE) records.push({ seq: e.seq, action: e.action, resource: e.resource, observedAt: e.observedAt, detail: e.detail });
    }
    if (rows.length < PAGE) return records;
    after = Number(rows.at(-1)?.["seq"] ?? toSeq);
  }
}
