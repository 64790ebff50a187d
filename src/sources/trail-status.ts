import { ALERT_LOG_SOURCE } from "./alert-log.js";
import type { TrailStore } from "./trail-store.js";

export interface SourceState {
  readonly source: string;
  readonly instance: string;
  readonly attested: boolean;
  readonly events: number;
  readonly lastEventAt: string | null;
  readonly lastReceivedAt: string | null;
  /** When the deployment configured it (a followed log, a live ingest token), when known. */
  readonly configuredAt: string | null;
  /** What silence is measured from: the last receipt, else the configuration; null when neither is known. */
  readonly quietSince: string | null;
  /** The silence limit applied to this source, in seconds. */
  readonly silentAfterSeconds: number;
  readonly position: string | null;
  readonly gaps: number;
  readonly lastGap: string | null;
  /**
   * ok; waiting (configured, nothing received yet, still within the limit); silent (nothing
   * received for longer than the limit, counting from the configuration when it never sent);
   * or gapped (its log lost lines).
   */
  readonly state: "ok" | "waiting" | "silent" | "gapped";
}

/**
 * Completeness per source and instance: a source that stopped sending, never started, or whose
 * log lost lines means the trail may be missing actions. Silence is judged on the time Charter
 * last received something from the source (a source's own clock could keep an old observed
 * time), against the limit the deployment configured for the source unless `override` is given.
 */
export async function statusRows(store: TrailStore, nowMs: number, defaultSilentAfterMs: number, override?: number): Promise<SourceState[]> {
  const rows = await store.sourceStatus();
  return rows.map((r) => {
    const limit = override ?? r.silentAfterMs ?? defaultSilentAfterMs;
    const quiet = r.lastReceivedMs ?? r.configuredMs;
    // The alert log is Charter's own record of alerts and their evaluations, not a source that
    // serves requests: a quiet week of no alerts is good news, not a silent source.
    const silent = r.source !== ALERT_LOG_SOURCE && (quiet === null || nowMs - quiet > limit);
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    return {
      source: r.source,
      instance: r.instance,
      attested: r.attested,
      events: r.events,
      lastEventAt: iso(r.lastEventMs),
      lastReceivedAt: iso(r.lastReceivedMs),
      configuredAt: iso(r.configuredMs),
      quietSince: iso(quiet),
      silentAfterSeconds: limit / 1000,
      position: r.position,
      gaps: r.gaps,
      lastGap: r.lastGapDetail,
      state: r.gaps > 0 ? "gapped" : silent ? "silent" : r.lastReceivedMs === null ? "waiting" : "ok",
    };
  });
}
