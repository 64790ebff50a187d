import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manifestCatalog } from "../../src/detect/manifests-in-force.js";
import { checkManifest } from "../../src/manifest/check-manifest.js";
import { DEFAULT_LIMITS } from "../../src/manifest/limits.js";
import type { AgentManifest } from "../../src/schema-types/agent-manifest.generated.js";
import { evaluateAlert, logAlerts, logHistory, verifyAlertLog } from "../../src/sources/alert-log.js";
import type { AlertStore } from "../../src/sources/alert-store.js";
import { LiveDetection } from "../../src/sources/live-detection.js";
import { openPostgresAlerts } from "../../src/sources/postgres-alert-store.js";
import { openPostgresTrail } from "../../src/sources/postgres-trail-store.js";
import { openSqliteAlerts } from "../../src/sources/sqlite-alert-store.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import type { TrailStore } from "../../src/sources/trail-store.js";
import { loggedAlertRecords, outOfScopeReads } from "../helpers/alert-log.js";
import { type PostgresServer, startPostgres } from "../helpers/postgres.js";

/**
 * Alerts and their evaluations in the trail's tamper-evident log, and the check that compares
 * the alert store with it. The attacker has the database: deletes an alert, edits a resolution.
 */
const TRIAGE = checkManifest("agents/support-triage/agent.yaml", readFileSync("agents/support-triage/agent.yaml"), DEFAULT_LIMITS).manifest as AgentManifest;
const manifests = manifestCatalog([{ agent: "support-triage", seq: 7, manifest: TRIAGE }]);
const T0 = Date.parse("2026-03-04T10:00:00.000Z");

let server: PostgresServer;
const dir = mkdtempSync(join(tmpdir(), "charter-alert-log-"));
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(() => {
  server.stop();
  rmSync(dir, { recursive: true, force: true });
});

for (const engine of ["sqlite", "postgres"] as const) {
  describe(`the log of alerts in the ${engine} trail`, () => {
    const schema = `alert_log_${engine}`;
    const path = join(dir, `${engine}.sqlite`);
    let trail: TrailStore;
    let alerts: AlertStore;
    /** The attacker's own connection to the database. */
    const sql = async (text: string, params: unknown[]): Promise<void> => {
      if (engine === "sqlite") {
        const db = new Database(path);
        try {
          db.prepare(text.replaceAll(/\$\d+/g, "?")).run(...params);
        } finally {
          db.close();
        }
        return;
      }
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        await client.query(`SET search_path TO ${client.escapeIdentifier(schema)}`);
        await client.query(text, params);
      } finally {
        await client.end();
      }
    };

    beforeAll(async () => {
      trail = engine === "sqlite" ? openSqliteTrail(path) : await openPostgresTrail(server.url, schema);
      alerts = engine === "sqlite" ? openSqliteAlerts(path) : await openPostgresAlerts(server.url, schema);
    });
    afterAll(async () => {
      await alerts.close();
      await trail.close();
    });

    it("records each alert and each evaluation in the chain; the store matches the log, and detection does not judge its own records", async () => {
      const live = new LiveDetection(trail, alerts, manifests);
      await live.begin();
      await live.start();
      const { stored } = await trail.append(outOfScopeReads(2, T0, "first"));
      await live.consume(stored);
      const raised = await alerts.list({ limit: 10 });
      expect(raised.map((a) => a.alert.rule.id)).toEqual(["charter/out-of-scope", "charter/out-of-scope"]);
      const [newer, older] = raised;
      if (newer === undefined || older === undefined) throw new Error("two alerts expected");
      await evaluateAlert(alerts, trail, { id: older.alert.id, to: "acknowledged", by: "dana-support", reason: null, untilMs: null }, T0 + 3 * 86_400_000);
      await evaluateAlert(alerts, trail, { id: older.alert.id, to: "resolved", by: "dana-support", reason: "Quarterly refund audit, approved in TICKET-88", untilMs: null }, T0 + 3 * 86_400_000 + 60_000);
      await evaluateAlert(alerts, trail, { id: newer.alert.id, to: "suppressed", by: "dana-support", reason: "Audit continues this week", untilMs: T0 + 10 * 86_400_000 }, T0 + 3 * 86_400_000 + 120_000);

      const records = await loggedAlertRecords(trail);
      expect(records.map((e) => e.action).sort()).toEqual(["alert-acknowledged", "alert-raised", "alert-raised", "alert-resolved", "alert-suppressed"]);
      expect(await verifyAlertLog(records, alerts)).toEqual([]);

      // More events after the log's records: detection catches up over them and raises nothing about Charter's own principal.
      const later = await trail.append(outOfScopeReads(2, T0, "second").slice(0, 1).map((e) => ({ ...e, resource: "crm.public.customers", permission: "postgres:select:crm.public.customers@crm-prod", inScope: true })));
      expect(later.stored).toHaveLength(1);
      await live.consume(later.stored);
      await live.close();
      expect((await alerts.list({ limit: 10 })).length).toBe(2);

      // A restart replays and logs again what was logged (the alerts, the evaluations): the trail keeps each record once.
      await logAlerts(trail, raised.map((s) => s.alert));
      for (const s of raised) await logHistory(alerts, trail, s.alert.id);
      expect((await loggedAlertRecords(trail)).length).toBe(5);
    });

    it("fails, naming the alert, when someone with the database rewrites a resolution reason", async () => {
      const [, older] = await alerts.list({ limit: 10 });
      const id = older?.alert.id ?? "";
      await sql("UPDATE alert_changes SET reason = $1 WHERE alert_id = $2 AND to_status = 'resolved'", ["False positive", id]);
      await sql("UPDATE alerts SET reason = $1 WHERE id = $2", ["False positive", id]);
      const problems = await verifyAlertLog(await loggedAlertRecords(trail), alerts);
      expect(problems.map((p) => p.code)).toEqual(["evaluation-altered"]);
      expect(problems[0]?.message).toContain(`the resolved evaluation of alert ${id} differs from its record`);
    });

    it("fails, naming the alert, when its row is edited behind its history's back", async () => {
      const [newer] = await alerts.list({ limit: 10 });
      const id = newer?.alert.id ?? "";
      await sql("UPDATE alerts SET status = 'resolved', reason = $1 WHERE id = $2", ["Nothing to see", id]);
      const problems = await verifyAlertLog(await loggedAlertRecords(trail), alerts);
      // (The other alert's rewritten resolution from the test before is still reported beside it.)
      expect(problems.filter((p) => p.code === "evaluation-altered" && p.message.includes(id)).map((p) => p.message)).toEqual([expect.stringMatching(`^alert ${id} shows resolved`) as string]);
    });

    it("fails, naming the alert, when an alert and its history are deleted", async () => {
      const [, older] = await alerts.list({ limit: 10 });
      const id = older?.alert.id ?? "";
      await sql("DELETE FROM alert_changes WHERE alert_id = $1", [id]);
      await sql("DELETE FROM alerts WHERE id = $1", [id]);
      const problems = await verifyAlertLog(await loggedAlertRecords(trail), alerts);
      expect(problems.filter((p) => p.code === "alert-missing").map((p) => p.message)).toEqual([expect.stringMatching(`^alert ${id} \\(rule charter/out-of-scope`) as string]);
      expect(problems.filter((p) => p.code === "evaluation-missing")).toHaveLength(2);
    });
  });
}
