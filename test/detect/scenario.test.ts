import { beforeAll, describe, expect, it } from "vitest";
import type { Alert } from "../../src/detect/alert.js";
import { Detector, type DetectorSnapshot } from "../../src/detect/detector.js";
import type { Notice } from "../../src/detect/hit.js";
import { manifestCatalog } from "../../src/detect/manifests-in-force.js";
import { resolveSettings } from "../../src/detect/settings.js";
import type { TrailEvent } from "../../src/trail/event.js";
import { type AnomalyKind, buildScenario, type Scenario, SCENARIO_PRICES } from "./scenario.js";

const SEED = 20260302;
const settings = resolveSettings({ version: 1, prices: SCENARIO_PRICES });
const MANIFEST_KINDS: readonly AnomalyKind[] = ["out-of-scope", "outside-hours", "retired-agent", "unattributed", "rate-limit", "cost-limit", "approval-missing", "denied-burst"];
const BASELINE_KINDS: readonly AnomalyKind[] = ["first-seen", "volume"];

function detect(scenario: Scenario, events: readonly TrailEvent[] = scenario.events, snapshot?: DetectorSnapshot): { alerts: Alert[]; notices: Notice[]; detector: Detector } {
  const detector = new Detector({ manifests: manifestCatalog(scenario.manifests), settings }, snapshot);
  const alerts: Alert[] = [];
  const notices: Notice[] = [];
  for (const e of events) {
    const out = detector.process(e);
    alerts.push(...out.alerts);
    notices.push(...out.notices);
  }
  return { alerts, notices, detector };
}

function finish(run: { alerts: Alert[]; detector: Detector }): Alert[] {
  return [...run.alerts, ...run.detector.finish().alerts];
}

describe("the labelled scenario: 24 agents, 30 days", () => {
  let normal: Scenario;
  let attacked: Scenario;
  let normalAlerts: Alert[];
  let normalNotices: Notice[];
  let alerts: Alert[];

  beforeAll(() => {
    normal = buildScenario({ seed: SEED, normalOnly: true });
    attacked = buildScenario({ seed: SEED });
    const n = detect(normal);
    normalAlerts = finish(n);
    normalNotices = n.notices;
    alerts = finish(detect(attacked));
  }, 240_000);

  it("is big enough to mean something: at least 20 agents' traffic over 30 days", () => {
    expect(new Set(normal.events.map((e) => e.agent).filter((a) => a !== null)).size).toBeGreaterThanOrEqual(20);
    const days = new Set(normal.events.map((e) => e.observedAt.slice(0, 10)));
    expect(days.size).toBe(30);
    expect(normal.events.length).toBeGreaterThan(50_000);
  });

  it("raises no manifest-rule alert on normal traffic", () => {
    expect(normalAlerts.filter((a) => a.rule.kind === "manifest").map((a) => `${a.rule.id} ${a.agent ?? a.principal} ${a.why.text}`)).toEqual([]);
  });

  it("announces each baseline's learning period, and when it ends", () => {
    const agents = new Set(normal.events.map((e) => e.agent).filter((a) => a !== null));
    const learning = normalNotices.filter((n) => n.kind === "learning");
    expect(new Set(learning.filter((n) => n.key.startsWith("first-seen:")).map((n) => n.agent))).toEqual(agents);
    expect(new Set(learning.filter((n) => n.key.startsWith("volume:")).map((n) => n.agent))).toEqual(agents);
    expect(normalNotices.some((n) => n.kind === "learned" && n.key.startsWith("first-seen:"))).toBe(true);
    expect(normalNotices.some((n) => n.kind === "learned" && n.key.startsWith("volume:"))).toBe(true);
  });

  it("injects every kind of anomaly", () => {
    expect(new Set(attacked.injected.map((i) => i.kind))).toEqual(new Set([...MANIFEST_KINDS, ...BASELINE_KINDS]));
  });

  it.each(MANIFEST_KINDS)("finds every injected %s anomaly with its own rule, naming the injected events", (kind) => {
    const injected = attacked.injected.filter((i) => i.kind === kind);
    expect(injected.length).toBeGreaterThan(0);
    for (const anomaly of injected) {
      const found = alerts.filter((a) => a.rule.id === `charter/${kind}` && a.events.some((e) => anomaly.eventIds.includes(e.id)));
      expect(found, `${kind} of ${anomaly.agent ?? "an unknown identity"}`).toHaveLength(1);
      expect(found[0]?.agent).toBe(anomaly.agent);
    }
  });

  it("raises manifest-rule alerts only on injected events, one per injected anomaly", () => {
    const injectedIds = new Set(attacked.injected.flatMap((i) => i.eventIds));
    const manifestAlerts = alerts.filter((a) => a.rule.kind === "manifest");
    for (const a of manifestAlerts) expect(a.events.some((e) => injectedIds.has(e.id)), `${a.rule.id} ${a.why.text}`).toBe(true);
    expect(manifestAlerts.length).toBe(attacked.injected.filter((i) => MANIFEST_KINDS.includes(i.kind)).length);
  });

  it("gives each alert its owners, the manifest version in force and a severity from the data touched", () => {
    const oos = alerts.find((a) => a.rule.id === "charter/out-of-scope" && a.dataClasses.includes("payment-card"));
    expect(oos).toMatchObject({ severity: "critical", owners: ["@acme/team-02", "@owner-02"], manifest: { seq: 2 } });
    const retired = alerts.find((a) => a.rule.id === "charter/retired-agent");
    expect(retired?.manifest.seq).toBe(attacked.manifests.find((m) => m.agent === "agent-24" && m.manifest.status === "retired")?.seq);
    const unattributed = alerts.find((a) => a.rule.id === "charter/unattributed");
    expect(unattributed).toMatchObject({ agent: null, owners: [] });
  });

  it("reports the learned baselines' precision and recall (and finds every injected one)", () => {
    const figures: Record<string, unknown> = {};
    for (const kind of BASELINE_KINDS) {
      const raised = alerts.filter((a) => a.rule.id === `charter/${kind}`);
      const injected = attacked.injected.filter((i) => i.kind === kind);
      const truePositives = raised.filter((a) => injected.some((i) => a.events.some((e) => i.eventIds.includes(e.id))));
      const found = injected.filter((i) => raised.some((a) => a.events.some((e) => i.eventIds.includes(e.id))));
      const precision = raised.length === 0 ? 0 : truePositives.length / raised.length;
      const recall = found.length / injected.length;
      figures[kind] = { alerts: raised.length, truePositives: truePositives.length, injected: injected.length, precision: Number(precision.toFixed(2)), recall };
      expect(recall).toBe(1);
      // The false positives are real first uses: a permission added by a merged change and
      // first used after the learning period, or a weekly job skipped during it.
      expect(precision).toBeGreaterThanOrEqual(0.4);
    }
    // The figures are part of the report: printed, not only asserted.
    console.log(JSON.stringify({ scenario: "baselines", seed: SEED, ...figures }));
  });

  it("is deterministic: the same seed gives the same events and the same alert ids", () => {
    const again = buildScenario({ seed: SEED, normalOnly: true });
    expect(again.events.length).toBe(normal.events.length);
    expect(again.events.slice(0, 50)).toEqual(normal.events.slice(0, 50));
    expect(finish(detect(again)).map((a) => a.id)).toEqual(normalAlerts.map((a) => a.id));
  }, 240_000);

  it("continues from a JSON snapshot exactly where it stopped, and ignores events it already processed", () => {
    const half = Math.floor(attacked.events.length / 2);
    const first = detect(attacked, attacked.events.slice(0, half));
    const snapshot = JSON.parse(JSON.stringify(first.detector.snapshot())) as DetectorSnapshot;
    // A restart replays from an older point: everything up to the snapshot's position is skipped.
    const second = detect(attacked, attacked.events.slice(half - 1_000), snapshot);
    expect([...first.alerts, ...finish(second)].map((a) => a.id)).toEqual(alerts.map((a) => a.id));
  }, 240_000);
});
