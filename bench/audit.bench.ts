import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLedgerSource } from "../src/audit/ledger-source.js";
import { type ManifestFacts, manifestFacts } from "../src/audit/manifest-facts.js";
import { encodeCursor, type Page, type PageRequest, type SortKey } from "../src/audit/page-cursor.js";
import {
  agentAt,
  countAgents,
  countAgentsAt,
  countChanges,
  countExceptions,
  currentAgents,
  pageAgents,
  pageAgentsAt,
  pageChanges,
  pageExceptions,
  queryChanges,
  queryExceptions,
} from "../src/audit/queries.js";
import { pageChangeLines } from "../src/audit/change-lines.js";
import type { LedgerFooter, RenderedFormat } from "../src/audit/report-format.js";
import { accessReviewAtReport, accessReviewReport, changesReport, exceptionsReport } from "../src/audit/reports.js";
import { openSqliteIndex } from "../src/audit/sqlite-index.js";
import { type Answer, writeAnswer } from "../src/audit/write-answer.js";
import { updateIndex } from "../src/audit/update-index.js";
import type { EvidenceRecord } from "../src/schema-types/evidence-record.generated.js";
import { median, report, round, time } from "./measure.js";
import { syntheticLedger } from "./audit-ledger.js";

const RECORDS = Number(process.env["CHARTER_BENCH_AUDIT_RECORDS"] ?? 1_000_000);
const AGENTS = Number(process.env["CHARTER_BENCH_AUDIT_AGENTS"] ?? Math.max(20, Math.round(RECORDS / 500)));
const QUERY_ROUNDS = 15;
/** The rows `charter audit` shows by default in a table, with the population's count. */
const PAGE = 100;
/** Scans per query, each followed by a share of the query rounds: at least three samples a side. */
const SCAN_ROUNDS = 3;
const DAY_MS = 86_400_000;

/**
 * The audit index over a synthetic ledger (default 1,000,000 records, 2,000 agents, five
 * years): how long the SQLite index takes to build (and, before it, a fifth of the ledger in
 * an index of its own, so the rate is seen at two sizes), then each audit query against the same
 * answer computed by a linear scan of the stored records (decode and JSON.parse each, as
 * charter evidence export does), in the same run. The scan is given every manifest copy already
 * parsed, so it pays only for reading the records. Each query's answer is checked against its
 * scan's before anything is reported. Generating the ledger is not measured.
 *
 * A query that can answer with many rows is timed three ways: the first page with the
 * population's count (what `charter audit` shows by default, and the figure `ratio` is of), a
 * page from the middle of the answer (reached by its cursor), and the whole answer as
 * `--all --format csv` writes it (and `--format json`), through the command's own writer.
 */
export async function run(): Promise<void> {
  const ledger = syntheticLedger(RECORDS, AGENTS);
  const bytes = ledger.records.reduce((sum, r) => sum + r.length, 0);
  const dir = mkdtempSync(join(tmpdir(), "charter-audit-bench-"));
  // The build rate at a fifth of the ledger first, in an index of its own: a rate that holds
  // as the ledger grows is the same at both sizes.
  const part = Math.max(2, Math.floor(RECORDS / 5));
  const small = openSqliteIndex(join(dir, "part.sqlite"));
  try {
    const built = await sample(() => updateIndex(small, memoryLedgerSource(ledger.records.slice(0, part), ledger.objects)));
    report({ bench: "audit/build", records: part, agents: AGENTS, ...buildFigures(part, built), index_bytes: indexBytes(dir, "part.sqlite"), loadavg: loadAverage() });
  } finally {
    await small.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(join(dir, `part.sqlite${suffix}`), { force: true });
  }
  const store = openSqliteIndex(join(dir, "audit.sqlite"));
  try {
    const built = await sample(() => updateIndex(store, memoryLedgerSource(ledger.records, ledger.objects)));
    report({
      bench: "audit/build",
      records: RECORDS,
      agents: AGENTS,
      bytes,
      distinct_manifests: ledger.objects.size,
      ...buildFigures(RECORDS, built),
      index_bytes: indexBytes(dir, "audit.sqlite"),
      loadavg: loadAverage(),
    });

    const facts = new Map<string, ManifestFacts | null>([...ledger.objects].map(([sha, b]) => [sha, manifestFacts(b)]));
    const decoder = new TextDecoder();
    const scan = (visit: (record: EvidenceRecord) => void): void => {
      for (const r of ledger.records) visit(JSON.parse(decoder.decode(r)) as EvidenceRecord);
    };
    const lastYear = ledger.end - 365 * DAY_MS;
    const dataClass = "payment-card";
    const reviewer = ledger.reviewers[7] ?? "";
    const agent = ledger.agents[Math.floor(ledger.agents.length / 3)] ?? "";
    const at = ledger.start + Math.floor((ledger.end - ledger.start) * 0.6);

    const now = ledger.end;
    const changePages = (filter: Parameters<typeof pageChanges>[1]): Paging =>
      paging((page) => pageChanges(store, filter, page), () => countChanges(store, filter), (c) => c.seq, (c) => [c.mergedMs, c.seq], {
        read: (page) => pageChanges(store, filter, page),
        count: () => countChanges(store, filter),
        report: (rows) => changesReport(rows, now, 7),
        rendered: (page, format) => pageChangeLines(store, filter, page, format, now, 7),
      });
    const agentLine = (a: { agent: string; lastChangeSeq: number | null; lastProvisioningSeq: number | null; driftSeq: number | null; permissions: readonly string[] }): string =>
      `${a.agent}:${a.lastChangeSeq ?? -1}:${a.lastProvisioningSeq ?? -1}:${a.driftSeq !== null}:${a.permissions.length}`;
    await measure(
      "changes-window-data-class",
      `changes merged in the last 12 months to agents holding ${dataClass}`,
      async () => (await queryChanges(store, { since: lastYear, until: ledger.end, dataClass })).map((c) => c.seq),
      changePages({ since: lastYear, until: ledger.end, dataClass }),
      () => {
        const out: number[] = [];
        const known = new Map<string, readonly string[]>();
        scan((r) => {
          if (r.kind !== "change") return;
          const merged = Date.parse(r.body.mergedAt);
          for (const a of r.body.changes.agents) {
            const sha = r.body.files.hashes[`agents/${a}/agent.yaml`];
            const classes = sha === undefined ? undefined : facts.get(sha)?.dataClasses;
            const touched = [...(known.get(a) ?? []), ...(classes ?? [])];
            if (classes !== undefined) known.set(a, classes);
            if (merged >= lastYear && merged < ledger.end && touched.includes(dataClass) && out.at(-1) !== r.seq) out.push(r.seq);
          }
        });
        return out;
      },
    );
    await measure(
      "changes-by-approver",
      `every change ${reviewer} approved`,
      async () => (await queryChanges(store, { approver: reviewer })).map((c) => c.seq),
      changePages({ approver: reviewer }),
      () => {
        const out: number[] = [];
        scan((r) => {
          if (r.kind === "change" && r.body.approvals.some((a) => a.reviewer === reviewer)) out.push(r.seq);
        });
        return out;
      },
    );
    await measure(
      "agent-at",
      `${agent} as of ${new Date(at).toISOString()}`,
      async () => {
        const answer = await agentAt(store, agent, at);
        return [answer.version?.seq ?? -1, ...answer.exceptions.map((e) => e.seq)];
      },
      undefined,
      () => {
        let version = -1;
        let versionMs = 0;
        let exceptions: number[] = [];
        scan((r) => {
          if (r.kind === "change" && r.body.changes.agents.includes(agent) && Date.parse(r.body.mergedAt) <= at) {
            version = r.seq;
            versionMs = Date.parse(r.body.mergedAt);
            exceptions = [];
          } else if (r.kind === "exception" && r.body.agents.includes(agent)) {
            const ms = Date.parse(r.observedAt);
            if (ms > versionMs && ms <= at) exceptions.push(r.seq);
          }
        });
        return [version, ...exceptions];
      },
    );
    const exceptionFilter = { since: lastYear, until: ledger.end, now: ledger.end, retroDays: 7 };
    await measure(
      "exceptions",
      "exceptions of the last 12 months (bypasses, pushes, overdue retro-reviews) and open drift",
      async () => (await queryExceptions(store, exceptionFilter)).map((e) => `${e.type}:${e.seq}:${e.agents}`),
      paging(
        (page) => pageExceptions(store, exceptionFilter, page),
        () => countExceptions(store, exceptionFilter),
        (e) => `${e.type}:${e.seq}:${e.agents}`,
        (e) => [Date.parse(e.at), e.seq, e.agents],
        { read: (page) => pageExceptions(store, exceptionFilter, page), count: () => countExceptions(store, exceptionFilter), report: exceptionsReport },
      ),
      () => {
        const out: { ms: number; seq: number; agents: string; line: string }[] = [];
        const emergencies = new Map<number, { ms: number; agents: string; completed: boolean; overdue: boolean }>();
        const drift = new Map<string, { seq: number; ms: number }>();
        scan((r) => {
          if (r.kind === "exception") {
            const ms = Date.parse(r.observedAt);
            const agents = r.body.agents.join(" ");
            if (ms >= lastYear && ms < ledger.end) out.push({ ms, seq: r.seq, agents, line: `${r.body.kind}:${r.seq}:${agents}` });
          } else if (r.kind === "change" && r.body.emergency.active) {
            emergencies.set(r.seq, { ms: Date.parse(r.body.mergedAt), agents: r.body.changes.agents.join(" "), completed: false, overdue: false });
          } else if (r.kind === "retro-approval") {
            const e = emergencies.get(r.body.emergency.seq);
            if (e && r.body.outcome === "completed") e.completed = true;
            if (e && r.body.outcome === "overdue") e.overdue = true;
          } else if (r.kind === "drift") {
            for (const f of r.body.findings) drift.set(f.agent, { seq: r.seq, ms: Date.parse(r.observedAt) });
          } else if (r.kind === "provisioning" && r.body.outcome === "converged") {
            for (const a of r.body.agents) drift.delete(a);
          }
        });
        for (const [seq, e] of emergencies) {
          if (e.ms >= lastYear && e.ms < ledger.end && !e.completed && (e.overdue || e.ms + 7 * DAY_MS <= ledger.end)) out.push({ ms: e.ms, seq, agents: e.agents, line: `retro-review-overdue:${seq}:${e.agents}` });
        }
        for (const [a, { seq, ms }] of drift) out.push({ ms, seq, agents: a, line: `drift-unresolved:${seq}:${a}` });
        // Time order, then seq, then agent: the order the report lists them in.
        return out.sort((x, y) => x.ms - y.ms || x.seq - y.seq || (x.agents < y.agents ? -1 : x.agents > y.agents ? 1 : 0)).map((e) => e.line);
      },
    );
    await measure(
      "access-review",
      "every agent: owners, permissions, data classes, last change, last sync, drift",
      async () => (await currentAgents(store)).map(agentLine),
      paging((page) => pageAgents(store, page), () => countAgents(store), agentLine, (a) => [a.agent], { read: (page) => pageAgents(store, page), count: () => countAgents(store), report: accessReviewReport }),
      () => {
        const state = new Map<string, { change: number; sync: number; drift: boolean; permissions: number }>();
        const get = (a: string) => state.get(a) ?? { change: -1, sync: -1, drift: false, permissions: 0 };
        scan((r) => {
          if (r.kind === "change") {
            for (const a of r.body.changes.agents) {
              const sha = r.body.files.hashes[`agents/${a}/agent.yaml`];
              state.set(a, { ...get(a), change: r.seq, permissions: (sha === undefined ? undefined : facts.get(sha)?.permissions.length) ?? 0 });
            }
          } else if (r.kind === "provisioning") {
            for (const a of r.body.agents) state.set(a, { ...get(a), sync: r.seq, drift: r.body.outcome === "converged" ? false : get(a).drift });
          } else if (r.kind === "drift") {
            for (const f of r.body.findings) state.set(f.agent, { ...get(f.agent), drift: true });
          }
        });
        return [...state].sort(([a], [b]) => (a < b ? -1 : 1)).map(([a, s]) => `${a}:${s.change}:${s.sync}:${s.drift}:${s.permissions}`);
      },
    );
    const periodEnd = ledger.start + Math.floor((ledger.end - ledger.start) * 0.8);
    const versionLine = (v: { agent: string; seq: number; permissions: readonly string[] }): string => `${v.agent}:${v.seq}:${v.permissions.length}`;
    await measure(
      "access-review-at",
      `every agent as approved at ${new Date(periodEnd).toISOString()}, with the record that set it`,
      async () => (await pageAgentsAt(store, periodEnd, {})).rows.map(versionLine),
      paging((page) => pageAgentsAt(store, periodEnd, page), () => countAgentsAt(store, periodEnd), versionLine, (v) => [v.agent], {
        read: (page) => pageAgentsAt(store, periodEnd, page),
        count: () => countAgentsAt(store, periodEnd),
        report: (rows) => accessReviewAtReport(rows, new Date(periodEnd).toISOString()),
      }),
      () => {
        const state = new Map<string, { seq: number; permissions: number }>();
        scan((r) => {
          if (r.kind !== "change" || Date.parse(r.body.mergedAt) > periodEnd) return;
          for (const a of r.body.changes.agents) {
            const sha = r.body.files.hashes[`agents/${a}/agent.yaml`];
            state.set(a, { seq: r.seq, permissions: (sha === undefined ? undefined : facts.get(sha)?.permissions.length) ?? 0 });
          }
        });
        return [...state].sort(([a], [b]) => (a < b ? -1 : 1)).map(([a, s]) => `${a}:${s.seq}:${s.permissions}`);
      },
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * How a query answers a page at a time: a page after a cursor with the population's count, the
 * cursor before row i, and the whole answer written in a format (its rows, counted from the
 * text: no synthetic value holds a line break or a row's JSON indentation).
 */
interface Paging {
  page(after: string | undefined): Promise<{ page: Page<unknown>; total: number }>;
  cursorAt(i: number): Promise<string | undefined>;
  /** Rows written; the timed rounds pass count false, so that counting them is not timed. */
  exported(format: RenderedFormat, count?: boolean): Promise<number>;
}

const FOOTER: LedgerFooter = { branch: "charter/evidence", commit: "0".repeat(40), size: RECORDS, tipHash: null, index: "bench" };

/** A query's pages as the bench reads them: rows as comparable lines, and the cursor before row i. */
function paging<T>(read: (page: PageRequest) => Promise<Page<T>>, count: () => Promise<number>, line: (row: T) => unknown, key: (row: T) => SortKey, answer: Answer<T>): Paging {
  return {
    exported: async (format, count = true) => {
      const chunks: string[] = [];
      await writeAnswer(answer, { format, footer: FOOTER, pageSize: undefined, after: undefined, out: (text) => void chunks.push(text) });
      if (!count) return -1;
      const text = chunks.join("");
      return format === "csv" ? text.split("\r\n").length - 2 : text.split("\n    {").length - 1;
    },
    page: async (after) => {
      const [page, total] = await Promise.all([read({ limit: PAGE, ...(after === undefined ? {} : { after }) }), count()]);
      return { page: { rows: page.rows.map(line), next: page.next }, total };
    },
    cursorAt: async (i) => {
      const row = (await read({})).rows[i];
      return row === undefined ? undefined : encodeCursor(key(row));
    },
  };
}

/** A timed call: wall-clock and this process's CPU milliseconds (user and system, every thread). */
interface Sample {
  readonly ms: number;
  readonly cpu: number;
}

async function sample(fn: () => unknown): Promise<Sample> {
  const cpu = process.cpuUsage();
  const ms = await time(fn);
  const used = process.cpuUsage(cpu);
  return { ms, cpu: (used.user + used.system) / 1000 };
}

/** min and median of the wall clock, and the median CPU time, of a side's samples. */
function summary(samples: readonly Sample[]): { min: number; median: number; cpu: number } {
  return { min: Math.min(...samples.map((s) => s.ms)), median: median(samples.map((s) => s.ms)), cpu: median(samples.map((s) => s.cpu)) };
}

/**
 * Times a query and its linear scan, checks they agree (the whole answer, the first page and
 * the count, and a page from the middle), prints one line. The two sides alternate: each scan
 * is followed by a share of the query's rounds, so a change in the machine's load between them
 * hits both. Ratios are of medians; the CPU ratio (CPU time of the scan over that of the
 * query) is the one the other jobs on a shared machine disturb least.
 */
async function measure(name: string, question: string, query: () => Promise<readonly unknown[]>, paging: Paging | undefined, scanned: () => readonly unknown[]): Promise<void> {
  const answer = await query();
  let expected: readonly unknown[] = scanned();
  const mismatch = (what: string, got: readonly unknown[], want: readonly unknown[]): void => {
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`audit bench ${name}: ${what}: the index answered ${got.length} rows, the scan ${want.length}`);
  };
  mismatch("the whole answer", answer, expected);
  let cursor: string | undefined;
  if (paging !== undefined) {
    const first = await paging.page(undefined);
    mismatch("the first page", first.page.rows, expected.slice(0, PAGE));
    if (first.total !== expected.length) throw new Error(`audit bench ${name}: the count says ${first.total}, the scan found ${expected.length}`);
    const middle = Math.floor(expected.length / 2);
    cursor = await paging.cursorAt(middle - 1);
    const later = await paging.page(cursor);
    mismatch("the middle page", later.page.rows, expected.slice(middle, middle + PAGE));
    for (const format of ["csv", "json"] as const) {
      const written = await paging.exported(format);
      if (written !== expected.length) throw new Error(`audit bench ${name}: the ${format} export wrote ${written} rows, the scan found ${expected.length}`);
    }
  }
  const sides: Record<"scan" | "all" | "page" | "middle" | "csv" | "json", Sample[]> = { scan: [], all: [], page: [], middle: [], csv: [], json: [] };
  const share = Math.ceil(QUERY_ROUNDS / SCAN_ROUNDS);
  for (let r = 0; r < SCAN_ROUNDS; r++) {
    sides.scan.push(await sample(() => (expected = scanned())));
    for (let i = 0; i < share; i++) {
      sides.all.push(await sample(query));
      if (paging === undefined) continue;
      sides.page.push(await sample(() => paging.page(undefined)));
      sides.middle.push(await sample(() => paging.page(cursor)));
      sides.csv.push(await sample(() => paging.exported("csv", false)));
      sides.json.push(await sample(() => paging.exported("json", false)));
    }
  }
  mismatch("the whole answer, again", answer, expected);
  const scan = summary(sides.scan);
  const all = summary(sides.all);
  const figure: Record<string, unknown> = { bench: `audit/${name}`, question, records: RECORDS, rows: answer.length };
  if (paging === undefined) {
    Object.assign(figure, { query_ms: round(all.median, 3), query_min_ms: round(all.min, 3), ratio: round(scan.median / all.median), cpu_ratio: round(scan.cpu / Math.max(all.cpu, 0.001)) });
  } else {
    const page = summary(sides.page);
    const middle = summary(sides.middle);
    const csv = summary(sides.csv);
    const json = summary(sides.json);
    Object.assign(figure, {
      page_rows: Math.min(PAGE, answer.length),
      page_ms: round(page.median, 3),
      page_min_ms: round(page.min, 3),
      ratio: round(scan.median / page.median),
      ratio_of: `the first page (${PAGE} rows) with the population's count, as charter audit shows it`,
      middle_page_ms: round(middle.median, 3),
      middle_page_ratio: round(scan.median / middle.median),
      whole_of: "every row as --all --format csv writes it",
      whole_ms: round(csv.median, 3),
      whole_min_ms: round(csv.min, 3),
      whole_ratio: round(scan.median / csv.median),
      whole_cpu_ms: round(csv.cpu, 3),
      whole_cpu_ratio: round(scan.cpu / csv.cpu),
      whole_us_per_row: round((csv.median * 1000) / Math.max(1, answer.length), 2),
      whole_json_ms: round(json.median, 3),
      whole_json_min_ms: round(json.min, 3),
      whole_json_ratio: round(scan.median / json.median),
      whole_json_cpu_ms: round(json.cpu, 3),
      whole_json_cpu_ratio: round(scan.cpu / json.cpu),
      query_all_ms: round(all.median, 3),
      query_all_ratio: round(scan.median / all.median),
    });
  }
  report({
    ...figure,
    baseline: "linear scan: decode and JSON.parse every stored record, then filter",
    scan_ms: round(scan.median),
    scan_min_ms: round(scan.min),
    scan_cpu_ms: round(scan.cpu),
    samples: { scan: sides.scan.length, query: sides.all.length },
    loadavg: loadAverage(),
  });
}

/**
 * A build's rate by the wall clock, and its CPU time per record: on a machine shared with other
 * jobs the wall clock also counts the time spent waiting for a core, so a rate that holds with
 * size shows first as a CPU time per record that does not grow.
 */
function buildFigures(records: number, built: Sample): Record<string, number> {
  return { build_ms: round(built.ms), records_per_s: Math.round(records / (built.ms / 1000)), cpu_ms: round(built.cpu), cpu_us_per_record: round((built.cpu * 1000) / records, 1) };
}

/** The machine's load averages over 1, 5 and 15 minutes, as /proc/loadavg gives them (Linux). */
function loadAverage(): string | null {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return null;
  }
}

function indexBytes(dir: string, file: string): number {
  const size = (name: string): number => {
    try {
      return statSync(join(dir, name)).size;
    } catch {
      return 0;
    }
  };
  return size(file) + size(`${file}-wal`);
}
