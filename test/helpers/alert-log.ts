import { alertLogCollector } from "../../src/sources/alert-log.js";
import type { TrailStore } from "../../src/sources/trail-store.js";
import { eventId } from "../../src/trail/event-bytes.js";
import type { TrailEvent } from "../../src/trail/event.js";
import { series } from "../detect/trail-events.js";

/** The alert log's records, read from the stored chain as `charter trail verify` reads it. */
export async function loggedAlertRecords(trail: TrailStore): Promise<TrailEvent[]> {
  const collector = alertLogCollector();
  for (let from = 1; ; ) {
    const links = await trail.readChain(from, 1000);
    if (links.length === 0) return [...collector.events];
    for (const l of links) collector.onEvent(l.seq, l.bytes);
    from = (links.at(-1)?.seq ?? from) + 1;
  }
}

/**
 * `count` out-of-scope reads of support-triage on consecutive days from `start`: one alert each
 * from the out-of-scope rule. `tag` keeps their ids apart from other batches'.
 */
export function outOfScopeReads(count: number, start: number, tag: string): Parameters<TrailStore["append"]>[0] {
  return series(count, new Date(start).toISOString(), 86_400_000, () => ({ resource: "crm.public.payments", permission: "postgres:select:crm.public.payments@crm-prod", inScope: false })).map(({ seq: _seq, hash: _hash, ...rest }) => ({
    ...rest,
    id: eventId(rest.source, rest.sourceInstance, `${tag}-${rest.sourceKey}`),
    sourceKey: `${tag}-${rest.sourceKey}`,
  }));
}
