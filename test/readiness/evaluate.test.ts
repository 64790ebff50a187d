import { describe, expect, it } from "vitest";
import { localHandles } from "../../src/provision/routing.js";
import { evaluateReadiness } from "../../src/readiness/evaluate.js";
import type { AlertFact, ChangeFact, ReadinessFacts, SourceFact, TrailFacts } from "../../src/readiness/facts.js";

/**
 * The evaluators on facts written by hand: the cases the staged CLI tests cannot reach without
 * timing (a seed query over its budget) or that turn on one field (an emergency closed by its
 * retro-review, an alert suppressed when it was recorded, a source silent after the period).
 */
const UNTIL = Date.parse("2026-03-10T00:00:00Z");
const HOUR = 3_600_000;

const source: SourceFact = { source: "events", instance: "gateway", attested: true, state: "ok", events: 5, lastReceivedAt: "2026-03-09T00:00:00.000Z", quietSinceMs: Date.parse("2026-03-09T00:00:00Z"), silentAfterSeconds: 3600, gapsInPeriod: [] };

const verification = { ok: true, events: 5, sealedThrough: 5, anchoredThrough: 5, problems: [] };

const trail: TrailFacts = {
  location: "trail.sqlite",
  events: 5,
  principals: [{ principal: "charter_agent_support_triage", agent: "support-triage", events: 5, firstSeq: 1 }],
  sharedBindings: [],
  sources: [source],
  verification,
  seedQuery: { command: "charter audit actions --data-class customer-pii --outside-hours --by-agent", ms: 3, budgetMs: 1000, total: 0, agents: 0 },
};

const goodChange: ChangeFact = { seq: 1, path: "records/000/000/000000001.json", pullRequest: 11, url: "", mergedAt: "2026-03-01T10:00:00Z", agents: ["support-triage"], kinds: ["permission-added"], decision: "approved", emergency: false, approvalsBeforeMerge: 1, tested: "passed", rollbackPlan: "Revert.", retro: null };

const alert = (over: Partial<AlertFact>): AlertFact => ({ id: "a".repeat(64), rule: "charter/out-of-scope", agent: "support-triage", principal: "p", firedAt: "2026-03-04T00:00:00.000Z", firedMs: Date.parse("2026-03-04T00:00:00Z"), status: "open", firstResponse: null, reason: null, ...over });

function facts(over: { trail?: Partial<TrailFacts>; changes?: ChangeFact[]; alerts?: AlertFact[]; nowMs?: number } = {}): ReadinessFacts {
  return {
    period: { sinceMs: Date.parse("2026-03-01T00:00:00Z"), untilMs: UNTIL },
    periodArgs: "--since 2026-03-01T00:00:00.000Z --until 2026-03-10T00:00:00.000Z",
    ledger: {
      branch: "charter-evidence",
      commit: "c".repeat(40),
      size: 3,
      tipHash: null,
      indexRefused: null,
      agents: [{ agent: "support-triage", status: "active", permissions: ["redis:read:support:tickets:*@cache-prod"], provider: "local", versionSeq: 1 }],
      providers: [{ name: "local", instance: undefined, handles: localHandles }],
      verification: { ok: true, keySource: "given", signed: true, witnessesRequired: 0, witnessed: 0, problems: [] },
      changes: over.changes ?? [goodChange],
      exceptions: [],
      retroDays: 7,
    },
    trail: { ...trail, ...over.trail },
    alerts: { location: "trail.sqlite", respondWithinMs: 4 * HOUR, nowMs: over.nowMs ?? UNTIL, alerts: over.alerts ?? [] },
  };
}

const status = (f: ReadinessFacts, id: string) => evaluateReadiness(f).items.find((i) => i.id === id);

describe("the readiness evaluators", () => {
  it("fail queryable when the seed query took longer than its budget, and say by how much", () => {
    const item = status(facts({ trail: { seedQuery: { ...trail.seedQuery, ms: 1500 } } }), "queryable");
    expect(item?.status).toBe("fail");
    expect(item?.failures[0]?.reason).toBe("took 1500 ms, over its budget of 1000 ms");
    expect(status(facts(), "queryable")?.status).toBe("pass");
  });

  it("accept an emergency change closed by a completed retro-review, and fail one without", () => {
    const emergency = { ...goodChange, emergency: true, decision: "pending", approvalsBeforeMerge: 0 };
    expect(status(facts({ changes: [{ ...emergency, retro: { seq: 4, outcome: "completed" } }] }), "change-management")?.status).toBe("pass");
    const open = status(facts({ changes: [{ ...emergency, retro: { seq: 4, outcome: "overdue" } }] }), "change-management");
    expect(open?.failures.map((f) => f.reason)).toEqual(["an emergency change without a completed retro-review (retro record 4: overdue)"]);
  });

  it("fail a change without tests or a rollback plan, and leave changes of other kinds out", () => {
    const item = status(facts({ changes: [{ ...goodChange, tested: "none", rollbackPlan: null }, { ...goodChange, seq: 2, kinds: ["owners-changed"], tested: "none" }] }), "change-management");
    expect(item?.checked).toBe(1);
    expect(item?.failures.map((f) => f.reason)).toEqual(["no test or check was recorded for it", "no rollback plan was recorded"]);
  });

  it("count an alert suppressed when it was recorded as evaluated, and an open one younger than the limit as not late", () => {
    const young = alert({ firedMs: UNTIL - HOUR, firedAt: new Date(UNTIL - HOUR).toISOString() });
    const item = status(facts({ alerts: [alert({ status: "suppressed", reason: "suppressed until … by the evaluation of alert x" }), young] }), "alerting");
    expect(item?.status).toBe("pass");
    expect(item?.summary).toContain("1 open, still within the limit");
    const late = status(facts({ alerts: [young], nowMs: UNTIL + 4 * HOUR }), "alerting");
    expect(late?.status).toBe("fail");
  });

  it("fail an alert acknowledged without a reason and never resolved", () => {
    const at = Date.parse("2026-03-04T00:30:00Z");
    const item = status(facts({ alerts: [alert({ status: "acknowledged", firstResponse: { at: new Date(at).toISOString(), ms: at, to: "acknowledged", by: "dana" } })] }), "alerting");
    expect(item?.failures[0]?.reason).toBe("acknowledged by dana without a reason and never resolved");
  });

  it("fail identities for a principal that acted as its agent and outside any binding", () => {
    const principals = [...trail.principals, { principal: "charter_agent_support_triage", agent: null, events: 2, firstSeq: 9 }];
    const item = status(facts({ trail: { principals } }), "identities");
    expect(item?.failures[0]?.reason).toContain("acted as agent support-triage and, 2 times, outside any binding to it");
  });

  it("judge silence in the period: silent only after the period ends is not this period's finding", () => {
    const after = { ...source, state: "silent", quietSinceMs: UNTIL };
    expect(status(facts({ trail: { sources: [after] } }), "completeness")?.status).toBe("pass");
    const during = { ...source, state: "silent", quietSinceMs: UNTIL - 5 * HOUR };
    expect(status(facts({ trail: { sources: [during] } }), "completeness")?.status).toBe("fail");
  });

  it("fail integrity when sealed segments are not anchored", () => {
    const item = status(facts({ trail: { verification: { ...verification, sealedThrough: 5, anchoredThrough: 2 } } }), "integrity");
    expect(item?.status).toBe("fail");
    expect(item?.failures[0]?.reason).toContain("sealed through event 5 but anchored on charter-evidence only through 2");
  });

  it("pass the whole report on good facts, and fail it when one item fails", () => {
    expect(evaluateReadiness(facts()).status).toBe("pass");
    expect(evaluateReadiness(facts({ trail: { seedQuery: { ...trail.seedQuery, ms: 5000 } } })).status).toBe("fail");
  });
});
