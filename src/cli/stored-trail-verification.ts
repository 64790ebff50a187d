import { gitLedgerSource } from "../audit/git-ledger-source.js";
import { alertLogCollector, verifyAlertLog } from "../sources/alert-log.js";
import { openAlertStore } from "../sources/open-alert-store.js";
import { SqliteTrailStore } from "../sources/sqlite-trail-store.js";
import { chunkLines } from "../sources/trail-chunk.js";
import { readAnchors } from "../sources/trail-sealer.js";
import type { TrailStore } from "../sources/trail-store.js";
import { checkAlertSummaries } from "../trail/alert-summary.js";
import { type TrailVerifyReport, verifyTrail } from "../trail/verify-trail.js";

export interface StoredTrailVerification {
  /** The clone whose evidence branch holds the trail-anchor records, and that branch. */
  readonly root: string;
  readonly ref: string;
  readonly verifierKeys: readonly string[];
  /** Where the alert store beside the trail is found, as for every command that opens it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly db: string | undefined;
  /** Sees every verified event's bytes as the chain is checked (the deep check reads them too). */
  readonly onEvent?: (seq: number, bytes: Buffer) => void;
}

/**
 * The trail in a store against the anchors on the evidence branch, then the alert store beside
 * it against the log of alerts and evaluations that the chain just proved: what `charter trail
 * verify` reports and what `charter readiness` judges the trail's integrity by.
 */
export async function verifyStoredTrail(store: TrailStore, o: StoredTrailVerification): Promise<TrailVerifyReport> {
  const origin = await store.origin();
  const source = await gitLedgerSource(o.root, o.ref);
  let anchors;
  try {
    anchors = await readAnchors(source, origin);
  } finally {
    await source.close();
  }
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
  const alerts = await openAlertStore(o.env, o.cwd, o.db);
  let alertProblems;
  try {
    alertProblems = await verifyAlertLog(logged.events, alerts);
  } finally {
    await alerts.close();
  }
  // Each anchor's alert summary against the log's records the chain just proved.
  const summaryProblems = checkAlertSummaries(anchors.alertSummaries, logged.events, report.events);
  const problems = [...report.problems, ...alertProblems, ...summaryProblems];
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
