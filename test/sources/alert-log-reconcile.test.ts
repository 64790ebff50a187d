import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manifestCatalog } from "../../src/detect/manifests-in-force.js";
import { checkManifest } from "../../src/manifest/check-manifest.js";
import { DEFAULT_LIMITS } from "../../src/manifest/limits.js";
import type { AgentManifest } from "../../src/schema-types/agent-manifest.generated.js";
import { evaluateAlert, reconcileAlertLog, verifyAlertLog } from "../../src/sources/alert-log.js";
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
 * The crash window of an evaluation: the alert store commits the new status and its history
 * entry, then the process dies before the trail's log has the record. The state is staged as
 * such a crash leaves it (the store's own transaction, no log append after it), then the next
 * process reconciles: live detection when the app starts, or the next `charter alerts`
 * evaluation.
 */
const TRIAGE = checkManifest("agents/support-triage/agent.yaml", readFileSync("agents/support-triage/agent.yaml"), DEFAULT_LIMITS).manifest as AgentManifest;
const manifests = manifestCatalog([{ agent: "support-triage", seq: 7, manifest: TRIAGE }]);
const T0 = Date.parse("2026-03-04T10:00:00.000Z");

let server: PostgresServer;
const dir = mkdtempSync(join(tmpdir(), "charter-alert-reconcile-"));
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(() => {
  server.stop();
  rmSync(dir, { recursive: true, force: true });
});

for (const engine of ["sqlite", "postgres"] as const) {
  describe(`reconciling the alert log after a crash (${engine})`, () => {
    const path = join(dir, `${engine}.sqlite`);
    const schema = `alert_reconcile_${engine}`;
    const open = async (): Promise<{ trail: TrailStore; alerts: AlertStore }> =>
      engine === "sqlite" ? { trail: openSqliteTrail(path), alerts: openSqliteAlerts(path) } : { trail: await openPostgresTrail(server.url, schema), alerts: await openPostgresAlerts(server.url, schema) };
    let ids: string[] = [];

    beforeAll(async () => {
      const { trail, alerts } = await open();
      try {
        const live = new LiveDetection(trail, alerts, manifests);
        await live.begin();
        await live.start();
        await live.consume((await trail.append(outOfScopeReads(3, T0, "r"))).stored);
        await live.close();
        ids = (await alerts.list({ limit: 10 })).map((s) => s.alert.id).reverse();
      } finally {
        await alerts.close();
        await trail.close();
      }
    });

    it("logs, when the app starts again, the evaluation a process stored but died before logging", async () => {
      let { trail, alerts } = await open();
      const [first = ""] = ids;
      // The crashed process: the store's transaction committed, the log append never ran.
      await alerts.changeStatus(first, "acknowledged", "dana-support", null, T0 + 600_000);
      expect((await verifyAlertLog(await loggedAlertRecords(trail), alerts)).map((p) => p.code)).toEqual(["evaluation-unlogged"]);
      await alerts.close();
      await trail.close();

      ({ trail, alerts } = await open());
      try {
        const live = new LiveDetection(trail, alerts, manifests);
        await live.start();
        await live.close();
        const records = await loggedAlertRecords(trail);
        expect(records.filter((e) => e.action !== "alert-raised").map((e) => [e.action, e.resource, e.observedAt, e.principal])).toEqual([["alert-acknowledged", first, "2026-03-04T10:10:00.000Z", "dana-support"]]);
        expect(await verifyAlertLog(records, alerts)).toEqual([]);
        // Again: nothing is missing, nothing is logged twice.
        expect(await reconcileAlertLog(alerts, trail)).toBe(0);
        expect(await loggedAlertRecords(trail)).toHaveLength(4);
      } finally {
        await alerts.close();
        await trail.close();
      }
    });

    it("logs a suppression the store committed before the next evaluation from the command line is logged", async () => {
      const { trail, alerts } = await open();
      try {
        const [, second = "", third = ""] = ids;
        await alerts.suppress(second, "dana-support", "Audit continues", T0 + 10 * 86_400_000, T0 + 86_400_000 + 1_800_000);
        expect((await verifyAlertLog(await loggedAlertRecords(trail), alerts)).map((p) => p.code)).toEqual(["evaluation-unlogged"]);
        await evaluateAlert(alerts, trail, { id: third, to: "resolved", by: "erin-ops", reason: "Expected migration read", untilMs: null }, T0 + 2 * 86_400_000 + 3_600_000);
        const records = await loggedAlertRecords(trail);
        // In the store's order: the suppression the crash left behind, then the resolution.
        expect(records.slice(4).map((e) => [e.action, e.resource, e.observedAt])).toEqual([
          ["alert-suppressed", second, "2026-03-05T10:30:00.000Z"],
          ["alert-resolved", third, "2026-03-06T11:00:00.000Z"],
        ]);
        expect(await verifyAlertLog(records, alerts)).toEqual([]);
      } finally {
        await alerts.close();
        await trail.close();
      }
    });
  });
}
