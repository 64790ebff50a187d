import { openSqliteTrail } from "../src/sources/sqlite-trail-store.js";
import { verifyTrail } from "../src/trail/verify-trail.js";

/**
 * trail/verify's measured work, in a process of its own (bench/trail.bench.ts starts it): the
 * peak resident memory the kernel records for this process is then verification's alone, not
 * that of the ingest and the baselines that ran before it. Prints one JSON line.
 */
const [path, rows] = process.argv.slice(2);
if (path === undefined || rows === undefined) throw new Error("usage: trail-verify-process.ts TRAIL_FILE INDEX_ROWS");
const store = openSqliteTrail(path);
const begin = process.hrtime.bigint();
const result = await verifyTrail({ origin: "bench", verifierKeys: [], chunks: store.iterateChunks(), segments: [], anchored: [], checkpoints: [], indexRows: Number(rows) });
const ms = Number(process.hrtime.bigint() - begin) / 1e6;
await store.close();
if (!result.ok) throw new Error(`verify found problems in an untouched trail: ${result.problems[0]?.message ?? ""}`);
process.stdout.write(`${JSON.stringify({ events: result.events, ms, peakRssKb: process.resourceUsage().maxRSS })}\n`);
