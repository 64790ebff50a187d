import { describe, expect, it } from "vitest";
import { canonicalBytes } from "../../src/evidence/canonical-json.js";
import { readinessRecordProblems } from "../../src/evidence/readiness-check.js";
import { validateRecord } from "../../src/evidence/record.js";
import { localHandles } from "../../src/provision/routing.js";
import type { ChangeFact, LedgerFacts, ReadinessFacts } from "../../src/readiness/facts.js";
import { type LedgerDerived, readinessBody, replayReadiness } from "../../src/readiness/record-body.js";
import type { ReadinessBody } from "../../src/schema-types/evidence-record.generated.js";

/**
 * The readiness record's body on facts written by hand: bounded whatever the trail holds,
 * valid against the record schema, and re-evaluated to exactly what it states; an edited
 * statement is found both by the self-checks charter verify runs and by re-evaluation.
 */
const UNTIL = Date.parse("2026-03-10T00:00:00Z");
const REPOSITORY = { id: "1", fullName: "acme/agents" };
const PROVIDERS = [{ name: "local" as const }];

const badChange: ChangeFact = { seq: 1, path: "records/0/0/1.json", pullRequest: 12, url: "", mergedAt: "2026-03-02T10:00:00Z", agents: ["support-triage"], kinds: ["permission-added"], decision: "approved", emergency: false, approvalsBeforeMerge: 0, tested: "none", rollbackPlan: null, retro: null };

function derived(changes: ChangeFact[] = [badChange]): LedgerDerived {
  return { tipHash: null, indexRefused: null, agents: [{ agent: "support-triage", status: "active", permissions: ["redis:read:support:tickets:*@cache-prod"], provider: "local", versionSeq: 1 }], changes, exceptions: [] };
}

function facts(principals: number): ReadinessFacts {
  const ledger: LedgerFacts = {
    ...derived(),
    branch: "charter-evidence",
    commit: "c".repeat(40),
    size: 3,
    providers: [{ name: "local", instance: undefined, handles: localHandles }],
    verification: { ok: true, keySource: "given", signed: true, witnessesRequired: 0, witnessed: 0, problems: [] },
    retroDays: 7,
  };
  return {
    period: { sinceMs: Date.parse("2026-03-01T00:00:00Z"), untilMs: UNTIL },
    periodArgs: "--since 2026-03-01T00:00:00.000Z --until 2026-03-10T00:00:00.000Z",
    ledger,
    trail: {
      location: "trail.sqlite",
      events: 5 + principals,
      principals: [{ principal: "charter_agent_support_triage", agent: "support-triage", events: 5, firstSeq: 1 }, ...Array.from({ length: principals }, (_, i) => ({ principal: `intruder-${i}-${"x".repeat(400)}`, agent: null, events: 1, firstSeq: 10 + i }))],
      sharedBindings: [],
      sources: [{ source: "events", instance: "gateway", attested: true, state: "ok", events: 5, lastReceivedAt: "2026-03-09T00:00:00.000Z", quietSinceMs: Date.parse("2026-03-09T00:00:00Z"), silentAfterSeconds: 3600, gapsInPeriod: [] }],
      verification: { ok: true, events: 5, sealedThrough: 5, anchoredThrough: 5, problems: [] },
      seedQuery: { command: "charter audit actions --data-class customer-pii --outside-hours --by-agent", ms: 3.14159, budgetMs: 1000, total: 0, agents: 0 },
    },
    alerts: { location: "trail.sqlite", respondWithinMs: 3_600_000, nowMs: UNTIL, alerts: [] },
  };
}

function record(body: ReadinessBody): unknown {
  return { schema: "charter.evidence/v1", seq: 3, kind: "readiness", prev: "0".repeat(64), observedAt: "2026-03-10T00:00:01.000Z", body };
}

const statuses = (items: readonly { id: string; status: string }[]) => Object.fromEntries(items.map((i) => [i.id, i.status]));

describe("the readiness record", () => {
  it("states the report it was made from and re-evaluates to exactly that from the ledger and its frozen facts", () => {
    const { body } = readinessBody(facts(1), { repository: REPOSITORY, providers: PROVIDERS });
    expect(validateRecord(record(body), "records/0/0/3.json")).toEqual([]);
    expect(readinessRecordProblems(body, 3)).toEqual([]);
    expect(statuses(body.items)).toEqual({ inventory: "fail", identities: "pass", enforcement: "pass", integrity: "pass", queryable: "pass", "change-management": "fail", alerting: "not-applicable", completeness: "pass" });
    expect(body.facts.trail?.seedQuery.microseconds).toBe(3142);
    expect(body.facts.truncated).toEqual(["trail.principals"]);

    const replayed = replayReadiness(body, derived());
    expect(replayed.disagreements).toEqual([]);
    expect(replayed.asRecorded).toEqual(["inventory", "identities"]);
    expect(replayed.report.status).toBe("fail");
  });

  it("recomputes every item when nothing had to be cut", () => {
    const small = facts(0);
    const { body } = readinessBody({ ...small, trail: small.trail === null ? null : { ...small.trail, principals: small.trail.principals.slice(0, 1) } }, { repository: REPOSITORY, providers: PROVIDERS });
    expect(body.facts.truncated).toEqual([]);
    const replayed = replayReadiness(body, derived());
    expect(replayed.asRecorded).toEqual([]);
    expect(replayed.disagreements).toEqual([]);
    expect(replayed.report.items.find((i) => i.id === "queryable")?.measured).toEqual({ ms: 3.1, budgetMs: 1000 });
  });

  it("stays bounded when an attacker fills the trail with principals: 20 failures listed, the rest counted", () => {
    const { body } = readinessBody(facts(20_000), { repository: REPOSITORY, providers: PROVIDERS });
    const inventory = body.items.find((i) => i.id === "inventory");
    expect(inventory?.failures).toHaveLength(20);
    expect(inventory?.failuresOmitted).toBe(19_980);
    expect(inventory?.checked).toBe(20_001);
    expect(body.facts.trail?.principals).toHaveLength(500);
    expect(canonicalBytes(body).length).toBeLessThan(400_000);
    expect(validateRecord(record(body), "records/0/0/3.json")).toEqual([]);
  });

  it("finds a statement the evidence does not support: by re-evaluation, and by the self-checks when the status was edited", () => {
    const { body } = readinessBody(facts(0), { repository: REPOSITORY, providers: PROVIDERS });
    // The record says change management passed; the ledger before it holds a change without approval.
    const edited: ReadinessBody = { ...body, items: body.items.map((i) => (i.id === "change-management" ? { ...i, status: "pass" as const, failures: [], failuresOmitted: 0 } : i)) };
    const replayed = replayReadiness(edited, derived());
    expect(replayed.disagreements.map((d) => d.item)).toContain("change-management");
    expect(replayed.disagreements.find((d) => d.item === "change-management")?.recorded).toBe("pass, 1 checked, 0 failures");

    const passing: ReadinessBody = { ...body, status: "pass" };
    expect(readinessRecordProblems(passing, 3)).toEqual(["record 3 states readiness pass, but its items give fail: a status was edited"]);
    const frozenEdited: ReadinessBody = { ...body, facts: { ...body.facts, alerts: null } };
    expect(readinessRecordProblems(frozenEdited, 3)).toEqual(["record 3's readiness facts do not hash to its factsSha256: the facts or the hash were edited"]);
  });
});
