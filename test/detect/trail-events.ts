import type { TrailEvent } from "../../src/trail/event.js";

let next = 1;

/** A trail event as ingest would stamp it: an in-scope, in-hours select by support-triage unless overridden. */
export function trailEvent(overrides: Partial<TrailEvent> = {}): TrailEvent {
  const seq = overrides.seq ?? next++;
  const observedAt = overrides.observedAt ?? "2026-03-04T10:00:00.000Z";
  return {
    id: `ev-${seq}`,
    seq,
    source: "pgaudit",
    sourceInstance: "crm-prod",
    attested: true,
    sourceKey: `crm-prod:${seq}`,
    observedAt,
    receivedAt: new Date(Date.parse(observedAt) + 500).toISOString(),
    principal: "charter_support_triage",
    claimedAgent: null,
    tokenAgent: null,
    action: "select",
    system: "postgres",
    resource: "crm.public.customers",
    instance: "crm-prod",
    outcome: "allowed",
    errorCode: null,
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    tool: null,
    model: null,
    inputTokens: null,
    outputTokens: null,
    detail: { statement_class: "READ" },
    agent: "support-triage",
    permission: "postgres:select:crm.public.customers@crm-prod",
    manifestSeq: 7,
    manifestCommit: "a".repeat(40),
    inScope: true,
    localDay: "wed",
    localHour: 10,
    withinHours: true,
    dataClasses: ["customer-pii"],
    flags: [],
    hash: "0".repeat(64),
    ...overrides,
  };
}

/** Events at increasing seq, observed `stepMs` apart from `start`. */
export function series(count: number, start: string, stepMs: number, overrides: (i: number) => Partial<TrailEvent> = () => ({})): TrailEvent[] {
  const t0 = Date.parse(start);
  return Array.from({ length: count }, (_, i) => trailEvent({ observedAt: new Date(t0 + i * stepMs).toISOString(), ...overrides(i) }));
}
