import type { TrailStore } from "./trail-store.js";

export interface SourceState {
  readonly source: string;
  readonly instance: string;
  readonly attested: boolean;
  readonly events: number;
  readonly lastEventAt: string | null;
  readonly lastReceivedAt: string | null;
  readonly position: string | null;
  readonly gaps: number;
  readonly lastGap: string | null;
  /** ok, silent (nothing received for longer than the threshold), or gapped. */
  readonly state: "ok" | "silent" | "gapped";
}

/**
 * Completeness per source and instance: a source that stopped sending, or whose log lost lines,
 * means the trail may be missing actions. Silence is judged on the time Charter last received
 * something from the source (a source's own clock could keep an old observed time).
 */
export async function statusRows(store: TrailStore, nowMs: number, silentAfterMs: number): Promise<SourceState[]> {
  const rows = await store.sourceStatus();
  return rows.map((r) => {
    const silent = r.lastReceivedMs === null || nowMs - r.lastReceivedMs > silentAfterMs;
    return {
      source: r.source,
      instance: r.instance,
      attested: r.attested,
      events: r.events,
      lastEventAt: r.lastEventMs === null ? null : new Date(r.lastEventMs).toISOString(),
      lastReceivedAt: r.lastReceivedMs === null ? null : new Date(r.lastReceivedMs).toISOString(),
      position: r.position,
      gaps: r.gaps,
      lastGap: r.lastGapDetail,
      state: r.gaps > 0 ? "gapped" : silent ? "silent" : "ok",
    };
  });
}
