import { type AgentState, agentStateOf, jsonList, type ManifestSource } from "./agent-state.js";
import type { AuditStore } from "./audit-store.js";
import { type Cell, cellText, isIntegerColumn, primaryKey, TABLE_NAMES, TABLES } from "./index-schema.js";
import { isoOf } from "./instant.js";

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

/** The SQL of queryChanges, exposed so tests can check its query plan. */
export function changesQuery(filter: ChangeFilter): { sql: string; params: Cell[] } {
  const params: Cell[] = [];
  const time = (alias: string): string => {
    let sql = "";
    if (filter.since !== undefined) {
      sql += ` AND ${alias}.merged_ms >= ?`;
      params.push(filter.since);
    }
    if (filter.until !== undefined) {
      sql += ` AND ${alias}.merged_ms < ?`;
      params.push(filter.until);
    }
    return sql;
  };
  const given = DRIVERS.filter((d) => filter[d.filter] !== undefined);
  const [driver, ...others] = given;
  let sql: string;
  if (driver === undefined) {
    sql = `SELECT c.entry FROM changes c WHERE 1 = 1${time("c")}`;
  } else {
    params.push(filter[driver.filter] ?? "");
    const range = time("x");
    sql = `SELECT c.entry FROM (SELECT DISTINCT x.merged_ms, x.seq FROM ${driver.table} x WHERE x.${driver.column} = ?${range}) d JOIN changes c ON c.seq = d.seq WHERE 1 = 1`;
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
  sql += " ORDER BY c.merged_ms, c.seq";
  return { sql, params };
}

/** Every recorded change matching the filter, in merge-time order. */
export async function queryChanges(store: AuditStore, filter: ChangeFilter): Promise<ChangeEntry[]> {
  const { sql, params } = changesQuery(filter);
  const entries = (await store.select(sql, params)).map(changeEntryOf);
  const retros = await retroReviews(store, entries.filter((c) => c.emergency).map((c) => c.seq));
  return entries.map((c) => ({ ...c, retro: retros.get(c.seq) ?? null }));
}

/** A `changes` row's entry document; the index wrote it from a record that passed the chain check. */
function changeEntryOf(row: Readonly<Record<string, unknown>>): Omit<ChangeEntry, "retro"> {
  return JSON.parse(cellText(row["entry"])) as Omit<ChangeEntry, "retro">;
}

/**
 * The retro-approval record of each emergency change: a completed one if there is any (it closes
 * the change whatever came before), otherwise the latest (an overdue flag).
 */
async function retroReviews(store: AuditStore, emergencies: readonly number[]): Promise<Map<number, RetroReview>> {
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
    version:
      current === undefined
        ? null
        : {
            agent,
            seq: int(current["seq"]),
            hash: str(current["hash"]),
            effectiveAt: str(current["effective_at"]),
            manifestSha: current["manifest_sha"] === null ? null : str(current["manifest_sha"]),
            manifest: str(current["manifest"]) as ManifestSource,
            status: str(current["status"]),
            environment: str(current["environment"]),
            owners: jsonList(current["owners"]),
            permissions: jsonList(current["permissions"]),
            dataClasses: jsonList(current["data_classes"]),
            provider: str(current["provider"]),
          },
    next: next === undefined ? null : { seq: int(next["seq"]), hash: str(next["hash"]), effectiveAt: str(next["effective_at"]), status: str(next["status"]) },
    exceptions: exceptions.map((e) => ({ seq: int(e["seq"]), hash: str(e["hash"]), kind: str(e["kind"]), observedAt: str(e["observed_at"]) })),
  };
}

/** Every agent the ledger knows and has not deleted, as the latest records leave it: the access review's population. */
export async function currentAgents(store: AuditStore): Promise<AgentState[]> {
  // Sorted here, not in SQL: PostgreSQL's collation would order names differently from SQLite's bytes.
  return (await store.select("SELECT state FROM agents WHERE status <> 'deleted'")).map(agentStateOf).sort((a, b) => compareText(a.agent, b.agent));
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
  const params: Cell[] = [];
  const window = (column: string): string => {
    let sql = "";
    if (filter.since !== undefined) {
      sql += ` AND ${column} >= ?`;
      params.push(filter.since);
    }
    if (filter.until !== undefined) {
      sql += ` AND ${column} < ?`;
      params.push(filter.until);
    }
    return sql;
  };
  const out: (ExceptionEntry & { ms: number })[] = [];
  const bypasses = await store.select(`SELECT * FROM exceptions e WHERE 1 = 1${window("e.observed_ms")} ORDER BY e.observed_ms, e.seq`, params);
  for (const e of bypasses) {
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
  params.length = 0;
  const emergencies = await store.select(
    `SELECT c.entry FROM changes c WHERE c.emergency = 1${window("c.merged_ms")} AND NOT EXISTS (SELECT 1 FROM retro_approvals r WHERE r.emergency_seq = c.seq AND r.outcome = 'completed') ORDER BY c.merged_ms, c.seq`,
    params,
  );
  const open = emergencies.map(changeEntryOf);
  const flagged = await retroReviews(store, open.map((c) => c.seq));
  for (const c of open) {
    const seq = c.seq;
    const due = c.mergedMs + filter.retroDays * DAY_MS;
    const flag = flagged.get(seq);
    if (flag === undefined && due > filter.now) continue;
    out.push({
      type: "retro-review-overdue",
      seq,
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
  const drifted = await store.select("SELECT a.state, d.hash, d.observed_at, d.observed_ms, d.findings FROM agents a JOIN drift d ON d.seq = a.drift_seq WHERE a.drift_seq IS NOT NULL");
  for (const d of drifted) {
    const { agent, driftSeq } = agentStateOf(d);
    out.push({
      type: "drift-unresolved",
      seq: driftSeq ?? 0,
      hash: str(d["hash"]),
      at: str(d["observed_at"]),
      ms: int(d["observed_ms"]),
      agents: agent,
      pullRequest: null,
      detail: str(d["findings"]).split("; ").filter((f) => f.startsWith(`${agent}: `)).join("; "),
      related: null,
    });
  }
  return out.sort((a, b) => a.ms - b.ms || a.seq - b.seq || compareText(a.agents, b.agents)).map(({ ms: _ms, ...entry }) => entry);
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
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
