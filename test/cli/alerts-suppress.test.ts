import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Alert } from "../../src/detect/alert.js";
import { openSqliteAlerts } from "../../src/sources/sqlite-alert-store.js";
import { runCli } from "./run-cli.js";

/**
 * `charter alerts suppress` as an operator types it, against the alert store the app writes:
 * the suppression must end, must say why, and silences paging without hiding anything.
 */
const dir = mkdtempSync(join(tmpdir(), "charter-suppress-"));
const db = join(dir, "trail.sqlite");
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

function alertOf(name: string, rule: string, agent: string): Alert {
  const at = new Date().toISOString();
  return {
    id: createHash("sha256").update(name).digest("hex"),
    rule: { id: rule, kind: "manifest", title: rule, file: null },
    agent,
    principal: agent.replaceAll("-", "_"),
    owners: ["@dana-support"],
    manifest: { seq: 3, commit: null },
    severity: "medium",
    dataClasses: [],
    events: [{ id: `${name}-event`, seq: 1, traceId: null, observedAt: at }],
    eventCount: 1,
    window: { start: at, end: at },
    firedAt: at,
    why: { text: rule, children: [] },
  };
}

const hours = (n: number): string => new Date(Date.now() + n * 3_600_000).toISOString();

describe("charter alerts suppress", () => {
  it("refuses a suppression without an end, beyond 90 days, in the past or without a reason", async () => {
    const store = openSqliteAlerts(db);
    const alert = alertOf("refusals", "charter/rate-limit", "support-triage");
    await store.record([alert], null, Date.now());
    await store.close();
    const id = alert.id.slice(0, 12);
    const cases: [string[], string][] = [
      [["--reason", "batch job"], "needs --until"],
      [["--reason", "batch job", "--until", hours(24 * 91)], "more than 90 days"],
      [["--reason", "batch job", "--until", hours(-1)], "not in the future"],
      [["--until", hours(2)], "needs --reason"],
      [["--reason", "  ", "--until", hours(2)], "needs --reason"],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(["alerts", "suppress", id, "--db", db, ...args], dir);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    const listed = await runCli(["alerts", "list", "--db", db, "--until", hours(2)], dir);
    expect(listed.code).toBe(2);
    expect(listed.stderr).toContain("--until applies to charter alerts suppress only");
  });

  it("suppresses, lists the suppression, records later alerts of the key as suppressed, and shows who and why", async () => {
    const first = alertOf("first", "charter/outside-hours", "billing-agent");
    const later = alertOf("later", "charter/outside-hours", "billing-agent");
    let store = openSqliteAlerts(db);
    await store.record([first], null, Date.now());
    await store.close();
    const until = hours(48);
    const done = await runCli(["alerts", "suppress", first.id.slice(0, 12), "--db", db, "--by", "dana-support", "--reason", "month-end close runs at night", "--until", until, "--format", "json"], dir);
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ id: first.id, status: "suppressed", changedBy: "dana-support", until: new Date(until).toISOString() });

    store = openSqliteAlerts(db);
    await store.record([later], null, Date.now());
    await store.close();
    const shown = JSON.parse((await runCli(["alerts", "show", later.id.slice(0, 12), "--db", db, "--format", "json"], dir)).stdout) as { status: string; history: { to: string; by: string; reason: string }[] };
    expect(shown.status).toBe("suppressed");
    expect(shown.history[0]).toMatchObject({ to: "suppressed", by: "dana-support" });
    expect(shown.history[0]?.reason).toContain("month-end close runs at night");

    const table = await runCli(["alerts", "suppressions", "--db", db], dir);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/agent:billing-agent\s+charter\/outside-hours\s+\S+\s+dana-support\s+[0-9a-f]{12}\s+month-end close runs at night/);
    const suppressed = JSON.parse((await runCli(["alerts", "list", "--status", "suppressed", "--db", db, "--format", "json"], dir)).stdout) as { alerts: { id: string }[] };
    expect(suppressed.alerts.map((a) => a.id).sort()).toEqual([first.id, later.id].sort());
    // Nothing open among them, so a list of this agent's alerts exits 0.
    expect((await runCli(["alerts", "list", "--agent", "billing-agent", "--db", db], dir)).code).toBe(0);
  });
});
