import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Alert } from "../../src/detect/alert.js";
import { manifestCatalog } from "../../src/detect/manifests-in-force.js";
import type { AgentManifest } from "../../src/schema-types/agent-manifest.generated.js";
import { checkManifest } from "../../src/manifest/check-manifest.js";
import { DEFAULT_LIMITS } from "../../src/manifest/limits.js";
import type { AlertStore } from "../../src/sources/alert-store.js";
import { LiveDetection } from "../../src/sources/live-detection.js";
import { openPostgresAlerts } from "../../src/sources/postgres-alert-store.js";
import { openPostgresTrail } from "../../src/sources/postgres-trail-store.js";
import { openSqliteAlerts } from "../../src/sources/sqlite-alert-store.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import type { TrailStore } from "../../src/sources/trail-store.js";
import type { DecidedEvent } from "../../src/trail/decide.js";
import { series } from "../detect/trail-events.js";
import { type PostgresServer, startPostgres } from "../helpers/postgres.js";

/**
 * Live detection over real stores: the trail and the alert store beside it, in SQLite and in a
 * PostgreSQL server shared by two replicas. What a restart or a second replica must not do:
 * forget a window, raise an alert twice, or lose the evaluation of one.
 */
const TRIAGE = checkManifest("agents/support-triage/agent.yaml", readFileSync("agents/support-triage/agent.yaml"), DEFAULT_LIMITS).manifest as AgentManifest;
const manifests = manifestCatalog([{ agent: "support-triage", seq: 7, manifest: TRIAGE }]);
const T0 = "2026-03-04T10:00:00.000Z";

function decided(count: number, start: string, stepMs: number, overrides: Parameters<typeof series>[3] = () => ({})): DecidedEvent[] {
  return series(count, start, stepMs, overrides).map(({ seq: _seq, hash: _hash, ...rest }) => ({ ...rest, id: `${rest.id}-${start}-${String(stepMs)}` }));
}

/** An alert as the detector would raise it for support-triage, its id made from `name`. */
function alertOf(name: string, rule: string): Alert {
  return {
    id: createHash("sha256").update(name).digest("hex"),
    rule: { id: rule, kind: "manifest", title: rule, file: null },
    agent: "support-triage",
    principal: "support_triage",
    owners: ["@dana-support"],
    manifest: { seq: 7, commit: null },
    severity: "high",
    dataClasses: ["customer-pii"],
    events: [{ id: `${name}-event`, seq: 1, traceId: null, observedAt: T0 }],
    eventCount: 1,
    window: { start: T0, end: T0 },
    firedAt: T0,
    why: { text: rule, children: [] },
  };
}

let pg: PostgresServer;
const dirs: string[] = [];
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(() => {
  pg.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Stores {
  trail: TrailStore;
  alerts: AlertStore;
  close(): Promise<void>;
}

function sqlite(path: string): Promise<Stores> {
  const trail = openSqliteTrail(path);
  const alerts = openSqliteAlerts(path);
  return Promise.resolve({ trail, alerts, close: async () => { await alerts.close(); await trail.close(); } });
}

let schemas = 0;
async function postgres(schema: string): Promise<Stores> {
  const trail = await openPostgresTrail(pg.url, schema);
  const alerts = await openPostgresAlerts(pg.url, schema);
  return { trail, alerts, close: async () => { await alerts.close(); await trail.close(); } };
}

/** Appends events and hands what was stored to the detector, as the ingestor's onDurable does. */
async function ingest(stores: Stores, live: LiveDetection | null, events: readonly DecidedEvent[]): Promise<void> {
  const { stored } = await stores.trail.append(events);
  if (live !== null) await live.consume(stored);
}

for (const engine of ["sqlite", "postgres"] as const) {
  describe(`live detection with the ${engine} stores`, () => {
    const open = (): (() => Promise<Stores>) => {
      if (engine === "postgres") {
        const schema = `live_${String(schemas++)}`;
        return () => postgres(schema);
      }
      const dir = mkdtempSync(join(tmpdir(), "charter-live-"));
      dirs.push(dir);
      return () => sqlite(join(dir, "trail.sqlite"));
    };

    it("keeps a rate window across a crash: 100 requests before, 30 after, within one minute (limit 120)", async () => {
      const reopen = open();
      let stores = await reopen();
      let raised: Alert[] = [];
      let live = new LiveDetection(stores.trail, stores.alerts, manifests, { onAlerts: (a) => (raised = [...raised, ...a]), snapshotEveryMs: 3_600_000 });
      await live.begin();
      await live.start();
      await ingest(stores, live, decided(100, T0, 100));
      // Crash: no close(), so the state saved is the one from start (no alert since); the stores are just dropped.
      await stores.close();
      stores = await reopen();
      live = new LiveDetection(stores.trail, stores.alerts, manifests, { onAlerts: (a) => (raised = [...raised, ...a]) });
      await live.begin();
      await live.start();
      expect(live.position).toBe(100);
      await ingest(stores, live, decided(30, "2026-03-04T10:00:20.000Z", 100));
      expect(raised.map((a) => a.rule.id)).toEqual(["charter/rate-limit"]);
      expect(raised[0]?.eventCount).toBe(121);
      await live.close();
      await stores.close();
    });

    it("records and escalates an alert once when a second detector (a replica, a restart from an older state) raises it again", async () => {
      const reopen = open();
      const stores = await reopen();
      const other = await reopen();
      let raised: Alert[] = [];
      const first = new LiveDetection(stores.trail, stores.alerts, manifests, { onAlerts: (a) => (raised = [...raised, ...a]) });
      const second = new LiveDetection(other.trail, other.alerts, manifests, { onAlerts: (a) => (raised = [...raised, ...a]) });
      await first.begin();
      await first.start();
      await second.start();
      const { stored } = await stores.trail.append(decided(1, T0, 1, () => ({ inScope: false, resource: "crm.public.payments", permission: "postgres:select:crm.public.payments@crm-prod" })));
      await first.consume(stored);
      await second.consume(stored);
      // Both computed the same id; the store knew it the second time: not new, not escalated again.
      expect(raised.map((a) => a.rule.id)).toEqual(["charter/out-of-scope"]);
      expect(await stores.alerts.list({ limit: 10 })).toHaveLength(1);
      expect((await stores.alerts.pending("issue")).length).toBe(1);
      await first.close();
      await second.close();
      await other.close();
      await stores.close();
    });

    it("suppression: the agent and rule stop escalating until it ends, every later alert still recorded and naming it", async () => {
      const stores = await open()();
      const now = Date.parse("2026-03-05T09:00:00.000Z");
      const hour = 3_600_000;
      const [first, second, otherRule, afterwards] = [alertOf("a1", "charter/out-of-scope"), alertOf("a2", "charter/out-of-scope"), alertOf("a3", "charter/outside-hours"), alertOf("a4", "charter/out-of-scope")];
      await stores.alerts.record([first], null, now);
      await expect(stores.alerts.suppress(first.id, "dana-support", "nightly export job, ticket OPS-12", now + 2 * hour, now)).resolves.toMatchObject({ status: "suppressed", changedBy: "dana-support" });
      // An evaluation is final: no second suppression, no resolving it afterwards.
      await expect(stores.alerts.suppress(first.id, "mallory", "again", now + 3 * hour, now)).rejects.toMatchObject({ code: "CONFLICT" });
      await expect(stores.alerts.changeStatus(first.id, "resolved", "mallory", "over it", now)).rejects.toMatchObject({ code: "CONFLICT" });

      // While it holds: the same key is recorded as suppressed and never escalated; another rule is.
      expect((await stores.alerts.record([second, otherRule], null, now + hour)).map((a) => a.id)).toEqual([second.id, otherRule.id]);
      const stored = await stores.alerts.get(second.id);
      expect(stored?.status).toBe("suppressed");
      expect(stored?.changedBy).toBe("dana-support");
      expect(stored?.reason).toContain("nightly export job, ticket OPS-12");
      expect(stored?.reason).toContain(first.id.slice(0, 12));
      expect((await stores.alerts.history(second.id)).map((h) => [h.from, h.to, h.by])).toEqual([["open", "suppressed", "dana-support"]]);
      for (const channel of ["issue", "webhook"] as const) {
        expect((await stores.alerts.pending(channel)).map((p) => p.newest)).toEqual([otherRule.id]);
        expect(await stores.alerts.undelivered(channel, stored?.escalationKey ?? "", 10)).toEqual([]);
      }
      expect((await stores.alerts.suppressions(now + hour)).map((x) => [x.alertId, x.by, x.until])).toEqual([[first.id, "dana-support", "2026-03-05T11:00:00.000Z"]]);
      expect(await stores.alerts.list({ status: "suppressed", limit: 10 })).toHaveLength(2);

      // Once it has ended, the rule pages again.
      await stores.alerts.record([afterwards], null, now + 2 * hour);
      expect((await stores.alerts.get(afterwards.id))?.status).toBe("open");
      expect(await stores.alerts.suppressions(now + 2 * hour)).toEqual([]);
      expect((await stores.alerts.pending("issue")).map((p) => p.newest).sort()).toEqual([afterwards.id, otherRule.id].sort());
      await stores.close();
    });

    it("detects events stored by another replica (a gap in what it was handed) from the store", async () => {
      const reopen = open();
      const stores = await reopen();
      let raised: Alert[] = [];
      const live = new LiveDetection(stores.trail, stores.alerts, manifests, { onAlerts: (a) => (raised = [...raised, ...a]) });
      await live.begin();
      await live.start();
      // Stored without telling this detector (another replica's ingest), then one event it is handed.
      await ingest(stores, null, decided(1, T0, 1, () => ({ withinHours: false })));
      await ingest(stores, live, decided(1, "2026-03-04T10:05:00.000Z", 1));
      expect(raised.map((a) => a.rule.id)).toEqual(["charter/outside-hours"]);
      expect(live.position).toBe(2);
      await live.close();
      await stores.close();
    });
  });
}

describe("two replicas sharing the PostgreSQL alert store", () => {
  it("record an alert both raise once, and its status changes move forwards only", async () => {
    const a = await postgres("replicas");
    const b = await postgres("replicas");
    const fresh: Alert[][] = [[], []];
    const liveA = new LiveDetection(a.trail, a.alerts, manifests, { onAlerts: (x) => fresh[0]?.push(...x) });
    const liveB = new LiveDetection(b.trail, b.alerts, manifests, { onAlerts: (x) => fresh[1]?.push(...x) });
    await liveA.begin();
    await liveB.begin();
    await liveA.start();
    await liveB.start();
    // Replica A ingests the event; both run over it (B finds it in the shared trail).
    const { stored } = await a.trail.append(decided(1, T0, 1, () => ({ inScope: false, resource: "crm.public.payments", permission: "postgres:select:crm.public.payments@crm-prod" })));
    await Promise.all([liveA.consume(stored), liveB.consume(stored)]);
    expect(fresh.flat().map((x) => x.rule.id)).toEqual(["charter/out-of-scope"]);
    const [only] = await b.alerts.list({ limit: 10 });
    expect(only?.status).toBe("open");
    const id = only?.alert.id ?? "";
    await a.alerts.changeStatus(id, "acknowledged", "dana-support", null, Date.now());
    await expect(b.alerts.changeStatus(id, "acknowledged", "mallory", null, Date.now())).rejects.toMatchObject({ code: "CONFLICT" });
    await b.alerts.changeStatus(id, "resolved", "dana-support", "grant removed", Date.now());
    await expect(a.alerts.changeStatus(id, "acknowledged", "mallory", "reopen by going back", Date.now())).rejects.toMatchObject({ code: "CONFLICT" });
    expect((await a.alerts.history(id)).map((h) => [h.to, h.by])).toEqual([
      ["acknowledged", "dana-support"],
      ["resolved", "dana-support"],
    ]);
    await liveA.close();
    await liveB.close();
    await a.close();
    await b.close();
  }, 60_000);
});
