import type { TrailEvent, TrailOutcome, TrailSourceKind, TrailSystem, Weekday } from "../../trail/event.js";

/** Above this share of the reference traffic a rule is flagged as firing on most events. */
export const BROAD_SHARE = 0.5;

interface Shape {
  readonly source: TrailSourceKind;
  readonly system: TrailSystem;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly instance: string | null;
  readonly classes: readonly (readonly string[])[];
}

const SHAPES: readonly Shape[] = [
  { source: "pgaudit", system: "postgres", actions: ["select", "select", "select", "insert", "update"], resources: ["crm.public.customers", "crm.public.orders", "helpdesk.public.tickets", "finance.ledger.entries", "analytics.events.page_views"], instance: "crm-prod", classes: [["customer-pii"], ["internal"], ["financial"], []] },
  { source: "otlp", system: "tool", actions: ["execute_tool"], resources: ["crm_lookup", "ticket_tagger", "ledger_reader", "web_search", "summarize"], instance: null, classes: [[]] },
  { source: "squid", system: "http", actions: ["get", "get", "post"], resources: ["api.payments.example/v1/refunds", "api.example.com/v2/search", "hooks.slack.example/services"], instance: null, classes: [["financial"], [], ["internal"]] },
  { source: "redis-acl", system: "redis", actions: ["read", "write"], resources: ["cache:customers:1042", "cache:sessions:77", "queue:jobs:9"], instance: "cache-prod", classes: [["customer-pii"], ["internal"]] },
  { source: "events", system: "github", actions: ["contents:read", "pull_requests:write"], resources: ["acme/app", "acme/infra"], instance: null, classes: [["source-code"]] },
  { source: "github-token", system: "github", actions: ["token-issued"], resources: ["acme/app"], instance: null, classes: [[]] },
];

const AGENTS = ["support-triage", "finance-reconciliation", "code-review", "analytics-insights", "billing-helper", "docs-writer", "sales-notes", "ops-runner"];
const DAYS: readonly Weekday[] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];


function build(count: number): TrailEvent[] {
  let state = 0x2545f491;
  const next = (): number => {
    // xorshift32: deterministic and good enough to spread the sample.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const out: TrailEvent[] = [];
  const start = Date.parse("2026-03-02T00:00:00Z");
  for (let i = 0; i < count; i++) {
    const shape = pick(SHAPES);
    const agent = pick(AGENTS);
    // Most traffic falls in working hours, as it does for agents with allowedHours.
    const hourOfDay = next() < 0.9 ? 7 + Math.floor(next() * 12) : Math.floor(next() * 24);
    const ms = start + Math.floor(next() * 14) * 86_400_000 + hourOfDay * 3_600_000 + Math.floor(next() * 3_600_000);
    const date = new Date(ms);
    const hour = date.getUTCHours();
    const roll = next();
    const outcome: TrailOutcome = roll < 0.94 ? "allowed" : roll < 0.97 ? "denied" : "error";
    const action = pick(shape.actions);
    const resource = pick(shape.resources);
    const isTool = shape.system === "tool";
    const trace = Math.floor(next() * 0xffffffff).toString(16).padStart(8, "0");
    const hoursSet = next() < 0.85;
    out.push({
      id: `ref-${i}`,
      seq: i + 1,
      source: shape.source,
      sourceInstance: shape.instance ?? shape.source,
      attested: shape.source !== "otlp",
      sourceKey: `ref:${i}`,
      observedAt: date.toISOString(),
      receivedAt: new Date(ms + 150).toISOString(),
      principal: shape.source === "pgaudit" ? `charter_${agent.replaceAll("-", "_")}` : agent,
      claimedAgent: isTool ? agent : null,
      tokenAgent: isTool ? agent : null,
      action,
      system: shape.system,
      resource,
      instance: shape.instance,
      outcome,
      errorCode: outcome === "denied" ? (shape.system === "postgres" ? "42501" : "403") : outcome === "error" ? "57014" : null,
      traceId: `${trace}${"0".repeat(24)}`,
      spanId: `${trace}${"0".repeat(8)}`,
      tool: isTool ? resource : null,
      model: isTool ? "claude-sonnet-4-5" : null,
      inputTokens: isTool ? 500 + Math.floor(next() * 3000) : null,
      outputTokens: isTool ? 50 + Math.floor(next() * 800) : null,
      detail: shape.system === "postgres" ? { statement_class: action === "select" ? "READ" : "WRITE" } : shape.system === "http" ? { status: outcome === "allowed" ? "200" : "403" } : {},
      agent,
      permission: isTool ? null : `${shape.system}:${action}:${resource}${shape.instance ? `@${shape.instance}` : ""}`,
      manifestSeq: 1 + Math.floor(next() * 40),
      manifestCommit: "0".repeat(40),
      inScope: outcome === "denied" ? next() < 0.5 : next() < 0.98,
      localDay: DAYS[date.getUTCDay()] ?? "mon",
      localHour: hour,
      withinHours: hoursSet ? hour >= 7 && hour < 19 : null,
      dataClasses: pick(shape.classes),
      flags: [],
      hash: "0".repeat(64),
    });
  }
  return out;
}

/**
 * A fixed sample of ordinary trail traffic: several agents reading and writing tables, calling
 * HTTP APIs and Redis, reporting tool spans with token usage, mostly allowed, in scope and within
 * hours, as a healthy trail is. A rule that matches most of these events would fire on most
 * events of a real trail too, so the check run flags it before it is merged. The sample is built
 * from a fixed seed: the same rule always gets the same verdict.
 */
export const REFERENCE_EVENTS: readonly TrailEvent[] = build(400);
