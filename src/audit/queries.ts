import { type AgentState, agentStateOf, jsonList, type ManifestSource } from "./agent-state.js";
import type { AuditStore } from "./audit-store.js";
import { type Cell, cellText, isIntegerColumn, primaryKey, TABLE_NAMES, TABLES } from "./index-schema.js";
import { isoOf } from "../evidence/instant.js";
import type { RenderedFormat } from "./report-format.js";
import { checkLimit, decodeCursor, type Page, type PageRequest, pageOf, type SortKey } from "./page-cursor.js";

/** A record an answer rests on: trace it with charter evidence show --seq. */
export interface RecordRef {
  readonly seq: number;
  readonly hash: string;
}

export interface ChangeFilter {
  /** Inclusive lower bound on GitHub's merge time, UTC milliseconds. */
  readonly since?: number;
  /** Exclusive upper bound. */
  readonly until?: number;
  readonly agent?: string;
  /** A change kind (permission-added, model-changed, ...). */
  readonly kind?: string;
  readonly approver?: string;
  /** A data classification the agent held before or after the change. */
  readonly dataClass?: string;
  readonly decision?: string;
  /** Only emergency changes. */
  readonly emergency?: boolean;
}

export interface RetroReview extends RecordRef {
  readonly outcome: string;
  readonly approvers: string;
}

export interface ChangeEntry extends RecordRef {
  readonly pullRequest: number;
  readonly title: string;
  readonly url: string;
  readonly author: string;
  readonly mergedBy: string;
  readonly mergedAt: string;
  readonly mergedMs: number;
  readonly decision: string;
  readonly emergency: boolean;
  readonly emergencyReason: string | null;
  readonly maxRisk: string;
  readonly agents: string;
  readonly kinds: string;
  readonly dataClasses: string;
  readonly approvers: string;
  readonly checks: string;
  /** passed: every recorded check succeeded; failed: one did not; none: no check was recorded. */
  readonly tested: string;
  /** For an emergency change: the retro-approval record that closes it (or flagged it overdue). */
  readonly retro: RetroReview | null;
}

const int = (value: unknown): number => Number(value);
const str = cellText;

// A filter on one of these is answered from that table's primary key (filter value, merge
// time, seq), so the most selective filter given drives the query and the rest are point lookups.
const DRIVERS = [
  { filter: "agent", table: "change_agents", column: "agent" },
  { filter: "approver", table: "approvals", column: "reviewer" },
  { filter: "dataClass", table: "change_data_classes", column: "data_class" },
  { filter: "kind", table: "change_kinds", column: "kind" },
] as const;

/** Where a page of changes starts and how many rows it fetches (the limit plus one, see pageOf). */
export interface ChangesWindow {
  readonly after?: SortKey;
  readonly fetch?: number;
}

/**
 * The SQL of queryChanges, exposed so tests can check its query plan. The driving table's
 * primary key (filter value, merge time, seq) yields the rows already in the answer's order,
 * so a page is a bounded walk along one index and the count needs no other table.
 */
export function changesQuery(filter: ChangeFilter, window: ChangesWindow = {}, select: "entry" | "count" | RenderedFormat = "entry"): { sql: string; params: Cell[] } {
  const params: Cell[] = [];
  const bounds = (alias: string): string => {
    let sql = "";
    // After a cursor, the lower bound is the later of --since and the cursor's time, so the
    // index search starts at the cursor instead of filtering every row before it.
    const cursorMs = window.after === undefined ? undefined : Number(window.after[0] ?? 0);
    const lower = cursorMs === undefined ? filter.since : Math.max(filter.since ?? cursorMs, cursorMs);
    if (lower !== undefined) {
      sql += ` AND ${alias}.merged_ms >= ?`;
      params.push(lower);
    }
    if (filter.until !== undefined) {
      sql += ` AND ${alias}.merged_ms < ?`;
      params.push(filter.until);
    }
    if (window.after !== undefined) {
      sql += ` AND (${alias}.merged_ms, ${alias}.seq) > (?, ?)`;
      params.push(window.after[0] ?? 0, window.after[1] ?? 0);
    }
    return sql;
  };
  const given = DRIVERS.filter((d) => filter[d.filter] !== undefined);
  const [driver, ...others] = given;
  const needsChange = others.length > 0 || filter.decision !== undefined || filter.emergency === true;
  // A rendered row is read with the sort key its cursor needs; the entry only where no rendered
  // row is stored (an emergency change, formatted when asked for).
  const columns = select === "count" ? "count(*) AS n" : select === "entry" ? "c.entry" : `c.merged_ms, c.seq, c.${select} AS line, CASE WHEN c.${select} IS NULL THEN c.entry END AS entry`;
  let sql: string;
  let order: string;
  if (driver === undefined) {
    sql = `SELECT ${columns} FROM changes c WHERE 1 = 1${bounds("c")}`;
    order = "c.merged_ms, c.seq";
  } else {
    params.push(filter[driver.filter] ?? "");
    const key = `x.${driver.column} = ?`;
    const range = bounds("x");
    const from = select === "count" && !needsChange ? `${driver.table} x` : `${driver.table} x JOIN changes c ON c.seq = x.seq`;
    sql = `SELECT ${columns} FROM ${from} WHERE ${key}${range}`;
    // One reviewer can approve one change twice (a review and a retro-approval): the row with
    // the smallest "via" stands for the change, so each change is listed once.
    if (driver.filter === "approver") sql += " AND x.via = (SELECT min(z.via) FROM approvals z WHERE z.reviewer = x.reviewer AND z.merged_ms = x.merged_ms AND z.seq = x.seq)";
    order = "x.merged_ms, x.seq";
  }
  for (const d of others) {
    sql += ` AND EXISTS (SELECT 1 FROM ${d.table} y WHERE y.${d.column} = ? AND y.merged_ms = c.merged_ms AND y.seq = c.seq)`;
    params.push(filter[d.filter] ?? "");
  }
  if (filter.decision !== undefined) {
    sql += " AND c.decision = ?";
    params.push(filter.decision);
  }
  if (filter.emergency === true) sql += " AND c.emergency = 1";
  if (select !== "count") {
    sql += ` ORDER BY ${order}`;
    if (window.fetch !== undefined) {
      sql += " LIMIT ?";
      params.push(window.fetch);
    }
  }
  return { sql, params };
}

/** Every recorded change matching the filter, in merge-time order. */
export async function queryChanges(store: AuditStore, filter: ChangeFilter): Promise<ChangeEntry[]> {
  return (await pageChanges(store, filter, {})).rows;
}

/** One page of the changes matching the filter, in merge-time order. */
export async function pageChanges(store: AuditStore, filter: ChangeFilter, page: PageRequest): Promise<Page<ChangeEntry>> {
  checkLimit(page.limit);
  const after = page.after === undefined ? undefined : decodeCursor(page.after, "nn");
  const { sql, params } = changesQuery(filter, { ...(after === undefined ? {} : { after }), ...(page.limit === undefined ? {} : { fetch: page.limit + 1 }) });
  const found = pageOf((await store.select(sql, params)).map(changeEntryOf), page.limit, (c) => [c.mergedMs, c.seq]);
  const retros = await retroReviews(store, found.rows.filter((c) => c.emergency).map((c) => c.seq));
  return { rows: found.rows.map((c) => ({ ...c, retro: retros.get(c.seq) ?? null })), next: found.next };
}

/** How many changes match the filter: the size of the population a page is taken from. */
export async function countChanges(store: AuditStore, filter: ChangeFilter): Promise<number> {
  const { sql, params } = changesQuery(filter, {}, "count");
  return countOf(await store.select(sql, params));
}

function countOf(rows: readonly Readonly<Record<string, unknown>>[]): number {
  return Number(rows[0]?.["n"] ?? 0);
}

/** A `changes` row's entry document; the index wrote it from a record that passed the chain check. */
export function changeEntryOf(row: Readonly<Record<string, unknown>>): Omit<ChangeEntry, "retro"> {
  return JSON.parse(cellText(row["entry"])) as Omit<ChangeEntry, "retro">;
}

/**
 * The retro-approval record of each emergency change: a completed one if there is any (it closes
 * the change whatever came before), otherwise the latest (an overdue flag).
 */
export async function retroReviews(store: AuditStore, emergencies: readonly number[]): Promise<Map<number, RetroReview>> {
  const out = new Map<number, RetroReview>();
  for (let i = 0; i < emergencies.length; i += 500) {
    const chunk = emergencies.slice(i, i + 500);
    const rows = await store.select(`SELECT * FROM retro_approvals WHERE emergency_seq IN (${chunk.map(() => "?").join(", ")}) ORDER BY emergency_seq, seq`, chunk);
    for (const r of rows) {
      const key = int(r["emergency_seq"]);
      const current = out.get(key);
      if (current?.outcome === "completed") continue;
      out.set(key, { seq: int(r["seq"]), hash: str(r["hash"]), outcome: str(r["outcome"]), approvers: str(r["approvers"]) });
    }
  }
  return out;
}

export interface AgentVersion extends RecordRef {
  readonly agent: string;
  /** GitHub's merge time of the change that made this version. */
  readonly effectiveAt: string;
  readonly manifestSha: string | null;
  /** Where the facts come from: "copy" is the approved manifest itself; anything else says why they are unknown. */
  readonly manifest: ManifestSource;
  readonly status: string;
  readonly environment: string;
  readonly owners: readonly string[];
  readonly permissions: readonly string[];
  readonly dataClasses: readonly string[];
  readonly provider: string;
}

export interface ExceptionRef extends RecordRef {
  readonly kind: string;
  readonly observedAt: string;
}

export interface AgentAtAnswer {
  readonly agent: string;
  readonly at: string;
  /** The version in force at that moment; null when no change to the agent had merged yet. */
  readonly version: AgentVersion | null;
  /** The next recorded version after that moment (what replaced it, or what first created the agent). */
  readonly next: (RecordRef & { readonly effectiveAt: string; readonly status: string }) | null;
  /** Exceptions (bypasses, direct pushes) that touched the agent after the version took effect and by that moment: its state may differ from the manifest. */
  readonly exceptions: readonly ExceptionRef[];
}

/** Time travel: the agent's approved manifest facts in force at `atMs`, and the record that put them there. */
export async function agentAt(store: AuditStore, agent: string, atMs: number): Promise<AgentAtAnswer> {
  const [current] = await store.select("SELECT * FROM agent_versions WHERE agent = ? AND effective_ms <= ? ORDER BY effective_ms DESC, seq DESC LIMIT 1", [agent, atMs]);
  const [next] = await store.select("SELECT seq, hash, effective_at, status FROM agent_versions WHERE agent = ? AND effective_ms > ? ORDER BY effective_ms, seq LIMIT 1", [agent, atMs]);
  const from = current === undefined ? Number.MIN_SAFE_INTEGER : int(current["effective_ms"]);
  const exceptions = await store.select(
    "SELECT e.seq, e.hash, e.kind, e.observed_at FROM exception_agents x JOIN exceptions e ON e.seq = x.seq WHERE x.agent = ? AND x.observed_ms > ? AND x.observed_ms <= ? ORDER BY x.observed_ms, x.seq",
    [agent, from, atMs],
  );
  return {
    agent,
    at: isoOf(atMs),
    version: current === undefined ? null : versionOf(current),
    next: next === undefined ? null : { seq: int(next["seq"]), hash: str(next["hash"]), effectiveAt: str(next["effective_at"]), status: str(next["status"]) },
    exceptions: exceptions.map((e) => ({ seq: int(e["seq"]), hash: str(e["hash"]), kind: str(e["kind"]), observedAt: str(e["observed_at"]) })),
  };
}

function versionOf(row: Readonly<Record<string, unknown>>): AgentVersion {
  return {
    agent: str(row["agent"]),
    seq: int(row["seq"]),
    hash: str(row["hash"]),
    effectiveAt: str(row["effective_at"]),
    manifestSha: row["manifest_sha"] === null ? null : str(row["manifest_sha"]),
    manifest: str(row["manifest"]) as ManifestSource,
    status: str(row["status"]),
    environment: str(row["environment"]),
    owners: jsonList(row["owners"]),
    permissions: jsonList(row["permissions"]),
    dataClasses: jsonList(row["data_classes"]),
    provider: str(row["provider"]),
  };
}

/**
 * The access review as of a past moment: every agent that existed then and was not deleted,
 * with the approved facts in force at that moment and the change record that put them there
 * (time travel for the whole population). One index search per agent, along the agent's own
 * versions, whatever the size of the ledger.
 */
export async function pageAgentsAt(store: AuditStore, atMs: number, page: PageRequest): Promise<Page<AgentVersion>> {
  checkLimit(page.limit);
  const { sql, params } = agentsAtQuery(store, atMs, page.after === undefined ? undefined : String(decodeCursor(page.after, "s")[0] ?? ""), page.limit === undefined ? undefined : page.limit + 1);
  return pageOf((await store.select(sql, params)).map(versionOf), page.limit, (v) => [v.agent]);
}

/**
 * One search per agent for the status of its version in force then, counted where it was not
 * deleted. (A count(*) of the pages' join lets the planner start from the versions table
 * instead, which reads every version there is.)
 */
export async function countAgentsAt(store: AuditStore, atMs: number): Promise<number> {
  const rows = await store.select(
    "SELECT count(*) AS n FROM (SELECT (SELECT w.status FROM agent_versions w WHERE w.agent = a.agent AND w.effective_ms <= ? ORDER BY w.effective_ms DESC, w.seq DESC LIMIT 1) AS status FROM agents a) s WHERE s.status <> 'deleted'",
    [atMs],
  );
  return countOf(rows);
}

function agentsAtQuery(store: AuditStore, atMs: number, after: string | undefined, fetch: number | undefined): { sql: string; params: Cell[] } {
  const params: Cell[] = [atMs];
  let sql =
    "SELECT v.* FROM agents a JOIN agent_versions v ON v.agent = a.agent" +
    " AND (v.effective_ms, v.seq) = (SELECT w.effective_ms, w.seq FROM agent_versions w WHERE w.agent = a.agent AND w.effective_ms <= ? ORDER BY w.effective_ms DESC, w.seq DESC LIMIT 1)" +
    " WHERE v.status <> 'deleted'";
  if (after !== undefined) {
    sql += ` AND a.agent${bytewise(store)} > ?`;
    params.push(after);
  }
  sql += ` ORDER BY a.agent${bytewise(store)}`;
  if (fetch !== undefined) {
    sql += " LIMIT ?";
    params.push(fetch);
  }
  return { sql, params };
}

/** Whether any record of the ledger names this agent (deleted or not). */
export async function knowsAgent(store: AuditStore, agent: string): Promise<boolean> {
  return (await store.select("SELECT agent FROM agents WHERE agent = ? LIMIT 1", [agent])).length > 0;
}

/** Every agent the ledger knows and has not deleted, as the latest records leave it: the access review's population. */
export async function currentAgents(store: AuditStore): Promise<AgentState[]> {
  return (await pageAgents(store, {})).rows;
}

/**
 * One page of the access review's population, by agent id. Agent ids are lowercase ASCII (the
 * manifest schema says so), and PostgreSQL is told to compare bytes, so both stores and
 * JavaScript order them alike.
 */
export async function pageAgents(store: AuditStore, page: PageRequest): Promise<Page<AgentState>> {
  checkLimit(page.limit);
  const params: Cell[] = [];
  let sql = "SELECT state FROM agents WHERE status <> 'deleted'";
  if (page.after !== undefined) {
    sql += ` AND agent${bytewise(store)} > ?`;
    params.push(decodeCursor(page.after, "s")[0] ?? "");
  }
  sql += ` ORDER BY agent${bytewise(store)}`;
  if (page.limit !== undefined) {
    sql += " LIMIT ?";
    params.push(page.limit + 1);
  }
  return pageOf((await store.select(sql, params)).map(agentStateOf), page.limit, (a) => [a.agent]);
}

export async function countAgents(store: AuditStore): Promise<number> {
  return countOf(await store.select("SELECT count(*) AS n FROM agents WHERE status <> 'deleted'"));
}

/** SQLite compares text by bytes already; PostgreSQL would use the database's locale. */
function bytewise(store: AuditStore): string {
  return store.dialect === "postgres" ? ' COLLATE "C"' : "";
}

export type ExceptionType = "admin-bypass" | "direct-push" | "retro-review-overdue" | "drift-unresolved";

export interface ExceptionEntry extends RecordRef {
  readonly type: ExceptionType;
  /** When: observed time for bypasses, pushes and drift (no GitHub time exists for them), GitHub's merge time for emergency changes. */
  readonly at: string;
  readonly agents: string;
  readonly pullRequest: number | null;
  readonly detail: string;
  /** A second record the line rests on: the retro-approval record that flagged an emergency change overdue. */
  readonly related: RecordRef | null;
}

export interface ExceptionFilter {
  readonly since?: number;
  readonly until?: number;
  /** The moment overdue is judged at (normally now). */
  readonly now: number;
  /** Days after merge by which an emergency change needs a completed retro-approval. */
  readonly retroDays: number;
}

const DAY_MS = 86_400_000;

/**
 * What falls outside normal change control: admin bypasses and direct pushes, emergency changes
 * without a completed retro-review past their due date (or flagged overdue by a retro-approval
 * record), and agents with drift no converged provisioning has resolved. The time window
 * applies to the first three; unresolved drift is listed whenever it was found, since it is
 * still open.
 */
export async function queryExceptions(store: AuditStore, filter: ExceptionFilter): Promise<ExceptionEntry[]> {
  return (await pageExceptions(store, filter, {})).rows;
}

type Sorted = ExceptionEntry & { readonly ms: number };

/**
 * One page of the exceptions, in time order (then seq, then agent). The three sources are each
 * read from their own index from the cursor on, at most a page each, and merged.
 */
export async function pageExceptions(store: AuditStore, filter: ExceptionFilter, page: PageRequest): Promise<Page<ExceptionEntry>> {
  checkLimit(page.limit);
  const after = page.after === undefined ? undefined : decodeCursor(page.after, "nns");
  const fetch = page.limit === undefined ? undefined : page.limit + 1;
  const sources = exceptionSources(store, filter, after, fetch);
  const out: Sorted[] = [];
  for (const e of await store.select(...sources.bypasses)) {
    out.push({
      type: str(e["kind"]) === "direct-push" ? "direct-push" : "admin-bypass",
      seq: int(e["seq"]),
      hash: str(e["hash"]),
      at: str(e["observed_at"]),
      ms: int(e["observed_ms"]),
      agents: str(e["agents"]),
      pullRequest: e["pr"] === null ? null : int(e["pr"]),
      detail: `${str(e["reason"])}${e["issue"] === null ? "" : ` (issue #${int(e["issue"])})`}; commits ${str(e["commits"])}`,
      related: null,
    });
  }
  const open = (await store.select(...sources.emergencies)).map(changeEntryOf);
  const flagged = await retroReviews(store, open.map((c) => c.seq));
  for (const c of open) {
    const due = c.mergedMs + filter.retroDays * DAY_MS;
    const flag = flagged.get(c.seq);
    out.push({
      type: "retro-review-overdue",
      seq: c.seq,
      hash: c.hash,
      at: c.mergedAt,
      ms: c.mergedMs,
      agents: c.agents,
      pullRequest: c.pullRequest,
      detail:
        flag === undefined
          ? `emergency change without a completed retro-approval record; due ${isoOf(due)} (${filter.retroDays} days after merge)`
          : `retro-review flagged overdue by record ${flag.seq}; no completed retro-approval record`,
      related: flag === undefined ? null : { seq: flag.seq, hash: flag.hash },
    });
  }
  for (const d of await store.select(...sources.drift)) {
    const agent = str(d["agent"]);
    out.push({
      type: "drift-unresolved",
      seq: int(d["drift_seq"]),
      hash: str(d["hash"]),
      at: str(d["observed_at"]),
      ms: int(d["observed_ms"]),
      agents: agent,
      pullRequest: null,
      detail: str(d["findings"]).split("; ").filter((f) => f.startsWith(`${agent}: `) || f.startsWith("*: ")).join("; "),
      related: null,
    });
  }
  const key = (e: Sorted): SortKey => [e.ms, e.seq, e.agents];
  const sorted = out.sort((a, b) => compareKeys(key(a), key(b)));
  const found = pageOf(sorted, page.limit, key);
  return { rows: found.rows.map(({ ms: _ms, ...entry }) => entry), next: found.next };
}

/** How many exception lines the filter yields: the population a page is taken from. */
export async function countExceptions(store: AuditStore, filter: ExceptionFilter): Promise<number> {
  const sources = exceptionSources(store, filter, undefined, undefined, "count");
  let n = 0;
  for (const query of [sources.bypasses, sources.emergencies, sources.drift]) n += countOf(await store.select(...query));
  return n;
}

/**
 * The three sources of exception lines, each an index walk from the cursor's (time, seq) on.
 * An emergency change is overdue when no completed retro-approval closes it and either its due
 * date has passed or a retro-approval record flagged it overdue.
 */
function exceptionSources(
  store: AuditStore,
  filter: ExceptionFilter,
  after: SortKey | undefined,
  fetch: number | undefined,
  select: "rows" | "count" = "rows",
): Record<"bypasses" | "emergencies" | "drift", [string, Cell[]]> {
  interface Source {
    readonly columns: string;
    /** The FROM clause with its own WHERE condition, which the bounds below extend. */
    readonly from: string;
    readonly fromParams?: readonly Cell[];
    readonly time: string;
    readonly seq: string;
    /** Whether --since and --until apply (not to open drift, listed whenever it was found). */
    readonly windowed: boolean;
    /** One drift record is a line per agent, so within it the agent id is the last part of the key. */
    readonly tie?: string;
  }
  const query = (source: Source): [string, Cell[]] => {
    const { time, seq, tie } = source;
    const params: Cell[] = [...(source.fromParams ?? [])];
    let sql = `SELECT ${select === "count" ? "count(*) AS n" : source.columns} FROM ${source.from}`;
    const since = source.windowed ? filter.since : undefined;
    const cursorMs = after === undefined ? undefined : Number(after[0] ?? 0);
    // The later of the window's start and the cursor's time: the index search starts there.
    const lower = cursorMs === undefined ? since : Math.max(since ?? cursorMs, cursorMs);
    if (lower !== undefined) {
      sql += ` AND ${time} >= ?`;
      params.push(lower);
    }
    if (source.windowed && filter.until !== undefined) {
      sql += ` AND ${time} < ?`;
      params.push(filter.until);
    }
    if (after !== undefined) {
      const [ms = 0, afterSeq = 0, agents = ""] = after;
      const sameRecord = tie === undefined ? "" : ` OR (${seq} = ? AND ${tie} > ?)`;
      sql += ` AND (${time} > ? OR (${time} = ? AND (${seq} > ?${sameRecord})))`;
      params.push(ms, ms, afterSeq, ...(tie === undefined ? [] : [afterSeq, agents]));
    }
    if (select === "count") return [sql, params];
    sql += ` ORDER BY ${time}, ${seq}${tie === undefined ? "" : `, ${tie}`}`;
    if (fetch !== undefined) {
      sql += " LIMIT ?";
      params.push(fetch);
    }
    return [sql, params];
  };
  return {
    bypasses: query({ columns: "*", from: "exceptions e WHERE 1 = 1", time: "e.observed_ms", seq: "e.seq", windowed: true }),
    emergencies: query({
      columns: "c.entry",
      from:
        "changes c WHERE c.emergency = 1" +
        " AND NOT EXISTS (SELECT 1 FROM retro_approvals r WHERE r.emergency_seq = c.seq AND r.outcome = 'completed')" +
        " AND (c.merged_ms <= ? OR EXISTS (SELECT 1 FROM retro_approvals f WHERE f.emergency_seq = c.seq))",
      fromParams: [filter.now - filter.retroDays * DAY_MS],
      time: "c.merged_ms",
      seq: "c.seq",
      windowed: true,
    }),
    drift: query({
      columns: "a.agent, a.drift_seq, d.hash, d.observed_at, d.observed_ms, d.findings",
      from: "agents a JOIN drift d ON d.seq = a.drift_seq WHERE a.drift_seq IS NOT NULL",
      time: "d.observed_ms",
      seq: "d.seq",
      windowed: false,
      tie: `a.agent${bytewise(store)}`,
    }),
  };
}

/** Sort keys compared field by field: numbers as numbers, text by UTF-16 code units. */
function compareKeys(a: SortKey, b: SortKey): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? "";
    const y = b[i] ?? "";
    const order = typeof x === "number" && typeof y === "number" ? x - y : compareText(String(x), String(y));
    if (order !== 0) return order;
  }
  return 0;
}

/** Every table's rows in key order, integers as numbers: two indexes of the same ledger dump equal. */
export async function dumpIndex(store: AuditStore): Promise<Record<string, Cell[][]>> {
  const out: Record<string, Cell[][]> = {};
  for (const table of TABLE_NAMES) {
    const columns = TABLES[table];
    const keys = primaryKey(table).map((k) => columns.indexOf(k as never));
    const rows = (await store.select(`SELECT ${columns.join(", ")} FROM ${table}`)).map((r) =>
      columns.map((c): Cell => (r[c] === null || r[c] === undefined ? null : isIntegerColumn(c) ? Number(r[c]) : cellText(r[c]))),
    );
    out[table] = rows.sort((a, b) => {
      for (const k of keys) {
        const x = a[k] ?? null;
        const y = b[k] ?? null;
        const order = typeof x === "number" && typeof y === "number" ? x - y : compareText(String(x), String(y));
        if (order !== 0) return order;
      }
      return 0;
    });
  }
  return out;
}

/** Orders by UTF-16 code units, the same in every store and locale. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
