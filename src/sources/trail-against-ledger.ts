import type { LedgerSource } from "../audit/ledger-source.js";
import { type TrailVerifyReport, verifyTrail } from "../trail/verify-trail.js";
import { alertLogCollector, verifyAlertLog } from "./alert-log.js";
import type { AlertStore } from "./alert-store.js";
import { SqliteTrailStore } from "./sqlite-trail-store.js";
import { chunkLines } from "./trail-chunk.js";
import { readAnchors } from "./trail-sealer.js";
import type { TrailStore } from "./trail-store.js";

/**
 * The trail in a store against the anchors in a ledger (a clone's evidence branch, or the
 * branch read through GitHub's API by the app), then the alert store against the log of alerts
 * and evaluations that the chain just proved.
 */
export async function verifyTrailAgainst(store: TrailStore, o: { readonly source: LedgerSource; readonly alerts?: AlertStore; readonly verifierKeys: readonly string[]; readonly onEvent?: (seq: number, bytes: Buffer) => void }): Promise<TrailVerifyReport> {
  const origin = await store.origin();
  const anchors = await readAnchors(o.source, origin);
  const logged = alertLogCollector();
  const report = verifyTrail({
    origin,
    verifierKeys: o.verifierKeys,
    chunks: await chunksOf(store),
    segments: await store.segments(),
    anchored: anchors.segments,
    checkpoints: anchors.checkpoints,
    indexRows: Number((await store.select("SELECT count(*) AS n FROM events"))[0]?.["n"] ?? 0),
    onEvent: (seq, bytes) => {
      o.onEvent?.(seq, bytes);
      logged.onEvent(seq, bytes);
    },
  });
  // Without live detection there is no alert store to hold to the log.
  const alertProblems = o.alerts === undefined ? [] : await verifyAlertLog(logged.events, o.alerts);
  return { ...report, ok: report.ok && alertProblems.length === 0, problems: [...report.problems, ...alertProblems] };
}

async function chunksOf(store: TrailStore): Promise<Iterable<readonly [number, number, Buffer, Buffer]>> {
  if (store instanceof SqliteTrailStore) return store.iterateChunks();
  // PostgreSQL: read the chunks a page at a time.
  const pages: (readonly [number, number, Buffer, Buffer])[] = [];
  let cursor = 0;
  for (;;) {
    const rows = await store.select("SELECT first_seq, last_seq, lines, hashes FROM chunks WHERE first_seq > ? ORDER BY first_seq LIMIT 1000", [cursor]);
    if (rows.length === 0) return pages;
    for (const r of rows) pages.push([Number(r["first_seq"]), Number(r["last_seq"]), chunkLines(r["lines"] as Buffer) ?? Buffer.alloc(0), r["hashes"] as Buffer]);
    cursor = Number(rows.at(-1)?.["first_seq"] ?? cursor);
  }
}
