import type { TrailSourceKind } from "../trail/event.js";
import type { SourceStatusRow } from "./trail-store.js";

/**
 * Status per source and instance, over every place a source is known from: its events, its
 * saved position, its declaration by the deployment, and its live ingest tokens (a gateway given
 * a token is expected to send).
 */
export const SOURCE_STATUS_SQL = `
  WITH tokens AS (SELECT source, instance, max(attested) AS attested, min(created_ms) AS created_ms FROM ingest_tokens WHERE revoked_ms IS NULL GROUP BY source, instance),
       k AS (SELECT source, instance FROM source_status UNION SELECT source, instance FROM positions
             UNION SELECT source, instance FROM configured_sources UNION SELECT source, instance FROM tokens)
  SELECT k.source, k.instance, coalesce(s.attested, c.attested, t.attested, 1) AS attested, s.last_event_ms, s.last_received_ms,
         coalesce(s.events, 0) AS events, p.position,
         (SELECT count(*) FROM source_gaps g WHERE g.source = k.source AND g.instance = k.instance) AS gaps,
         (SELECT g.detail FROM source_gaps g WHERE g.source = k.source AND g.instance = k.instance ORDER BY g.id DESC LIMIT 1) AS last_gap,
         coalesce(c.configured_ms, t.created_ms) AS configured_ms,
         coalesce(c.silent_after_ms, (SELECT CAST(m.value AS BIGINT) FROM meta m WHERE m.key = 'silent_after_ms')) AS silent_after_ms
    FROM k
    LEFT JOIN source_status s ON s.source = k.source AND s.instance = k.instance
    LEFT JOIN positions p ON p.source = k.source AND p.instance = k.instance
    LEFT JOIN configured_sources c ON c.source = k.source AND c.instance = k.instance
    LEFT JOIN tokens t ON t.source = k.source AND t.instance = k.instance
   ORDER BY k.source, k.instance`;

export interface SourceStatusSql {
  source: TrailSourceKind;
  instance: string;
  attested: number | string;
  last_event_ms: number | string | null;
  last_received_ms: number | string | null;
  events: number | string;
  position: string | null;
  gaps: number | string;
  last_gap: string | null;
  configured_ms: number | string | null;
  silent_after_ms: number | string | null;
}

/** Both stores' drivers return counts and BIGINTs in their own types. */
export function sourceStatusRow(r: SourceStatusSql): SourceStatusRow {
  const n = (v: number | string | null): number | null => (v === null ? null : Number(v));
  return {
    source: r.source,
    instance: r.instance,
    attested: Number(r.attested) === 1,
    lastEventMs: n(r.last_event_ms),
    lastReceivedMs: n(r.last_received_ms),
    events: Number(r.events),
    position: r.position,
    gaps: Number(r.gaps),
    lastGapDetail: r.last_gap,
    configuredMs: n(r.configured_ms),
    silentAfterMs: n(r.silent_after_ms),
  };
}
