import { PrincipalBook } from "../../src/trail/attribute.js";
import { emptyContext, type IngestContext } from "../../src/trail/decide.js";
import type { SourceEvent } from "../../src/trail/event.js";
import { LocalClock } from "../../src/trail/local-time.js";
import { ManifestTimeline, type ManifestVersion } from "../../src/trail/manifest-timeline.js";
import { parsePermission, type Permission } from "../../src/manifest/permission.js";
import { parseResourceCatalog, ResourceCatalog } from "../../src/trail/resource-catalog.js";

/** A pgaudit-like source event; override what a test is about. */
export function sourceEvent(over: Partial<SourceEvent> = {}): SourceEvent {
  return {
    source: "pgaudit",
    sourceInstance: "crm-prod",
    attested: true,
    sourceKey: `file-1:${Math.random().toString(36).slice(2)}`,
    observedAt: "2026-03-03T14:00:00.000Z",
    principal: "charter_agent_support_triage",
    claimedAgent: null,
    tokenAgent: null,
    action: "select",
    system: "postgres",
    resource: "crm.public.customers",
    instance: "crm-prod",
    outcome: "allowed",
    errorCode: null,
    traceId: null,
    spanId: null,
    tool: null,
    model: null,
    inputTokens: null,
    outputTokens: null,
    detail: {},
    ...over,
  };
}

function permissions(...raw: string[]): Permission[] {
  return raw.map((r) => {
    const p = parsePermission(r);
    if (!p.ok) throw new Error(p.reason);
    return p.permission;
  });
}

export function version(over: Partial<ManifestVersion> & { permissionStrings?: string[] } = {}): ManifestVersion {
  const { permissionStrings, ...rest } = over;
  return {
    agent: "support-triage",
    seq: 3,
    recordHash: "a".repeat(64),
    commit: "c".repeat(40),
    effectiveMs: Date.parse("2026-01-01T00:00:00Z"),
    pullRequest: 7,
    decision: "approved",
    approvers: ["dana-support"],
    status: "active",
    known: true,
    permissions: permissions(...(permissionStrings ?? ["postgres:select:crm.public.customers@crm-prod"])),
    tools: ["crm_lookup"],
    dataClasses: ["customer-pii"],
    allowedHours: { timezone: "Europe/Berlin", days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", end: "18:00" },
    ...rest,
  };
}

const CATALOG = `apiVersion: charter/v1
kind: ResourceCatalog
resources:
  - match: postgres:crm.public.customers@crm-prod
    dataClasses: [customer-pii]
  - match: postgres:crm.public.payments
    dataClasses: [payment-card, customer-pii]
  - match: postgres:crm.public.*
    dataClasses: [internal]
`;

function catalog(text = CATALOG): ResourceCatalog {
  const parsed = parseResourceCatalog("catalog.yml", new TextEncoder().encode(text));
  if (!parsed.ok) throw new Error(parsed.diagnostics.map((d) => d.message).join("; "));
  return parsed.catalog;
}

/** A context with support-triage provisioned as its identity role and one manifest version. */
export function context(versions: ManifestVersion[] = [version()], skewMs = 5 * 60_000): IngestContext {
  const timeline = new ManifestTimeline();
  for (const v of versions) timeline.add(v);
  const principals = new PrincipalBook();
  for (const agent of timeline.agents()) {
    principals.add({ principal: `charter_agent_${agent.replaceAll("-", "_")}`, instance: null, agent, kind: "identity-role", fromMs: 0, untilMs: null });
  }
  return { ...emptyContext(principals, timeline, skewMs), catalog: catalog(), clock: new LocalClock() };
}
