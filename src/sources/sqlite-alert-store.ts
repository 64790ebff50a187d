import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { Alert } from "../detect/alert.js";
import type { DetectorSnapshot } from "../detect/detector.js";
import { CharterError } from "../errors.js";
import { type AlertChange, type AlertFilter, type AlertStatus, type AlertStore, type AlertSuppression, allowedChange, type EscalationChannel, escalationKey, type PendingEscalation, type StoredAlert, suppressedReason } from "./alert-store.js";

/**
 * Alerts in the trail's SQLite file, through a connection of their own (WAL lets the CLI change
 * an alert's status while the app ingests and detects). See alert-store.ts for the contract.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS alerts (
  n INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  rule TEXT NOT NULL,
  agent TEXT,
  fired_ms INTEGER NOT NULL,
  recorded_ms INTEGER NOT NULL,
  status TEXT NOT NULL,
  changed_by TEXT,
  changed_ms INTEGER,
  reason TEXT,
  escalation_key TEXT NOT NULL,
  issue_ms INTEGER,
  webhook_ms INTEGER,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_fired ON alerts (fired_ms);
CREATE INDEX IF NOT EXISTS alerts_issue_pending ON alerts (escalation_key) WHERE issue_ms IS NULL;
CREATE INDEX IF NOT EXISTS alerts_webhook_pending ON alerts (escalation_key) WHERE webhook_ms IS NULL;
CREATE TABLE IF NOT EXISTS alert_changes (
  alert_id TEXT NOT NULL,
  from_status TEXT NOT NULL,
  to_status TEXT NOT NULL,
  by TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  reason TEXT
);
CREATE INDEX IF NOT EXISTS alert_changes_alert ON alert_changes (alert_id);
CREATE TABLE IF NOT EXISTS alert_issues (escalation_key TEXT PRIMARY KEY NOT NULL, issue INTEGER NOT NULL, opened_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS alert_suppressions (
  escalation_key TEXT PRIMARY KEY NOT NULL,
  alert_id TEXT NOT NULL,
  by TEXT NOT NULL,
  reason TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  until_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS detector_state (name TEXT PRIMARY KEY NOT NULL, position INTEGER NOT NULL, saved_ms INTEGER NOT NULL, state TEXT NOT NULL);
`;

export interface AlertRow {
  n: number | bigint;
  id: string;
  status: string;
  changed_by: string | null;
  changed_ms: number | bigint | null;
  reason: string | null;
  recorded_ms: number | bigint;
  escalation_key: string;
  issue_ms: number | bigint | null;
  webhook_ms: number | bigint | null;
  body: string;
}

const iso = (ms: number | bigint | null): string | null => (ms === null ? null : new Date(Number(ms)).toISOString());

/** A row of alert_changes, as both stores return it (PostgreSQL gives BIGINT columns as strings). */
export interface ChangeRow {
  readonly alert_id: string;
  readonly from_status: string;
  readonly to_status: string;
  readonly by: string;
  readonly at_ms: number | string;
  readonly reason: string | null;
}

export function alertChange(r: ChangeRow): AlertChange {
  return { alertId: r.alert_id, from: r.from_status as AlertStatus, to: r.to_status as AlertStatus, by: r.by, at: new Date(Number(r.at_ms)).toISOString(), reason: r.reason };
}

/** A stored row as the store's callers see it; shared with the PostgreSQL store. */
export function storedAlert(row: AlertRow): StoredAlert {
  return {
    alert: JSON.parse(row.body) as Alert,
    n: Number(row.n),
    recordedAt: iso(row.recorded_ms) ?? "",
    status: row.status as AlertStatus,
    changedBy: row.changed_by,
    changedAt: iso(row.changed_ms),
    reason: row.reason,
    escalationKey: row.escalation_key,
    issueAt: iso(row.issue_ms),
    webhookAt: iso(row.webhook_ms),
  };
}

/** Prefixes are hex: anything else cannot name an alert, and LIKE must not see wildcards. */
export const ID_PREFIX = /^[0-9a-f]{8,64}$/;

export const CHANNEL_COLUMN: Readonly<Record<EscalationChannel, string>> = { issue: "issue_ms", webhook: "webhook_ms" };

export function statusConflict(id: string, from: AlertStatus, to: AlertStatus, by: string | null, at: string | null): CharterError {
  return new CharterError("CONFLICT", `alert ${id.slice(0, 12)} is ${from}${by === null ? "" : ` (by ${by} at ${at ?? "?"})`}; it cannot be ${to} ${from === to ? "again" : "now"}`, {
    hint: "An alert moves forwards only: open → acknowledged → resolved or suppressed. Show it with charter alerts show.",
  });
}

export interface SuppressionRow {
  escalation_key: string;
  alert_id: string;
  by: string;
  reason: string;
  at_ms: number | bigint;
  until_ms: number | bigint;
}

/** A stored suppression as callers see it; shared with the PostgreSQL store. */
export function storedSuppression(row: SuppressionRow): AlertSuppression {
  return { key: row.escalation_key, alertId: row.alert_id, by: row.by, reason: row.reason, at: iso(row.at_ms) ?? "", until: iso(row.until_ms) ?? "" };
}

/**
 * Suppressed alerts are never escalated: the channels' pending queries skip them. A suppression
 * silences paging, not the record, so the alert itself is stored like any other.
 */
export const ESCALATABLE = "status <> 'suppressed'";

/** better-sqlite3 throws synchronously; the store's callers expect a rejected promise. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

export function openSqliteAlerts(path: string): SqliteAlertStore {
  return new SqliteAlertStore(path);
}

class SqliteAlertStore implements AlertStore {
  readonly #db: Database.Database;

  constructor(path: string) {
    try {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      this.#db = new Database(path);
      this.#db.pragma("journal_mode = WAL");
      this.#db.pragma("synchronous = FULL");
      this.#db.pragma("busy_timeout = 10000");
      this.#db.exec(SCHEMA);
    } catch (cause) {
      throw new CharterError("IO", `cannot open the alert store ${path}: ${(cause as Error).message}`, { cause, hint: "Check that the directory is writable, or set CHARTER_TRAIL_DB to another file." });
    }
  }

  record(alerts: readonly Alert[], snapshot: DetectorSnapshot | null, nowMs: number): Promise<Alert[]> {
    const insert = this.#db.prepare(
      "INSERT OR IGNORE INTO alerts (id, rule, agent, fired_ms, recorded_ms, status, escalation_key, body) VALUES (?, ?, ?, ?, ?, 'open', ?, ?)",
    );
    const save = this.#db.prepare(
      `INSERT INTO detector_state (name, position, saved_ms, state) VALUES ('live', ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET position = excluded.position, saved_ms = excluded.saved_ms, state = excluded.state WHERE excluded.position >= detector_state.position`,
    );
    const suppression = this.#db.prepare("SELECT * FROM alert_suppressions WHERE escalation_key = ? AND until_ms > ?");
    const silence = this.#db.prepare("UPDATE alerts SET status = 'suppressed', changed_by = ?, changed_ms = ?, reason = ? WHERE id = ?");
    const change = this.#db.prepare("INSERT INTO alert_changes (alert_id, from_status, to_status, by, at_ms, reason) VALUES (?, 'open', 'suppressed', ?, ?, ?)");
    const run = this.#db.transaction((): Alert[] => {
      const fresh: Alert[] = [];
      for (const a of alerts) {
        const fired = Date.parse(a.firedAt);
        const key = escalationKey(a);
        const info = insert.run(a.id, a.rule.id, a.agent, Number.isFinite(fired) ? fired : nowMs, nowMs, key, JSON.stringify(a));
        if (info.changes === 0) continue;
        // Judged by the time of recording, not the event's own clock, which a source may set.
        const held = suppression.get(key, nowMs) as SuppressionRow | undefined;
        if (held !== undefined) {
          const why = suppressedReason(storedSuppression(held));
          silence.run(held.by, nowMs, why, a.id);
          change.run(a.id, held.by, nowMs, why);
        }
        fresh.push(a);
      }
      if (snapshot !== null) save.run(snapshot.position, nowMs, JSON.stringify(snapshot));
      return fresh;
    });
    return Promise.resolve(run());
  }

  snapshot(): Promise<DetectorSnapshot | null> {
    const row = this.#db.prepare("SELECT state FROM detector_state WHERE name = 'live'").get() as { state: string } | undefined;
    return Promise.resolve(row === undefined ? null : (JSON.parse(row.state) as DetectorSnapshot));
  }

  list(filter: AlertFilter): Promise<StoredAlert[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const add = (sql: string, value: string | number): void => {
      where.push(sql);
      params.push(value);
    };
    if (filter.agent !== undefined) add("agent = ?", filter.agent);
    if (filter.rule !== undefined) add("rule = ?", filter.rule);
    if (filter.status !== undefined) add("status = ?", filter.status);
    if (filter.sinceMs !== undefined) add("fired_ms >= ?", filter.sinceMs);
    if (filter.beforeN !== undefined) add("n < ?", filter.beforeN);
    params.push(filter.limit);
    const rows = this.#db.prepare(`SELECT * FROM alerts ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY n DESC LIMIT ?`).all(...params) as AlertRow[];
    return Promise.resolve(rows.map(storedAlert));
  }

  get(idOrPrefix: string): Promise<StoredAlert | null> {
    if (!ID_PREFIX.test(idOrPrefix)) return Promise.resolve(null);
    const rows = this.#db.prepare("SELECT * FROM alerts WHERE id >= ? AND id < ? ORDER BY id LIMIT 2").all(idOrPrefix, `${idOrPrefix}g`) as AlertRow[];
    if (rows.length > 1) throw new CharterError("USAGE", `more than one alert id starts with ${idOrPrefix}`, { hint: "Give more characters of the id." });
    return Promise.resolve(rows[0] === undefined ? null : storedAlert(rows[0]));
  }

  history(id: string): Promise<AlertChange[]> {
    const rows = this.#db.prepare("SELECT * FROM alert_changes WHERE alert_id = ? ORDER BY rowid").all(id) as ChangeRow[];
    return Promise.resolve(rows.map(alertChange));
  }

  recentChanges(beforeN: number | null, limit: number): Promise<(AlertChange & { readonly n: number })[]> {
    const rows = this.#db.prepare("SELECT rowid AS n, * FROM alert_changes WHERE rowid < ? ORDER BY rowid DESC LIMIT ?").all(beforeN ?? Number.MAX_SAFE_INTEGER, limit) as (ChangeRow & { n: number })[];
    return Promise.resolve(rows.map((r) => ({ n: r.n, ...alertChange(r) })));
  }

  changeStatus(id: string, to: Exclude<AlertStatus, "open">, by: string, reason: string | null, nowMs: number): Promise<StoredAlert> {
    const run = this.#db.transaction((): StoredAlert => {
      const row = this.#db.prepare("SELECT * FROM alerts WHERE id = ?").get(id) as AlertRow | undefined;
      if (row === undefined) throw new CharterError("NOT_FOUND", `no alert ${id}`, { hint: "List alerts with charter alerts list." });
      const current = storedAlert(row);
      if (!allowedChange(current.status, to)) throw statusConflict(id, current.status, to, current.changedBy, current.changedAt);
      this.#db.prepare("UPDATE alerts SET status = ?, changed_by = ?, changed_ms = ?, reason = ? WHERE id = ?").run(to, by, nowMs, reason, id);
      this.#db.prepare("INSERT INTO alert_changes (alert_id, from_status, to_status, by, at_ms, reason) VALUES (?, ?, ?, ?, ?, ?)").run(id, current.status, to, by, nowMs, reason);
      return storedAlert(this.#db.prepare("SELECT * FROM alerts WHERE id = ?").get(id) as AlertRow);
    });
    return settle(() => run.immediate());
  }

  suppress(id: string, by: string, reason: string, untilMs: number, nowMs: number): Promise<StoredAlert> {
    const run = this.#db.transaction((): StoredAlert => {
      const row = this.#db.prepare("SELECT * FROM alerts WHERE id = ?").get(id) as AlertRow | undefined;
      if (row === undefined) throw new CharterError("NOT_FOUND", `no alert ${id}`, { hint: "List alerts with charter alerts list." });
      const current = storedAlert(row);
      if (!allowedChange(current.status, "suppressed")) throw statusConflict(id, current.status, "suppressed", current.changedBy, current.changedAt);
      this.#db.prepare("UPDATE alerts SET status = 'suppressed', changed_by = ?, changed_ms = ?, reason = ? WHERE id = ?").run(by, nowMs, reason, id);
      this.#db.prepare("INSERT INTO alert_changes (alert_id, from_status, to_status, by, at_ms, reason) VALUES (?, ?, 'suppressed', ?, ?, ?)").run(id, current.status, by, nowMs, `${reason} (until ${new Date(untilMs).toISOString()})`);
      this.#db.prepare(
        `INSERT INTO alert_suppressions (escalation_key, alert_id, by, reason, at_ms, until_ms) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (escalation_key) DO UPDATE SET alert_id = excluded.alert_id, by = excluded.by, reason = excluded.reason, at_ms = excluded.at_ms, until_ms = excluded.until_ms`,
      ).run(row.escalation_key, id, by, reason, nowMs, untilMs);
      return storedAlert(this.#db.prepare("SELECT * FROM alerts WHERE id = ?").get(id) as AlertRow);
    });
    return settle(() => run.immediate());
  }

  suppressions(nowMs: number): Promise<AlertSuppression[]> {
    const rows = this.#db.prepare("SELECT * FROM alert_suppressions WHERE until_ms > ? ORDER BY until_ms, escalation_key").all(nowMs) as SuppressionRow[];
    return Promise.resolve(rows.map(storedSuppression));
  }

  pending(channel: EscalationChannel): Promise<PendingEscalation[]> {
    const column = CHANNEL_COLUMN[channel];
    // SQLite gives the bare column (id) of the row holding max(n).
    const rows = this.#db.prepare(`SELECT escalation_key AS key, max(n) AS newest, id FROM alerts WHERE ${column} IS NULL AND ${ESCALATABLE} GROUP BY escalation_key ORDER BY newest`).all() as { key: string; newest: number; id: string }[];
    return Promise.resolve(rows.map((r) => ({ key: r.key, newest: r.id })));
  }

  undelivered(channel: EscalationChannel, key: string, limit: number): Promise<StoredAlert[]> {
    const rows = this.#db.prepare(`SELECT * FROM alerts WHERE escalation_key = ? AND ${CHANNEL_COLUMN[channel]} IS NULL AND ${ESCALATABLE} ORDER BY n LIMIT ?`).all(key, limit) as AlertRow[];
    return Promise.resolve(rows.map(storedAlert));
  }

  markDelivered(channel: EscalationChannel, ids: readonly string[], nowMs: number): Promise<void> {
    const update = this.#db.prepare(`UPDATE alerts SET ${CHANNEL_COLUMN[channel]} = ? WHERE id = ?`);
    this.#db.transaction(() => {
      for (const id of ids) update.run(nowMs, id);
    })();
    return Promise.resolve();
  }

  issueOf(key: string): Promise<number | null> {
    const row = this.#db.prepare("SELECT issue FROM alert_issues WHERE escalation_key = ?").get(key) as { issue: number } | undefined;
    return Promise.resolve(row === undefined ? null : row.issue);
  }

  setIssue(key: string, issue: number, nowMs: number): Promise<void> {
    this.#db.prepare("INSERT INTO alert_issues (escalation_key, issue, opened_ms) VALUES (?, ?, ?) ON CONFLICT (escalation_key) DO UPDATE SET issue = excluded.issue").run(key, issue, nowMs);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#db.close();
    return Promise.resolve();
  }
}
