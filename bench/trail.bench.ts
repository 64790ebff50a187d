import { spawnSync } from "node:child_process";
import { hash } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PrincipalBook } from "../src/trail/attribute.js";
import type { IngestContext } from "../src/trail/decide.js";
import type { SourceEvent } from "../src/trail/event.js";
import { LocalClock } from "../src/trail/local-time.js";
import { ManifestTimeline } from "../src/trail/manifest-timeline.js";
import { parsePermission, type Permission } from "../src/manifest/permission.js";
import { parseResourceCatalog } from "../src/trail/resource-catalog.js";
import { openSqliteTrail, type SqliteTrailStore } from "../src/sources/sqlite-trail-store.js";
import { TrailIngestor } from "../src/sources/trail-ingestor.js";
import { offHoursOrAll } from "../src/sources/trail-queries.js";
import type { TrailStore } from "../src/sources/trail-store.js";
import { busiestThreadMs, median, report, round, threadCpuMs, time } from "./measure.js";

const EVENTS = Number(process.env["CHARTER_BENCH_TRAIL_EVENTS"] ?? 20_000_000);
const POSTGRES_EVENTS = Number(process.env["CHARTER_BENCH_TRAIL_POSTGRES_EVENTS"] ?? Math.min(EVENTS, 2_000_000));
const AGENTS = 60;
const BATCH = 5_000;
const DAY_MS = 86_400_000;
const END = Date.parse("2026-12-01T00:00:00Z");
const START = END - 365 * DAY_MS;
const ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "America/Los_Angeles"];
const TABLES = ["customers", "orders", "invoices", "payments", "tickets", "events", "sessions", "products"];

/**
 * The action trail at the scale (default 20 million events, 60 agents, 12 months):
 *
 *  trail/ingest       the whole ingest path (attribution, enrichment, chaining, durable SQLite
 *                     commits) against SHA-256 of the same event bytes alone; events/s, bytes
 *                     stored per event, peak memory
 *  trail/seed-query   "customer data accessed outside allowed hours, last 12 months: how many,
 *                     by which agents", against a scan of the same stored events; ≥ 3 samples
 *  trail/verify       charter trail verify's work over every event against SHA-256 of the same bytes,
 *                     in a process of its own (bench/trail-verify-process.ts) whose peak memory
 *                     is reported
 *  trail/postgres     the seed query on the PostgreSQL store (CHARTER_BENCH_TRAIL_POSTGRES_EVENTS)
 *
 * Events are generated as pgaudit would report them: agents act mostly in their working hours,
 * some at night and on weekends; a few principals are nobody's.
 */
export async function run(): Promise<void> {
  const ctx = benchContext();
  // Two sizes, to show how each figure grows with the trail: a tenth of the full size, then the full size.
  for (const events of [Math.max(1_000, Math.round(EVENTS / 10)), EVENTS]) await sqliteFigures(ctx, events);
  if (process.env["CHARTER_BENCH_TRAIL_POSTGRES"] !== "0") await postgresFigure(ctx);
}

async function sqliteFigures(ctx: IngestContext, events: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "charter-trail-bench-"));
  try {
    const store = openSqliteTrail(join(dir, "trail.sqlite"));
    const ingest = await ingestAll(store, ctx, events);
    const bytes = fileBytes(join(dir, "trail.sqlite"));
    // One ingest per size (ingesting the trail again would measure another trail); the baseline three times.
    const sha = [shaBaseline(store), shaBaseline(store), shaBaseline(store)].map((b) => b.ms / b.events);
    report({
      bench: "trail/ingest",
      events,
      agents: AGENTS,
      events_per_s: Math.round(events / (ingest.ms / 1000)),
      ms: round(ingest.ms),
      samples: 1,
      source_events_per_s: Math.round(events / (ingest.sourceMs / 1000)),
      cpu_us_per_event: round((ingest.cpuMs * 1000) / events, 1),
      busiest_thread_cpu_us_per_event: ingest.busiestMs === null ? null : round((ingest.busiestMs * 1000) / events, 1),
      baseline: "SHA-256 of each event's stored bytes",
      baseline_events_per_s_min: Math.round(1000 / Math.max(...sha)),
      baseline_events_per_s_median: Math.round(1000 / median(sha)),
      baseline_samples: sha.length,
      ratio: round(ingest.ms / events / median(sha), 2),
      bytes_per_event: Math.round(bytes / events),
      store_bytes: bytes,
      peak_rss_mib: Math.round(ingest.peakRss / 1024 / 1024),
    });

    const since = END - 365 * DAY_MS;
    const query = async (): Promise<number> => (await offHoursOrAll(store, { dataClass: "customer-pii", outsideHours: true, since, until: END })).total;
    const samples: number[] = [];
    const scans: number[] = [];
    let answer = 0;
    let agentsHit = 0;
    for (let i = 0; i < 3; i++) {
      samples.push(await time(async () => (answer = await query())));
      const scan = await scanBaseline(store, since);
      if (scan.total !== answer) throw new Error(`the seed query answered ${answer}, the scan ${scan.total}`);
      scans.push(scan.ms);
      agentsHit = scan.agents;
    }
    report({
      bench: "trail/seed-query",
      events,
      hits: answer,
      agents_hit: agentsHit,
      min_ms: round(Math.min(...samples), 2),
      median_ms: round(median(samples), 2),
      samples: samples.length,
      baseline: "scan of the same stored events (SQLite, no index)",
      baseline_min_ms: round(Math.min(...scans)),
      baseline_median_ms: round(median(scans)),
      baseline_samples: scans.length,
      ratio: round(median(scans) / median(samples), 1),
    });

    const runs = [0, 1, 2].map(() => verifyAll(store, join(dir, "trail.sqlite"), events));
    const ms = runs.map((r) => r.ms);
    const shaMs = runs.map((r) => r.shaMs);
    report({
      bench: "trail/verify",
      events: runs[0]?.events,
      min_ms: round(Math.min(...ms)),
      median_ms: round(median(ms)),
      samples: ms.length,
      baseline: "SHA-256 of each event's stored bytes",
      baseline_min_ms: round(Math.min(...shaMs)),
      baseline_median_ms: round(median(shaMs)),
      baseline_samples: shaMs.length,
      ratio: round(median(ms) / median(shaMs), 2),
      peak_rss_mib: Math.round(Math.max(...runs.map((r) => r.peakRss)) / 1024 / 1024),
    });
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function permissions(raw: string[]): Permission[] {
  return raw.flatMap((r) => {
    const p = parsePermission(r);
    return p.ok ? [p.permission] : [];
  });
}

function benchContext(): IngestContext {
  const timeline = new ManifestTimeline();
  const principals = new PrincipalBook();
  for (let a = 0; a < AGENTS; a++) {
    const agent = `agent-${String(a).padStart(2, "0")}`;
    timeline.add({
      agent,
      seq: a + 1,
      recordHash: "0".repeat(64),
      commit: a.toString(16).padStart(40, "0"),
      effectiveMs: START - DAY_MS,
      pullRequest: a + 1,
      decision: "approved",
      approvers: ["owner"],
      status: "active",
      known: true,
      permissions: permissions(TABLES.slice(0, 3 + (a % 5)).map((t) => `postgres:select:crm.public.${t}@crm-prod`)),
      tools: [],
      dataClasses: ["customer-pii"],
      allowedHours: { timezone: ZONES[a % ZONES.length] ?? "UTC", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", end: "18:00" },
    });
    principals.add({ principal: `charter_agent_agent_${String(a).padStart(2, "0")}`, instance: null, agent, kind: "identity-role", fromMs: 0, untilMs: null });
  }
  const catalog = parseResourceCatalog(
    "catalog.yml",
    new TextEncoder().encode(`apiVersion: charter/v1\nkind: ResourceCatalog\nresources:\n  - match: postgres:crm.public.customers\n    dataClasses: [customer-pii]\n  - match: postgres:crm.public.payments\n    dataClasses: [payment-card, customer-pii]\n  - match: postgres:crm.public.*\n    dataClasses: [internal]\n`),
  );
  if (!catalog.ok) throw new Error("bench catalog");
  return { timeline, principals, catalog: catalog.catalog, clock: new LocalClock(), skewMs: 300_000 };
}

/** Event i of the synthetic trail, deterministic. */
function sourceEvent(i: number, total: number): SourceEvent {
  const a = (i * 7919) % AGENTS;
  // Mostly business hours in the agent's zone (approximated in UTC offsets), some at any hour.
  const base = START + Math.floor((i / total) * 365 * DAY_MS);
  const observed = i % 10 < 8 ? base - (base % DAY_MS) + (8 + (i % 10)) * 3_600_000 - (a % ZONES.length) * 3_600_000 : base;
  const unknown = i % 97 === 0;
  return {
    source: "pgaudit",
    sourceInstance: "crm-prod",
    attested: true,
    sourceKey: `bench:${String(i)}`,
    observedAt: new Date(observed).toISOString(),
    principal: unknown ? "dba_bob" : `charter_agent_agent_${String(a).padStart(2, "0")}`,
    claimedAgent: null,
    tokenAgent: null,
    action: i % 23 === 0 ? "update" : "select",
    system: "postgres",
    resource: `crm.public.${TABLES[i % TABLES.length] ?? ""}`,
    instance: "crm-prod",
    outcome: i % 41 === 0 ? "denied" : "allowed",
    errorCode: i % 41 === 0 ? "42501" : null,
    traceId: i % 50 === 0 ? hash("sha256", String(i), "hex").slice(0, 32) : null,
    spanId: null,
    tool: null,
    model: null,
    inputTokens: null,
    outputTokens: null,
    detail: { class: "read", command: "SELECT", statement: "1.1" },
  };
}

/**
 * Wall-clock time of the whole ingest, from the first submission to the last commit. It
 * includes making the synthetic source events on the same thread (their cost alone is reported
 * beside it as source_events_per_s): the store commits on a thread of its own while this one
 * works, so timing only the waits would credit ingest with the time spent making its input.
 */
async function ingestAll(store: TrailStore, ctx: IngestContext, total: number): Promise<{ ms: number; sourceMs: number; cpuMs: number; busiestMs: number | null; peakRss: number }> {
  const sourceStart = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < total; i++) sink += sourceEvent(i, total).sourceKey.length;
  const sourceMs = Number(process.hrtime.bigint() - sourceStart) / 1e6;
  if (sink === 0) throw new Error("no source events");
  const ingestor = new TrailIngestor(store, () => ctx, { maxQueued: BATCH * 4, batchSize: BATCH });
  let peakRss = process.memoryUsage().rss;
  const inflight: Promise<unknown>[] = [];
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const threads = threadCpuMs();
  for (let i = 0; i < total; i += BATCH) {
    const batch: SourceEvent[] = [];
    for (let j = i; j < Math.min(total, i + BATCH); j++) batch.push(sourceEvent(j, total));
    inflight.push(ingestor.submit(batch));
    if (inflight.length >= 3) await inflight.shift();
    if (i % (BATCH * 20) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  await Promise.all(inflight);
  await ingestor.close();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  // CPU time of every thread of the process: on a loaded machine it says more than the wall clock what the work costs.
  const used = process.cpuUsage(cpu);
  const busiestMs = busiestThreadMs(threads, threadCpuMs());
  return { ms, sourceMs, cpuMs: (used.user + used.system) / 1000, busiestMs, peakRss: Math.max(peakRss, process.memoryUsage().rss) };
}

/**
 * SHA-256 of each stored event's bytes, on a sample of up to a million events: the chunks are
 * decompressed as they are read and only the hashing is timed. Nothing is held from one chunk
 * to the next, so the baseline adds nothing to the process's memory.
 */
function shaBaseline(store: SqliteTrailStore): { events: number; ms: number } {
  let events = 0;
  let ns = 0n;
  for (const [, , chunk] of store.iterateChunks()) {
    // The chunk's lines are found before the clock starts: the baseline is the hashing alone.
    const lines: Buffer[] = [];
    let start = 0;
    while (start < chunk.length && events + lines.length < 1_000_000) {
      const end = chunk.indexOf(0x0a, start);
      lines.push(chunk.subarray(start, end));
      start = end + 1;
    }
    const begin = process.hrtime.bigint();
    for (const line of lines) hash("sha256", line, "buffer");
    ns += process.hrtime.bigint() - begin;
    events += lines.length;
    if (events >= 1_000_000) break;
  }
  return { events, ms: Number(ns) / 1e6 };
}

async function scanBaseline(store: SqliteTrailStore, since: number): Promise<{ ms: number; total: number; agents: number }> {
  const begin = process.hrtime.bigint();
  const rows = await store.select(
    "SELECT count(*) AS n, count(DISTINCT agent) AS a FROM events NOT INDEXED WHERE (classes & (SELECT 1 << CAST(value AS INTEGER) FROM meta WHERE key = 'class:customer-pii')) <> 0 AND ((bits >> 3) & 3) = 1 AND observed_ms >= ? AND observed_ms < ?",
    [since, END],
  );
  return { ms: Number(process.hrtime.bigint() - begin) / 1e6, total: Number(rows[0]?.["n"] ?? 0), agents: Number(rows[0]?.["a"] ?? 0) };
}

function verifyAll(store: SqliteTrailStore, path: string, indexRows: number): { events: number; ms: number; shaMs: number; peakRss: number } {
  // The baseline times the hashing alone: reading and decompressing the chunks is verify's cost, not the baseline's.
  let shaNs = 0n;
  for (const [, , lines] of store.iterateChunks()) {
    const begin = process.hrtime.bigint();
    let start = 0;
    while (start < lines.length) {
      const end = lines.indexOf(0x0a, start);
      hash("sha256", lines.subarray(start, end), "buffer");
      start = end + 1;
    }
    shaNs += process.hrtime.bigint() - begin;
  }
  const shaMs = Number(shaNs) / 1e6;
  // Verification runs in a process of its own, so that its peak memory is its own.
  const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(new URL("./trail-verify-process.ts", import.meta.url)), path, String(indexRows)], { encoding: "utf8", maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`trail verify process failed: ${child.stderr}`);
  const measured = JSON.parse(child.stdout) as { events: number; ms: number; peakRssKb: number };
  return { events: measured.events, ms: measured.ms, shaMs, peakRss: measured.peakRssKb * 1024 };
}

async function postgresFigure(ctx: IngestContext): Promise<void> {
  const { startPostgres } = await import("../test/helpers/postgres.js");
  const { openPostgresTrail } = await import("../src/sources/postgres-trail-store.js");
  const server = await startPostgres();
  try {
    const store = await openPostgresTrail(server.url, "charter_trail");
    const ingest = await ingestAll(store, ctx, POSTGRES_EVENTS);
    const since = END - 365 * DAY_MS;
    const samples: number[] = [];
    let hits = 0;
    const scans: number[] = [];
    for (let i = 0; i < 3; i++) {
      samples.push(await time(async () => (hits = (await offHoursOrAll(store, { dataClass: "customer-pii", outsideHours: true, since, until: END })).total)));
      let scanned = 0;
      scans.push(
        await time(async () => {
          // The same question without the rollups: every event's row in the window, no index.
          const rows = await store.select(
            "SELECT count(*) AS n FROM (SELECT * FROM events WHERE observed_ms + 0 >= ? AND observed_ms + 0 < ? AND (classes & (SELECT (1::bigint << value::int) FROM meta WHERE key = 'class:customer-pii')) <> 0 AND ((bits >> 3) & 3) = 1) AS hit",
            [since, END],
          );
          scanned = Number(rows[0]?.["n"] ?? 0);
        }),
      );
      if (scanned !== hits) throw new Error(`PostgreSQL's seed query answered ${hits}, the scan ${scanned}`);
    }
    report({
      bench: "trail/postgres",
      events: POSTGRES_EVENTS,
      events_per_s: Math.round(POSTGRES_EVENTS / (ingest.ms / 1000)),
      hits,
      min_ms: round(Math.min(...samples), 2),
      median_ms: round(median(samples), 2),
      samples: samples.length,
      baseline: "scan of the same stored events (PostgreSQL, no index)",
      baseline_min_ms: round(Math.min(...scans)),
      baseline_median_ms: round(median(scans)),
      baseline_samples: scans.length,
      ratio: round(median(scans) / median(samples), 1),
      peak_rss_mib: Math.round(ingest.peakRss / 1024 / 1024),
    });
    await store.close();
  } finally {
    server.stop();
  }
}

function fileBytes(path: string): number {
  let n = 0;
  for (const suffix of ["", "-wal"]) {
    try {
      n += statSync(path + suffix).size;
    } catch {
      // no WAL file
    }
  }
  return n;
}
