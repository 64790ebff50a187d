/* eslint-disable @typescript-eslint/no-unnecessary-type-conversion -- BIGINT columns are parsed to numbers by the client's type parser (set below); Number() keeps every read a number if that setting changes. */
import pg from "pg";
import type { Alert } from "../detect/alert.js";
import type { DetectorSnapshot } from "../detect/detector.js";
import { CharterError } from "../errors.js";
import { type AlertChange, type AlertFilter, type AlertStatus, type AlertStore, type AlertSuppression, allowedChange, type EscalationChannel, escalationKey, type PendingEscalation, type StoredAlert, suppressedReason } from "./alert-store.js";
import { alertChange, type AlertRow, type ChangeRow, CHANNEL_COLUMN, ESCALATABLE, ID_PREFIX, statusConflict, storedAlert, storedSuppression, type SuppressionRow } from "./sqlite-alert-store.js";

/**
 * Alerts in the trail's PostgreSQL schema, shared by every replica: an alert two replicas raise
 * is one row (its id is the primary key), and the detector state is the furthest one saved. See
 * alert-store.ts for the contract and sqlite-alert-store.ts for the tables.
 */
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS alerts (n BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, rule TEXT NOT NULL, agent TEXT, fired_ms BIGINT NOT NULL, recorded_ms BIGINT NOT NULL,
    status TEXT NOT NULL, changed_by TEXT, changed_ms BIGINT, reason TEXT, escalation_key TEXT NOT NULL, issue_ms BIGINT, webhook_ms BIGINT, body TEXT NOT NULL)`,
  "CREATE INDEX IF NOT EXISTS alerts_fired ON alerts (fired_ms)",
  "CREATE INDEX IF NOT EXISTS alerts_issue_pending ON alerts (escalation_key) WHERE issue_ms IS NULL",
  "CREATE INDEX IF NOT EXISTS alerts_webhook_pending ON alerts (escalation_key) WHERE webhook_ms IS NULL",
  "CREATE TABLE IF NOT EXISTS alert_changes (n BIGSERIAL PRIMARY KEY, alert_id TEXT NOT NULL, from_status TEXT NOT NULL, to_status TEXT NOT NULL, by TEXT NOT NULL, at_ms BIGINT NOT NULL, reason TEXT)",
  "CREATE INDEX IF NOT EXISTS alert_changes_alert ON alert_changes (alert_id)",
  "CREATE TABLE IF NOT EXISTS alert_issues (escalation_key TEXT PRIMARY KEY, issue BIGINT NOT NULL, opened_ms BIGINT NOT NULL)",
  "CREATE TABLE IF NOT EXISTS alert_suppressions (escalation_key TEXT PRIMARY KEY, alert_id TEXT NOT NULL, by TEXT NOT NULL, reason TEXT NOT NULL, at_ms BIGINT NOT NULL, until_ms BIGINT NOT NULL)",
  "CREATE TABLE IF NOT EXISTS detector_state (name TEXT PRIMARY KEY, position BIGINT NOT NULL, saved_ms BIGINT NOT NULL, state TEXT NOT NULL)",
];

export async function openPostgresAlerts(connectionString: string, schema: string): Promise<AlertStore> {
  const client = new pg.Client({ connectionString });
  client.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
  try {
    await client.connect();
  } catch (cause) {
    throw new CharterError("IO", `cannot connect to the alert database: ${(cause as Error).message}`, { cause, hint: "Check DATABASE_URL, or unset it to use the embedded SQLite store." });
  }
  client.on("error", () => undefined);
  const quoted = client.escapeIdentifier(schema);
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`charter-alerts:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await client.query(`SET search_path TO ${quoted}`);
    for (const sql of SCHEMA) await client.query(sql);
    await client.query("COMMIT");
  } catch (cause) {
    await client.query("ROLLBACK").catch(() => undefined);
    await client.end();
    throw new CharterError("IO", `cannot prepare the alert tables in schema ${schema}: ${(cause as Error).message}`, { cause });
  }
  return new PostgresAlertStore(client);
}

class PostgresAlertStore implements AlertStore {
  readonly #client: pg.Client;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(client: pg.Client) {
    this.#client = client;
  }

  /** One client: transactions must not interleave. */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #tx<T>(work: () => Promise<T>): Promise<T> {
    return this.#serial(async () => {
      await this.#client.query("BEGIN");
      try {
        const result = await work();
        await this.#client.query("COMMIT");
        return result;
      } catch (error) {
        await this.#client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
    });
  }

  async #rows<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.#client.query<R>(sql, params)).rows;
  }

  record(alerts: readonly Alert[], snapshot: DetectorSnapshot | null, nowMs: number): Promise<Alert[]> {
    return this.#tx(async () => {
      const fresh: Alert[] = [];
      for (const a of alerts) {
        const fired = Date.parse(a.firedAt);
        const key = escalationKey(a);
        const result = await this.#client.query(
          "INSERT INTO alerts (id, rule, agent, fired_ms, recorded_ms, status, escalation_key, body) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7) ON CONFLICT (id) DO NOTHING",
          [a.id, a.rule.id, a.agent, Number.isFinite(fired) ? fired : nowMs, nowMs, key, JSON.stringify(a)],
        );
        if ((result.rowCount ?? 0) === 0) continue;
        // Judged by the time of recording, not the event's own clock, which a source may set.
        const held = (await this.#rows<SuppressionRow>("SELECT * FROM alert_suppressions WHERE escalation_key = $1 AND until_ms > $2", [key, nowMs]))[0];
        if (held !== undefined) {
          const why = suppressedReason(storedSuppression(held));
          await this.#client.query("UPDATE alerts SET status = 'suppressed', changed_by = $1, changed_ms = $2, reason = $3 WHERE id = $4", [held.by, nowMs, why, a.id]);
          await this.#client.query("INSERT INTO alert_changes (alert_id, from_status, to_status, by, at_ms, reason) VALUES ($1, 'open', 'suppressed', $2, $3, $4)", [a.id, held.by, nowMs, why]);
        }
        fresh.push(a);
      }
      if (snapshot !== null) {
        await this.#client.query(
          `INSERT INTO detector_state (name, position, saved_ms, state) VALUES ('live', $1, $2, $3)
           ON CONFLICT (name) DO UPDATE SET position = excluded.position, saved_ms = excluded.saved_ms, state = excluded.state WHERE excluded.position >= detector_state.position`,
          [snapshot.position, nowMs, JSON.stringify(snapshot)],
        );
      }
      return fresh;
    });
  }

  snapshot(): Promise<DetectorSnapshot | null> {
    return this.#serial(async () => {
      const row = (await this.#rows<{ state: string }>("SELECT state FROM detector_state WHERE name = 'live'"))[0];
      return row === undefined ? null : (JSON.parse(row.state) as DetectorSnapshot);
    });
  }

  list(filter: AlertFilter): Promise<StoredAlert[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown): void => {
      params.push(value);
      where.push(`${sql} $${String(params.length)}`);
    };
    if (filter.agent !== undefined) add("agent =", filter.agent);
    if (filter.rule !== undefined) add("rule =", filter.rule);
    if (filter.status !== undefined) add("status =", filter.status);
    if (filter.sinceMs !== undefined) add("fired_ms >=", filter.sinceMs);
    if (filter.beforeN !== undefined) add("n <", filter.beforeN);
    params.push(filter.limit);
    return this.#serial(async () =>
      (await this.#rows<AlertRow>(`SELECT * FROM alerts ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY n DESC LIMIT $${String(params.length)}`, params)).map(storedAlert),
    );
  }

  get(idOrPrefix: string): Promise<StoredAlert | null> {
    if (!ID_PREFIX.test(idOrPrefix)) return Promise.resolve(null);
    return this.#serial(async () => {
      const rows = await this.#rows<AlertRow>("SELECT * FROM alerts WHERE id >= $1 AND id < $2 ORDER BY id LIMIT 2", [idOrPrefix, `${idOrPrefix}g`]);
      if (rows.length > 1) throw new CharterError("USAGE", `more than one alert id starts with ${idOrPrefix}`, { hint: "Give more characters of the id." });
      return rows[0] === undefined ? null : storedAlert(rows[0]);
    });
  }

  history(id: string): Promise<AlertChange[]> {
    return this.#serial(async () => (await this.#rows<ChangeRow>("SELECT * FROM alert_changes WHERE alert_id = $1 ORDER BY n", [id])).map(alertChange));
  }

  recentChanges(beforeN: number | null, limit: number): Promise<(AlertChange & { readonly n: number })[]> {
    return this.#serial(async () =>
      (await this.#rows<ChangeRow & { n: string }>("SELECT * FROM alert_changes WHERE n < $1 ORDER BY n DESC LIMIT $2", [beforeN ?? Number.MAX_SAFE_INTEGER, limit])).map((r) => ({ n: Number(r.n), ...alertChange(r) })),
    );
  }

  changeStatus(id: string, to: Exclude<AlertStatus, "open" | "suppressed">, by: string, reason: string | null, nowMs: number): Promise<StoredAlert> {
    return this.#tx(async () => {
      const row = (await this.#rows<AlertRow>("SELECT * FROM alerts WHERE id = $1 FOR UPDATE", [id]))[0];
      if (row === undefined) throw new CharterError("NOT_FOUND", `no alert ${id}`, { hint: "List alerts with charter alerts list." });
      const current = storedAlert(row);
      if (!allowedChange(current.status, to)) throw statusConflict(id, current.status, to, current.changedBy, current.changedAt);
      await this.#client.query("UPDATE alerts SET status = $1, changed_by = $2, changed_ms = $3, reason = $4 WHERE id = $5", [to, by, nowMs, reason, id]);
      await this.#client.query("INSERT INTO alert_changes (alert_id, from_status, to_status, by, at_ms, reason) VALUES ($1, $2, $3, $4, $5, $6)", [id, current.status, to, by, nowMs, reason]);
      return storedAlert((await this.#rows<AlertRow>("SELECT * FROM alerts WHERE id = $1", [id]))[0] as AlertRow);
    });
  }

  suppress(id: string, by: string, reason: string, untilMs: number, nowMs: number): Promise<StoredAlert> {
    return this.#tx(async () => {
      const row = (await this.#rows<AlertRow>("SELECT * FROM alerts WHERE id = $1 FOR UPDATE", [id]))[0];
      if (row === undefined) throw new CharterError("NOT_FOUND", `no alert ${id}`, { hint: "List alerts with charter alerts list." });
      const current = storedAlert(row);
      if (!allowedChange(current.status, "suppressed")) throw statusConflict(id, current.status, "suppressed", current.changedBy, current.changedAt);
      await this.#client.query("UPDATE alerts SET status = 'suppressed', changed_by = $1, changed_ms = $2, reason = $3 WHERE id = $4", [by, nowMs, reason, id]);
      await this.#client.query("INSERT INTO alert_changes (alert_id, from_status, to_status, by, at_ms, reason) VALUES ($1, $2, 'suppressed', $3, $4, $5)", [id, current.status, by, nowMs, `${reason} (until ${new Date(untilMs).toISOString()})`]);
      await this.#client.query(
        `INSERT INTO alert_suppressions (escalation_key, alert_id, by, reason, at_ms, until_ms) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (escalation_key) DO UPDATE SET alert_id = excluded.alert_id, by = excluded.by, reason = excluded.reason, at_ms = excluded.at_ms, until_ms = excluded.until_ms`,
        [row.escalation_key, id, by, reason, nowMs, untilMs],
      );
      return storedAlert((await this.#rows<AlertRow>("SELECT * FROM alerts WHERE id = $1", [id]))[0] as AlertRow);
    });
  }

  suppressions(nowMs: number): Promise<AlertSuppression[]> {
    return this.#serial(async () => (await this.#rows<SuppressionRow>("SELECT * FROM alert_suppressions WHERE until_ms > $1 ORDER BY until_ms, escalation_key", [nowMs])).map(storedSuppression));
  }

  pending(channel: EscalationChannel): Promise<PendingEscalation[]> {
    return this.#serial(async () =>
      (await this.#rows<{ key: string; id: string }>(`SELECT DISTINCT ON (escalation_key) escalation_key AS key, id FROM alerts WHERE ${CHANNEL_COLUMN[channel]} IS NULL AND ${ESCALATABLE} ORDER BY escalation_key, n DESC`)).map((r) => ({
        key: r.key,
        newest: r.id,
      })),
    );
  }

  undelivered(channel: EscalationChannel, key: string, limit: number): Promise<StoredAlert[]> {
    return this.#serial(async () => (await this.#rows<AlertRow>(`SELECT * FROM alerts WHERE escalation_key = $1 AND ${CHANNEL_COLUMN[channel]} IS NULL AND ${ESCALATABLE} ORDER BY n LIMIT $2`, [key, limit])).map(storedAlert));
  }

  markDelivered(channel: EscalationChannel, ids: readonly string[], nowMs: number): Promise<void> {
    return this.#serial(async () => {
      await this.#client.query(`UPDATE alerts SET ${CHANNEL_COLUMN[channel]} = $1 WHERE id = ANY($2::text[])`, [nowMs, [...ids]]);
    });
  }

  issueOf(key: string): Promise<number | null> {
    return this.#serial(async () => {
      const row = (await this.#rows<{ issue: number }>("SELECT issue FROM alert_issues WHERE escalation_key = $1", [key]))[0];
      return row === undefined ? null : Number(row.issue);
    });
  }

  setIssue(key: string, issue: number, nowMs: number): Promise<void> {
    return this.#serial(async () => {
      await this.#client.query("INSERT INTO alert_issues (escalation_key, issue, opened_ms) VALUES ($1, $2, $3) ON CONFLICT (escalation_key) DO UPDATE SET issue = excluded.issue", [key, issue, nowMs]);
    });
  }

  async close(): Promise<void> {
    await this.#queue;
    await this.#client.end();
  }
}
