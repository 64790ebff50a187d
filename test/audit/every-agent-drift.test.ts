import { describe, expect, it } from "vitest";
import type { DriftRecord } from "../../src/schema-types/evidence-record.generated.js";
import { unrecordedAgent } from "../../src/audit/agent-state.js";
import { indexRows } from "../../src/audit/index-rows.js";

/**
 * A drift finding with agent "*" concerns every agent on a provider (a PostgreSQL grant to PUBLIC
 * or to the marker role every identity belongs to). The index must count it against each agent,
 * not invent an agent called "*" whose drift nothing ever resolves.
 */
describe("the audit index and drift about every agent", () => {
  it("marks every known agent as drifted, and no agent named *", () => {
    const agents = new Map([
      ["billing-bot", unrecordedAgent("billing-bot")],
      ["support-triage", unrecordedAgent("support-triage")],
    ]);
    const record: DriftRecord = {
      schema: "charter.evidence/v1",
      seq: 7,
      kind: "drift",
      prev: "0".repeat(64),
      observedAt: "2026-01-01T00:00:00Z",
      body: {
        repository: { id: "1", fullName: "acme/agents" },
        commit: "a".repeat(40),
        findings: [{ provider: "postgres", instance: "crm-prod", agent: "*", kind: "foreign-grant", detail: "SELECT on table crm.public.secrets is granted to PUBLIC", via: "PUBLIC" }],
        issues: [],
      },
    };
    const rows = indexRows([{ seq: 7, hash: "b".repeat(64), record }], agents, new Map());
    expect([...agents.keys()]).toEqual(["billing-bot", "support-triage"]);
    expect([...agents.values()].map((a) => a.driftSeq)).toEqual([7, 7]);
    expect(rows.get("drift")?.map((r) => r[4])).toEqual(["billing-bot support-triage"]);
  });
});
