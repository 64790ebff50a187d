import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteTrail, type SqliteTrailStore } from "../../src/sources/sqlite-trail-store.js";
import { TrailIngestor } from "../../src/sources/trail-ingestor.js";
import type { Alert } from "../../src/detect/alert.js";
import { logAlerts } from "../../src/sources/alert-log.js";
import { countActions, offHoursOrAll, pageActions, traceEvents } from "../../src/sources/trail-queries.js";
import { eventFromBytes } from "../../src/trail/event-bytes.js";
import type { TrailEvent } from "../../src/trail/event.js";
import { runCli } from "../cli/run-cli.js";
import { context, sourceEvent, version } from "../trail/trail-fixture.js";

/**
 * The audit questions over a trail of a few thousand events spread over weeks, answered by the
 * indexed queries and checked against a plain scan of every stored event done here.
 */
let dir: string;
let store: SqliteTrailStore;
let all: TrailEvent[];
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "charter-trail-queries-"));
  store = openSqliteTrail(join(dir, "trail.sqlite"));
  const ctx = context([version(), version({ agent: "finance-reconciliation", seq: 4, permissionStrings: ["postgres:select:crm.public.payments@crm-prod"], allowedHours: { timezone: "America/New_York", days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "17:00" } })]);
  const ingestor = new TrailIngestor(store, () => ctx);
  const start = Date.parse("2026-02-01T00:00:00Z");
  const principals = ["charter_agent_support_triage", "charter_agent_finance_reconciliation", "dba_bob"];
  const tables = ["customers", "payments", "orders", "audit_log\"; DROP TABLE x; --"];
  const batch = [];
  for (let i = 0; i < 3000; i++) {
    batch.push(
      sourceEvent({
        sourceKey: `k${i}`,
        observedAt: new Date(start + i * 997_003).toISOString(),
        principal: principals[i % 3] ?? "",
        resource: `crm.public.${tables[i % 4] ?? ""}`,
        outcome: i % 17 === 0 ? "denied" : "allowed",
        traceId: i % 500 === 0 ? TRACE : null,
      }),
    );
  }
  await ingestor.submit(batch);
  all = (await store.readChain(1, 10_000)).map((l) => eventFromBytes(l.bytes, l.hash.toString("hex")));
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("charter audit actions over the trail", () => {
  it("answers the off-hours question on customer data from the rollup, exactly as a scan of every event", async () => {
    const since = Date.parse("2026-02-03T10:17:00Z");
    const until = Date.parse("2026-03-01T05:41:00Z");
    const scan = all.filter((e) => e.dataClasses.includes("customer-pii") && e.withinHours === false && Date.parse(e.observedAt) >= since && Date.parse(e.observedAt) < until);
    const answer = await offHoursOrAll(store, { dataClass: "customer-pii", outsideHours: true, since, until });
    expect(scan.length).toBeGreaterThan(100);
    expect(answer.total).toBe(scan.length);
    const byAgent = new Map<string | null, number>();
    for (const e of scan) byAgent.set(e.agent, (byAgent.get(e.agent) ?? 0) + 1);
    expect(new Map(answer.byAgent.map((a) => [a.agent, a.events]))).toEqual(byAgent);
  });

  it("fills the daily rollup of a trail an earlier release created (hourly rollup only) when it is opened", async () => {
    const old = join(dir, "before-daily.sqlite");
    const sql = new Database(join(dir, "trail.sqlite"));
    try {
      sql.exec(`VACUUM INTO '${old}'`);
    } finally {
      sql.close();
    }
    const copy = new Database(old);
    try {
      // What an earlier release left: no daily table, no marker.
      copy.exec("DROP TABLE daily; DELETE FROM meta WHERE key = 'rollup:daily';");
    } finally {
      copy.close();
    }
    const since = Date.parse("2026-02-01T00:00:00Z");
    const until = Date.parse("2026-03-15T00:00:00Z");
    const scan = all.filter((e) => e.dataClasses.includes("customer-pii") && e.withinHours === false && Date.parse(e.observedAt) >= since && Date.parse(e.observedAt) < until);
    const migrated = openSqliteTrail(old);
    try {
      expect((await migrated.select("SELECT count(*) AS n FROM daily"))[0]?.["n"]).toBeGreaterThan(0);
      expect((await offHoursOrAll(migrated, { dataClass: "customer-pii", outsideHours: true, since, until })).total).toBe(scan.length);
    } finally {
      await migrated.close();
    }
  });

  it("pages through every matching event in observed order with keyset cursors, and counts the population", async () => {
    const filter = { agent: "support-triage", outcome: "denied" as const };
    const expected = all.filter((e) => e.agent === "support-triage" && e.outcome === "denied").map((e) => e.seq);
    const seen: number[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await pageActions(store, filter, { limit: 7, ...(after === undefined ? {} : { after }) });
      seen.push(...page.rows.map((e) => e.seq));
      if (page.next === null) break;
      after = page.next;
    }
    expect(seen).toEqual(expected);
    expect(await countActions(store, filter)).toBe(expected.length);
  });

  it("matches resources by vocabulary pattern, out-of-scope and unattributed events, names with SQL in them kept verbatim", async () => {
    const payments = await countActions(store, { resource: "postgres:crm.public.pay*@crm-prod" });
    expect(payments).toBe(all.filter((e) => e.resource === "crm.public.payments").length);
    // A LIKE wildcard in the pattern is a literal, not a wildcard.
    expect(await countActions(store, { resource: "postgres:crm.public.pa%" })).toBe(0);
    expect(await countActions(store, { outOfScope: true })).toBe(all.filter((e) => e.inScope === false).length);
    expect(await countActions(store, { unattributed: true })).toBe(all.filter((e) => e.agent === null).length);
    const odd = await pageActions(store, { resource: 'postgres:crm.public.audit_log"; DROP TABLE x; --@crm-prod' }, { limit: 1 });
    expect(odd.rows[0]?.flags).toContain("resource-unmapped");
  });

  it("does not count the alert log's own records among the unattributed identities, and lists them for --source", async () => {
    const own = openSqliteTrail(join(dir, "alerts-too.sqlite"));
    try {
      const ctx = context([version()]);
      await new TrailIngestor(own, () => ctx).submit([
        sourceEvent({ sourceKey: "a", observedAt: "2026-03-02T10:00:00Z", principal: "dba_bob" }),
        sourceEvent({ sourceKey: "b", observedAt: "2026-03-02T10:01:00Z", principal: "dba_bob" }),
      ]);
      const alert: Alert = {
        id: "a".repeat(64),
        rule: { id: "charter/unknown-identity", kind: "manifest", title: "An identity no manifest owns", file: null },
        agent: null,
        principal: "dba_bob",
        owners: [],
        manifest: { seq: null, commit: null },
        severity: "high",
        dataClasses: ["customer-pii"],
        events: [],
        eventCount: 2,
        window: { start: "2026-03-02T10:00:00Z", end: "2026-03-02T10:01:00Z" },
        firedAt: "2026-03-02T10:01:00Z",
        why: { text: "dba_bob is owned by no manifest", children: [] },
      };
      await logAlerts(own, [alert]);
      expect(await countActions(own, {})).toBe(3);
      expect(await countActions(own, { unattributed: true })).toBe(2);
      const page = await pageActions(own, { unattributed: true }, { limit: 10 });
      expect(page.rows.map((e) => e.principal)).toEqual(["dba_bob", "dba_bob"]);
      const logged = await pageActions(own, { source: "charter-alerts" }, { limit: 10 });
      expect(logged.rows.map((e) => e.action)).toEqual(["alert-raised"]);
    } finally {
      await own.close();
    }
  });

  it("reconstructs a trace in order", async () => {
    const events = await traceEvents(store, TRACE);
    expect(events.map((e) => e.seq)).toEqual(all.filter((e) => e.traceId === TRACE).map((e) => e.seq));
  });

  it("prints the population by agent and the events as CSV with a formula-safe cell", async () => {
    const db = join(dir, "trail.sqlite");
    const byAgent = await runCli(["audit", "actions", "--db", db, "--data-class", "customer-pii", "--outside-hours", "--by-agent", "--format", "json"], dir);
    expect(byAgent.code).toBe(0);
    expect(JSON.parse(byAgent.stdout)).toMatchObject({ total: all.filter((e) => e.dataClasses.includes("customer-pii") && e.withinHours === false).length });
    const csv = await runCli(["audit", "actions", "--db", db, "--unattributed", "--limit", "2", "--format", "csv"], dir);
    expect(csv.stdout.split("\r\n")[0]).toContain("seq,observed_at,agent");
    expect(csv.stderr).toMatch(/^2 of \d+ events; the next page: --after /);
    const trace = await runCli(["audit", "trace", "--db", db, TRACE], dir);
    expect(trace.stdout).toMatch(/^Trace 4bf92f3577b34da6a3ce929d0e0e4736: 6 events/);
  });
});
