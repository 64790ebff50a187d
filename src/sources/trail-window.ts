import { eventFromBytes } from "../trail/event-bytes.js";
import type { TrailEvent } from "../trail/event.js";
import { countActions } from "./trail-queries.js";
import type { TrailStore } from "./trail-store.js";

/** Links read from the store per page. */
const PAGE = 1000;

export interface TrailWindow {
  /** The events observed in the window, in seq order: the latest `cap` of them when there are more. */
  readonly events: readonly TrailEvent[];
  /** How many events the trail holds for the window. */
  readonly total: number;
  /** True when `total` is above the cap and only the latest events were read. */
  readonly capped: boolean;
}

/**
 * The events observed in [sinceMs, untilMs), for a backtest, bounded: at most `cap` events are
 * decoded, the latest by seq, so that a busy trail costs the reader a known amount of memory and
 * time. The count comes from the rollups; the seqs from the events table; the events themselves
 * from their stored (chained) bytes, as verification reads them.
 */
export async function readTrailWindow(store: TrailStore, window: { readonly sinceMs: number; readonly untilMs: number; readonly cap: number }): Promise<TrailWindow> {
  const { sinceMs, untilMs, cap } = window;
  const total = await countActions(store, { since: sinceMs, until: untilMs });
  if (total === 0 || cap <= 0) return { events: [], total, capped: total > 0 };
  const rows = await store.select("SELECT seq FROM events WHERE observed_ms >= ? AND observed_ms < ? ORDER BY seq DESC LIMIT ?", [sinceMs, untilMs, cap]);
  const wanted = new Set(rows.map((r) => Number(r["seq"])));
  // Newest first: the last row is the lowest seq.
  const last = Number(rows[0]?.["seq"] ?? 0);
  const first = Number(rows.at(-1)?.["seq"] ?? 0);
  if (wanted.size === 0) return { events: [], total, capped: total > 0 };
  const events: TrailEvent[] = [];
  for (let from = first; from <= last; ) {
    const links = await store.readChain(from, Math.min(PAGE, last - from + 1));
    if (links.length === 0) break;
    for (const link of links) if (wanted.has(link.seq)) events.push(eventFromBytes(link.bytes, link.hash.toString("hex")));
    from = (links.at(-1)?.seq ?? last) + 1;
  }
  return { events, total: Math.max(total, events.length), capped: total > events.length };
}
