import type { LedgerSource } from "../audit/ledger-source.js";
import { checkAlertSummaries } from "../trail/alert-summary.js";
import { type TrailProblem, type TrailVerifyReport, verifyTrail } from "../trail/verify-trail.js";
import type { LedgerAnchors } from "../trail/ledger-anchors.js";
import { alertLogCollector, verifyAlertLog } from "./alert-log.js";
import type { AlertStore } from "./alert-store.js";
import { SqliteTrailStore } from "./sqlite-trail-store.js";
import { chunkLines } from "./trail-chunk.js";
import { readAnchors } from "./trail-sealer.js";
import type { TrailStore } from "./trail-store.js";

export interface TrailAgainstLedger {
  readonly source: LedgerSource;
  /**
   * Where the anchors come from when not from reading every record of `source`: the app's audit
   * index, which read each record once, so that a check costs the same however long the ledger.
   */
  readonly anchors?: (origin: string) => Promise<LedgerAnchors>;
  readonly alerts?: AlertStore;
  readonly verifierKeys: readonly string[];
  readonly onEvent?: (seq: number, bytes: Buffer) => void;
}

/**
 * The trail in a store against the anchors in a ledger (a clone's evidence branch, or the
 * branch read through GitHub's API by the app), then the alert store against the log of alerts
 * and evaluations that the chain just proved.
 */
export async function verifyTrailAgainst(store: TrailStore, o: TrailAgainstLedger): Promise<TrailVerifyReport> {
  const origin = await store.origin();
  const anchors = await (o.anchors ?? ((of: string) => readAnchors(o.source, of)))(origin);
  const logged = alertLogCollector();
  const report = await verifyTrail({
    origin,
    verifierKeys: o.verifierKeys,
    chunks: chunksOf(store),
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
  // Each anchor's alert summary against the log's records the chain just proved.
  const summaryProblems = checkAlertSummaries(anchors.alertSummaries, logged.events, report.events);
  const unreadable = anchors.unreadable.map((seq): TrailProblem => ({ code: "ledger-record-unreadable", message: `evidence record ${seq} is not canonical JSON, so a trail anchor it may hold cannot be checked: the evidence branch was edited (charter verify names the change)` }));
  const problems = [...unreadable, ...report.problems, ...alertProblems, ...summaryProblems];
  return { ...report, ok: report.ok && problems.length === 0, problems };
}

/** The stored chunks in seq order, read as verification goes: never the whole record at once. */
function chunksOf(store: TrailStore): Iterable<readonly [number, number, Buffer, Buffer]> | AsyncIterable<readonly [number, number, Buffer, Buffer]> {
  if (store instanceof SqliteTrailStore) return store.iterateChunks();
  return postgresChunks(store);
}

/** PostgreSQL: a page of chunks at a time, each decompressed only when verification reaches it. */
async function* postgresChunks(store: TrailStore): AsyncIterable<readonly [number, number, Buffer, Buffer]> {
  let cursor = 0;
  for (;;) {
    const rows = await store.select("SELECT first_seq, last_seq, lines, hashes FROM chunks WHERE first_seq > ? ORDER BY first_seq LIMIT 256", [cursor]);
    if (rows.length === 0) return;
    for (const r of rows) yield [Number(r["first_seq"]), Number(r["last_seq"]), chunkLines(r["lines"] as Buffer) ?? Buffer.alloc(0), r["hashes"] as Buffer];
    cursor = Number(rows.at(-1)?.["first_seq"] ?? cursor);
  }
}
