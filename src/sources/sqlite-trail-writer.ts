import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { isCharterError } from "../errors.js";
import { insertChunks, insertRows, readTip, statementCache, TrailNames } from "./sqlite-trail-rows.js";
import type { WriteReply, WriteRequest, WriterSetup } from "./sqlite-trail-writer-thread.js";

/**
 * The SQLite trail's writer thread: it commits batches the store's thread has already decided,
 * chained and compressed, so that the next batch is prepared while this one is written and made
 * durable (the two halves of ingest take about as long each). Its connection is its own, with
 * the same durability as the store's (synchronous=FULL under WAL): a batch is reported stored
 * only once its commit is on disk.
 *
 * A batch comes with the tip it was chained on. If the trail's tip is another one (another
 * process appended, or an earlier batch was refused) or one of its events is already in the
 * trail, nothing of it is written and it is reported as a conflict: the store then appends it on
 * its own connection, the way that leaves duplicates out.
 */
const port = parentPort;
if (port === null) throw new Error("sqlite-trail-writer runs as a worker thread");
const setup = workerData as WriterSetup;
const db = new Database(setup.path);
db.pragma(`synchronous = ${setup.durable ? "FULL" : "OFF"}`);
// The CLI may read or append from another process meanwhile.
db.pragma("busy_timeout = 10000");
db.pragma(`cache_size = ${String(-setup.cacheKiB)}`);
const prepared = statementCache(db);
const names = new TrailNames(prepared);
/** Thrown inside the transaction to roll it back: an event of the batch is in the trail already. */
class Duplicate extends Error {}

const write = db.transaction((request: WriteRequest): "stored" | "conflict" => {
  const tip = readTip(prepared);
  if (tip.seq !== request.tip.seq || tip.hash !== request.tip.hash) return "conflict";
  if (insertRows(prepared, names, tip.seq, request.rows, "refuse") === false) throw new Duplicate();
  insertChunks(prepared, request.chunks, request.positions, request.nowMs);
  return "stored";
});

port.on("message", (request: WriteRequest | "close") => {
  if (request === "close") {
    db.close();
    port.close();
    return;
  }
  let reply: WriteReply;
  try {
    reply = { outcome: write.immediate(request) };
  } catch (error) {
    // Names created in the rolled-back transaction do not exist.
    names.forget();
    if (error instanceof Duplicate) reply = { outcome: "conflict" };
    else if (isCharterError(error)) reply = { outcome: "failed", code: error.code, message: error.message.replace(/^charter: /, ""), hint: error.hint ?? null };
    else reply = { outcome: "failed", code: "IO", message: `cannot write to the trail store ${setup.path}: ${error instanceof Error ? error.message : String(error)}`, hint: null };
  }
  port.postMessage(reply);
});
