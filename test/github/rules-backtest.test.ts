import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openTrailRuntime, type TrailRuntime } from "../../src/github/trail/trail-runtime.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import type { DecidedEvent } from "../../src/trail/decide.js";
import type { TrailEvent } from "../../src/trail/event.js";
import { series } from "../detect/trail-events.js";
import { ownAgents } from "../helpers/agents-fixture.js";
import { waitFor } from "../jobs/wait-for.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

/**
 * The backtest in a pull request's check run: the changed rules run over the last seven days of
 * the app's trail (a real SQLite store holding events), through the simulator's webhooks.
 */
const DAY = 86_400_000;
const NOW = Date.now();
const at = (ms: number): string => new Date(ms).toISOString();
const trace = (n: number): string => n.toString(16).padStart(32, "0");

function decided(events: readonly TrailEvent[], tag: string): DecidedEvent[] {
  return events.map(({ seq: _seq, hash: _hash, ...rest }) => ({ ...rest, id: `${tag}-${rest.id}`, sourceKey: `${tag}-${rest.sourceKey}` }));
}

const DENIED = { outcome: "denied" as const, resource: "crm.public.payments", permission: "postgres:select:crm.public.payments@crm-prod", inScope: false };
// Trail order is seq order; the two old denials were stored first and are outside the window.
const EVENTS: DecidedEvent[] = [
  ...decided(series(2, at(NOW - 10 * DAY), 1000, (i) => ({ ...DENIED, traceId: trace(100 + i) })), "old"),
  ...decided(series(30, at(NOW - 2 * DAY), 60_000), "normal"),
  ...decided(series(3, at(NOW - 2 * DAY + 3_600_000), 1000, (i) => ({ ...DENIED, traceId: trace(1 + i) })), "triage"),
  ...decided(series(1, at(NOW - DAY), 1000, () => ({ ...DENIED, agent: "billing-reconciler", principal: "charter_billing_reconciler", traceId: trace(9) })), "billing"),
];
const TRIAGE_FIRST_DENIAL = EVENTS[32]?.id ?? "";
const BILLING_DENIAL = EVENTS[35]?.id ?? "";

const NARROW = `title: Payments read denied
id: 0f4e1f0c-2b7e-4f44-8c55-1d9a3c7e2a01
logsource: { product: charter }
level: medium
detection:
  selection:
    outcome: denied
    resource: crm.public.payments
  condition: selection
`;
const BROAD = `title: Any allowed action
id: 6a1d0b9e-3c2f-4e7a-9b1c-5d8e7f6a4b02
logsource: { product: charter }
level: low
detection:
  selection:
    outcome: allowed
  condition: selection
`;

let dir: string;
let trail: TrailRuntime | undefined;
let fx: AppFixture | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "charter-backtest-"));
  const store = openSqliteTrail(join(dir, "trail.sqlite"));
  const { stored } = await store.append(EVENTS);
  expect(stored).toHaveLength(EVENTS.length);
  await store.close();
});
afterEach(async () => {
  await fx?.close();
  fx = undefined;
  await trail?.close();
  trail = undefined;
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function start(withTrail: boolean): Promise<AppFixture> {
  if (withTrail) {
    trail = await openTrailRuntime({ CHARTER_TRAIL_DB: join(dir, "trail.sqlite"), CHARTER_TRAIL_REPOSITORY: "acme/agents", CHARTER_DETECTION: "off", CHARTER_TRAIL_REFRESH_INTERVAL: "1h" });
  }
  fx = await startCharter(ownAgents(), trail ? { trail } : {});
  const { sim } = fx;
  // The trail's first round reads the trail repository (its ledger, its catalog); later rounds
  // read nothing from GitHub within the refresh interval, so the calls counted below are the check's.
  // (The ledger's branch does not exist yet: a ref lookup; then the catalog: one GraphQL query.)
  if (withTrail) await waitFor(() => (sim.calls["git/get-ref"] ?? 0) >= 1 && (sim.calls["graphql"] ?? 0) >= 1, "the trail's first round", 30_000);
  // Warm the installation token so that every run counts the same requests.
  await sim.openPullRequest(fx.repo, { author: "bob", branch: "warm-up", title: "Warm up", files: { "README.md": "# warm\n" } });
  return fx;
}

async function openRules(f: AppFixture, branch: string): Promise<{ summary: string; calls: Record<string, number> }> {
  f.sim.resetCalls();
  const { sha } = await f.sim.openPullRequest(f.repo, { author: "bob", branch, title: "Payment rules", body: "", files: { "detection/rules/payments-denied.yml": NARROW, "detection/rules/any-allowed.yml": BROAD } });
  const run = f.sim.checkRunsFor(f.repo, sha).filter((r) => r.name === "Charter").at(-1);
  if (!run) throw new Error("no Charter check run");
  expect(f.sim.rejected).toEqual([]);
  return { summary: run.output.summary ?? "", calls: { ...f.sim.calls } };
}

describe("the backtest of changed detection rules in the check run", () => {
  it("shows per changed rule the matches of the last seven days, the agents, sample events with trace ids, and flags the rule that fires on most events", async () => {
    const { summary } = await openRules(await start(true), "rules");
    expect(summary).toContain("### Backtest: the changed rules over the last 7 days of the trail");
    // 34 events in the window; the two denials ten days old are not among them.
    expect(summary).toContain("Over 34 events.");
    const section = summary.slice(summary.indexOf("### Backtest"));
    const row = (id: string): string => section.split("\n").find((l) => l.includes(id)) ?? "";
    const narrow = row("0f4e1f0c-2b7e-4f44-8c55-1d9a3c7e2a01");
    expect(narrow).toContain("| `detection/rules/payments-denied.yml` | 4 (11.8%) | 2 | `billing-reconciler`, `support-triage` |");
    expect(narrow).toContain(`\`${TRIAGE_FIRST_DENIAL}\` (\`${trace(1)}\`)`);
    expect(narrow).toContain(`\`${BILLING_DENIAL}\` (\`${trace(9)}\`)`);
    expect(narrow).not.toContain(trace(100));
    expect(narrow).not.toContain("fires on most events");
    const broad = row("6a1d0b9e-3c2f-4e7a-9b1c-5d8e7f6a4b02");
    expect(broad).toContain("**fires on most events**");
    expect(broad).toContain("| 30 (88.2%) | 1 | `support-triage` |");
  }, 120_000);

  it("makes no GitHub request beyond those of the same check without a trail", async () => {
    const withTrail = await openRules(await start(true), "rules-counted");
    expect(withTrail.summary).toContain("### Backtest");
    await fx?.close();
    fx = undefined;
    await trail?.close();
    trail = undefined;
    const without = await openRules(await start(false), "rules-counted");
    expect(without.summary).not.toContain("### Backtest");
    expect(withTrail.calls).toEqual(without.calls);
  }, 180_000);

  it("shows nothing of the trail to another repository's pull requests, nor to a pull request that changes no rule", async () => {
    const f = await start(true);
    const other = await f.sim.createRepository({ owner: "acme", name: "elsewhere", files: ownAgents() });
    const { sha } = await f.sim.openPullRequest(other, { author: "bob", branch: "rules", title: "Rules", body: "", files: { "detection/rules/payments-denied.yml": NARROW } });
    const run = f.sim.checkRunsFor(other, sha).filter((r) => r.name === "Charter").at(-1);
    expect(run?.output.summary).toContain("detection-changed");
    expect(run?.output.summary).not.toContain("Backtest");
    const settingsOnly = await f.sim.openPullRequest(f.repo, { author: "bob", branch: "settings", title: "Settings", body: "", files: { "detection/settings.yml": "version: 1\n" } });
    const settingsRun = f.sim.checkRunsFor(f.repo, settingsOnly.sha).filter((r) => r.name === "Charter").at(-1);
    expect(settingsRun?.output.summary).toContain("detection-changed");
    expect(settingsRun?.output.summary).not.toContain("Backtest");
  }, 120_000);
});
