import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { isCharterError } from "../errors.js";
import { hashRecord } from "../trail/chain.js";
import { chunksOf, insertChunks, insertRows, readTip, statementCache, TrailNames } from "./sqlite-trail-rows.js";
import type { WriteReply, WriteRequest, WriterSetup } from "./sqlite-trail-writer-thread.js";

/**
 * The SQLite trail's writer thread: it hashes, compresses and commits batches the store's
 * thread has already decided and laid out, so that the next batch is prepared while this one is written and made
 * durable (the two halves of ingest take about as long each). Its connection is its own, with
 * the same durability as the store's (synchronous=FULL under WAL): a batch is reported stored
 * only once its commit is on disk.
 *
 * A batch comes with the seq it was laid out after. If the trail's tip is another one (another
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

const write = db.transaction((request: WriteRequest): Buffer | "conflict" => {
  const tip = readTip(prepared);
  // The batch's bytes hold its seqs, so it fits only right after the seq it was laid out on;
  // its hashes are chained here, on the tip the trail has.
  if (tip.seq !== request.tipSeq) return "conflict";
  if (insertRows(prepared, names, tip.seq, request.rows, "refuse") === false) throw new Duplicate();
  const hashes = hashRecord(tip.hash, request.lines, request.ends);
  insertChunks(prepared, chunksOf(tip.seq, { lines: request.lines, ends: request.ends, hashes }), request.positions, request.nowMs);
  return hashes;
});

port.on("message", (request: WriteRequest | "close") => {
  if (request === "close") {
    db.close();
    port.close();
    return;
  }
  let reply: WriteReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const written = write.immediate(request);
    if (written === "conflict") reply = { outcome: "conflict" };
    else {
      // Copied out of Node's shared pool (a small batch's hashes may sit in it) and moved.
      const hashes = new Uint8Array(written);
      transfer.push(hashes.buffer);
      reply = { outcome: "stored", hashes };
    }
  } catch (error) {
    // Names created in the rolled-back transaction do not exist.
    names.forget();
    if (error instanceof Duplicate) reply = { outcome: "conflict" };
    else if (isCharterError(error)) reply = { outcome: "failed", code: error.code, message: error.message.replace(/^charter: /, ""), hint: error.hint ?? null };
    else reply = { outcome: "failed", code: "IO", message: `cannot write to the trail store ${setup.path}: ${error instanceof Error ? error.message : String(error)}`, hint: null };
  }
  port.postMessage(reply, transfer);
});
