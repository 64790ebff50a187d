import { describe, expect, it } from "vitest";
import { decide } from "../../src/trail/decide.js";
import { parseResourceCatalog } from "../../src/trail/resource-catalog.js";
import { context, sourceEvent, version } from "./trail-fixture.js";

const received = Date.parse("2026-03-03T14:00:01Z");

describe("attribution and enrichment at ingest", () => {
  it("maps the identity role to its agent and stamps the manifest version, scope, local hour and data class", () => {
    const d = decide(sourceEvent(), received, context());
    expect(d).toMatchObject({
      agent: "support-triage",
      manifestSeq: 3,
      manifestCommit: "c".repeat(40),
      permission: "postgres:select:crm.public.customers@crm-prod",
      inScope: true,
      // 14:00 UTC on a Tuesday is 15:00 in Berlin (winter time).
      localDay: "tue",
      localHour: 15,
      withinHours: true,
      dataClasses: ["customer-pii", "internal"],
      flags: [],
    });
  });

  it("judges scope against the manifest in force at the event's time, not the latest", () => {
    const later = version({ seq: 9, effectiveMs: Date.parse("2026-03-10T00:00:00Z"), permissionStrings: ["postgres:select:crm.public.orders@crm-prod"] });
    const ctx = context([version(), later]);
    expect(decide(sourceEvent(), received, ctx)).toMatchObject({ manifestSeq: 3, inScope: true });
    expect(decide(sourceEvent({ observedAt: "2026-03-11T10:00:00.000Z" }), Date.parse("2026-03-11T10:00:00Z"), ctx)).toMatchObject({ manifestSeq: 9, inScope: false });
  });

  it("marks an action outside allowed hours in the manifest's zone, on a weekend", () => {
    const d = decide(sourceEvent({ observedAt: "2026-03-07T12:00:00.000Z" }), Date.parse("2026-03-07T12:00:00Z"), context());
    expect(d).toMatchObject({ localDay: "sat", localHour: 13, withinHours: false });
  });

  it("keeps a principal no manifest owns, unattributed, never dropped", () => {
    const d = decide(sourceEvent({ principal: "dba_bob" }), received, context());
    expect(d).toMatchObject({ agent: null, manifestSeq: null, inScope: null, withinHours: null, flags: ["unattributed"], principal: "dba_bob" });
  });

  it("records a self-reported event under its token's agent when it claims another, and flags it", () => {
    const d = decide(sourceEvent({ source: "otlp", attested: false, tokenAgent: "support-triage", claimedAgent: "finance-reconciliation", system: "tool", tool: "crm_lookup", resource: "crm_lookup", action: "execute_tool", instance: null }), received, context());
    expect(d).toMatchObject({ agent: "support-triage", claimedAgent: "finance-reconciliation", inScope: true, flags: ["agent-mismatch"] });
  });

  it("never approves DDL, which no permission in the vocabulary grants", () => {
    expect(decide(sourceEvent({ action: "drop" }), received, context())).toMatchObject({ inScope: false, permission: null });
  });

  it("flags resources that do not fit the vocabulary (SQL syntax in a name) instead of guessing", () => {
    const d = decide(sourceEvent({ resource: `crm.public."customers; DROP TABLE x"` }), received, context());
    expect(d.flags).toContain("resource-unmapped");
    expect(d.permission).toBeNull();
    expect(d.inScope).toBeNull();
    expect(d.resource).toBe(`crm.public."customers; DROP TABLE x"`);
  });

  it("flags clock skew beyond the configured tolerance and keeps both times as reported", () => {
    const d = decide(sourceEvent({ observedAt: "2026-03-03T13:00:00.000Z" }), received, context(undefined, 60_000));
    expect(d.flags).toContain("clock-skew");
    expect(d.observedAt).toBe("2026-03-03T13:00:00.000Z");
    expect(d.receivedAt).toBe("2026-03-03T14:00:01.000Z");
    expect(decide(sourceEvent(), received, context(undefined, 60_000)).flags).not.toContain("clock-skew");
  });
});

describe("the resource catalog", () => {
  it("reports a bad entry with its line, and a duplicate", () => {
    const text = `apiVersion: charter/v1
kind: ResourceCatalog
resources:
  - match: postgres:crm.public.customers
    dataClasses: [customer-pii]
  - match: postgres:crm.*.customers
    dataClasses: [internal]
  - match: postgres:crm.public.customers
    dataClasses: [internal]
`;
    const parsed = parseResourceCatalog(".github/charter-resources.yml", new TextEncoder().encode(text));
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.diagnostics.map((d) => [d.line, d.rule])).toEqual([
      [6, "catalog/invalid-match"],
      [8, "catalog/duplicate-match"],
    ]);
  });

  it("refuses unknown keys with the schema's message and line, and YAML bombs", () => {
    const parsed = parseResourceCatalog("c.yml", new TextEncoder().encode("apiVersion: charter/v1\nkind: ResourceCatalog\nresources: []\nclasses: 1\n"));
    expect(!parsed.ok && parsed.diagnostics[0]).toMatchObject({ line: 4, rule: "schema/unknown-key" });
    const bomb = "a: &a [x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n";
    const bombed = parseResourceCatalog("c.yml", new TextEncoder().encode(bomb));
    expect(!bombed.ok && bombed.diagnostics[0]?.rule).toMatch(/^yaml\//);
  });
});
