import { describe, expect, it } from "vitest";
import { Detector } from "../../src/detect/detector.js";
import { manifestCatalog } from "../../src/detect/manifests-in-force.js";
import { parseSettings, resolveSettings } from "../../src/detect/settings.js";
import type { AgentManifest } from "../../src/schema-types/agent-manifest.generated.js";
import type { TrailEvent } from "../../src/trail/event.js";
import { trailEvent } from "./trail-events.js";

const manifest = (overrides: Partial<AgentManifest> = {}): AgentManifest => ({
  apiVersion: "charter/v1",
  kind: "Agent",
  id: "support-triage",
  name: "Support Triage",
  purpose: "Tags support tickets.",
  status: "active",
  environment: "production",
  owners: [{ team: "acme/support-eng" }, { user: "dana-support" }],
  dataClassifications: ["customer-pii"],
  model: { provider: "anthropic", name: "claude-sonnet-4-5", version: "20250929" },
  prompts: [],
  tools: [{ name: "refund", permissions: ["http:post:api.payments.example/v1/refunds"] }],
  credentials: { provider: "postgres", maxLifetime: "1h" },
  runtime: { maxRequestsPerMinute: 5, maxCostPerDayUsd: 1, humanApprovalRequiredFor: ["refund"] },
  ...overrides,
});

const settings = resolveSettings({ version: 1, prices: [{ model: "claude-*", inputUsdPerMillionTokens: 3, outputUsdPerMillionTokens: 15 }], approvals: { waitSeconds: 60 } });

function detector(m: AgentManifest = manifest()) {
  return new Detector({ manifests: manifestCatalog([{ agent: "support-triage", seq: 7, manifest: m }]), settings });
}

function ids(d: Detector, events: readonly TrailEvent[]): string[] {
  return events.flatMap((e) => d.process(e).alerts.map((a) => a.rule.id));
}

const toolCall = (o: Partial<TrailEvent> = {}) => trailEvent({ source: "otlp", attested: false, action: "execute_tool", system: "tool", tool: "refund", resource: "refund", permission: null, inScope: true, dataClasses: [], ...o });
const approval = (o: Partial<TrailEvent> = {}) => trailEvent({ source: "events", action: "approve", system: "tool", tool: "refund", resource: "refund", permission: null, inScope: null, dataClasses: [], principal: "approvals-service", detail: { approver: "dana" }, ...o });

describe("approval events", () => {
  it("accepts an approval that arrives after the tool call but was observed before it", () => {
    const d = detector();
    expect(ids(d, [toolCall({ observedAt: "2026-03-04T10:00:05Z" }), approval({ observedAt: "2026-03-04T10:00:00Z" })])).toEqual([]);
    expect(d.advance("2026-03-04T11:00:00Z").alerts).toEqual([]);
  });

  it("alerts when no approval came within the wait, on Charter's clock", () => {
    const d = detector();
    expect(ids(d, [toolCall({ observedAt: "2026-03-04T10:00:05Z" })])).toEqual([]);
    expect(d.advance("2026-03-04T10:00:30Z").alerts).toEqual([]);
    expect(d.advance("2026-03-04T10:01:10Z").alerts.map((a) => a.rule.id)).toEqual(["charter/approval-missing"]);
  });

  it("does not count an approval of another trace, another tool, a refusal, or one given after the call", () => {
    for (const late of [approval({ traceId: "f".repeat(32) }), approval({ tool: "other" }), approval({ outcome: "denied" }), approval({ observedAt: "2026-03-04T10:00:09Z" })]) {
      const d = detector();
      ids(d, [toolCall({ observedAt: "2026-03-04T10:00:05Z" }), late]);
      expect(d.finish().alerts.map((a) => a.rule.id)).toEqual(["charter/approval-missing"]);
    }
  });

  it("does not accept an approval the agent reports about itself, unless the settings say so", () => {
    const selfReported = approval({ source: "otlp", attested: false, observedAt: "2026-03-04T10:00:00Z" });
    const d = detector();
    ids(d, [selfReported, toolCall({ observedAt: "2026-03-04T10:00:05Z" })]);
    expect(d.finish().alerts.map((a) => a.rule.id)).toEqual(["charter/approval-missing"]);
    const lenient = new Detector({ manifests: manifestCatalog([{ agent: "support-triage", seq: 7, manifest: manifest() }]), settings: resolveSettings({ version: 1, approvals: { acceptSelfReported: true } }) });
    ids(lenient, [selfReported, toolCall({ observedAt: "2026-03-04T10:00:05Z" })]);
    expect(lenient.finish().alerts).toEqual([]);
  });

  it("alerts at once on a call without a trace id, and never calls a person's approval unattributed", () => {
    const d = detector();
    expect(ids(d, [toolCall({ traceId: null })])).toEqual(["charter/approval-missing"]);
    expect(ids(d, [approval({ agent: null, flags: ["unattributed"] })])).toEqual([]);
  });
});

describe("the manifest in force", () => {
  it("reports a retired agent's action as that alone, not also as out of scope and outside hours", () => {
    const d = detector(manifest({ status: "retired", tools: [], retirement: { date: "2026-03-01", reason: "replaced" } }));
    expect(ids(d, [trailEvent({ inScope: false, withinHours: false })])).toEqual(["charter/retired-agent"]);
  });

  it("judges each event by the version its manifestSeq names", () => {
    const d = new Detector({
      manifests: manifestCatalog([
        { agent: "support-triage", seq: 3, manifest: manifest({ runtime: {} }) },
        { agent: "support-triage", seq: 9, manifest: manifest({ status: "retired", tools: [] }) },
      ]),
    });
    expect(ids(d, [trailEvent({ manifestSeq: 5 })])).toEqual([]);
    expect(ids(d, [trailEvent({ manifestSeq: 9 })])).toEqual(["charter/retired-agent"]);
  });

  it("takes the request limit from the manifest: the sixth request within a minute alerts", () => {
    const d = detector();
    const at = (s: number) => `2026-03-04T10:00:${String(s).padStart(2, "0")}Z`;
    expect(ids(d, [0, 10, 20, 30, 40].map((s) => trailEvent({ observedAt: at(s) })))).toEqual([]);
    expect(ids(d, [trailEvent({ observedAt: at(50) })])).toEqual(["charter/rate-limit"]);
  });

  it("prices tokens from the settings and alerts past maxCostPerDayUsd; an unpriced model is announced, not guessed", () => {
    const d = detector();
    const call = (model: string, input: number) => trailEvent({ source: "otlp", system: null, action: "chat", resource: null, permission: null, model, inputTokens: input, outputTokens: 0, dataClasses: [] });
    expect(ids(d, [call("claude-sonnet-4-5", 200_000)])).toEqual([]);
    expect(ids(d, [call("claude-sonnet-4-5", 200_000)])).toEqual(["charter/cost-limit"]);
    const out = d.process(call("gpt-5", 10_000_000));
    expect(out.alerts).toEqual([]);
    expect(out.notices.map((n) => n.kind)).toEqual(["unpriced-model"]);
  });
});

describe("alerts as values", () => {
  it("gets the same id on two replicas that see the same events, and raises each id once", () => {
    const events = [trailEvent({ inScope: false }), trailEvent({ inScope: false }), trailEvent({ inScope: false, permission: "postgres:delete:crm.public.customers@crm-prod" })];
    const a = events.flatMap((e) => detector().process(e).alerts);
    const one = detector();
    const b = events.flatMap((e) => one.process(e).alerts);
    expect(b).toHaveLength(2);
    expect(new Set(b.map((x) => x.id)).size).toBe(2);
    expect(a.slice(0, 1).map((x) => x.id)).toEqual(b.slice(0, 1).map((x) => x.id));
  });

  it("names rule, agent, owners, events with trace ids, the manifest version and why, with severity from the data class", () => {
    const [alert] = detector().process(trailEvent({ inScope: false, dataClasses: ["payment-card"], resource: "crm.public.payment_methods", permission: "postgres:select:crm.public.payment_methods@crm-prod" })).alerts;
    expect(alert).toMatchObject({
      rule: { id: "charter/out-of-scope", kind: "manifest" },
      agent: "support-triage",
      owners: ["@acme/support-eng", "@dana-support"],
      manifest: { seq: 7, commit: "a".repeat(40) },
      severity: "critical",
      events: [{ traceId: "4bf92f3577b34da6a3ce929d0e0e4736" }],
    });
    expect(alert?.why.text).toContain("does not grant");
  });

  it("refuses a snapshot that is not one", () => {
    expect(() => new Detector({ manifests: manifestCatalog([]) }, JSON.parse('{"format":"x"}') as never)).toThrow(expect.objectContaining({ code: "INVALID_RECORD" }));
  });
});

describe("detection settings", () => {
  it("reports a wrong setting at its line, like a manifest", () => {
    const parsed = parseSettings(new TextEncoder().encode("version: 1\ndeniedBurst:\n  count: 1\nprices:\n  - model: x\n"));
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.diagnostics.map((d) => [d.line, d.rule])).toEqual(expect.arrayContaining([[3, "schema/range"], [5, "schema/required"]]));
  });
});

describe("state an attacker can grow", () => {
  it("gives a bounded number of notices however many model names telemetry invents", () => {
    const d = detector();
    const notices = [];
    for (let i = 0; i < 10_050; i++) {
      notices.push(...d.process(trailEvent({ source: "otlp", system: null, action: "chat", resource: null, permission: null, model: `made-up-${i}`, inputTokens: 1, outputTokens: 1, dataClasses: [] })).notices);
    }
    // 10,000 remembered notices, then one saying that no more are given.
    expect(notices).toHaveLength(10_001);
    expect(notices[notices.length - 1]?.kind).toBe("state-limit");
    expect(d.snapshot().noticed.length).toBe(10_001);
  });

  it("keeps a bounded number of denial windows however many principals an unattributed flood uses", () => {
    const d = detector();
    for (let i = 0; i < 50_100; i++) d.process(trailEvent({ agent: null, principal: `p${i}`, outcome: "denied", flags: ["unattributed"] }));
    expect((d.snapshot().rules["charter/denied-burst"] as unknown[]).length).toBeLessThanOrEqual(50_000);
  });
});
