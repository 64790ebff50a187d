import { describe, expect, it } from "vitest";
import { checkCompleteness, Coverage } from "../../src/evidence/completeness.js";
import type { EvidenceRecord } from "../../src/schema-types/evidence-record.generated.js";
import { buildLedger } from "./ledger-fixture.js";
import { parseCanonical } from "../../src/evidence/canonical-json.js";

const ledger = buildLedger(2);
const records = ledger.records.map((r) => parseCanonical(r.bytes) as EvidenceRecord);
const merges = records.flatMap((r) => (r.kind === "change" ? [r.body.mergeSha] : []));
const coverageOf = (list: readonly EvidenceRecord[]): Coverage => {
  const coverage = new Coverage();
  for (const r of list) coverage.add(r);
  return coverage;
};

describe("completeness", () => {
  it("starts at the first recorded merge", () => {
    expect(coverageOf(records).first).toBe(merges[0]);
    expect(coverageOf(records.slice(0, 1)).first).toBeNull();
  });

  it("accepts history whose governed commits are all recorded merges", () => {
    const history = merges.map((sha) => ({ sha, paths: ["agents/a/agent.yaml"] }));
    expect(checkCompleteness(coverageOf(records), history, "p".repeat(40))).toEqual({ since: "p".repeat(40), checked: 2, uncovered: [] });
  });

  it("names a governed commit no record covers", () => {
    const stray = { sha: "f".repeat(40), paths: ["agents/a/agent.yaml"] };
    const history = [...merges.map((sha) => ({ sha, paths: ["agents/a/agent.yaml"] })), stray];
    expect(checkCompleteness(coverageOf(records), history, null).uncovered).toEqual([stray]);
  });

  it("counts the commits of an exception record as covered", () => {
    const stray = "e".repeat(40);
    const exception = { ...records[1], kind: "exception", body: { kind: "direct-push", commits: [stray] } } as unknown as EvidenceRecord;
    expect(checkCompleteness(coverageOf([...records, exception]), [{ sha: stray, paths: ["schemas/x.json"] }], null).uncovered).toEqual([]);
  });
});

describe("coverage", () => {
  it("knows each merge's change record and decision, in any case of hex, and no exception's commit as a merge", () => {
    const coverage = coverageOf(records);
    expect(coverage.merge(merges[1]?.toUpperCase() ?? "")).toEqual({ seq: 2, decision: "approved" });
    const exception = { ...records[1], seq: 3, kind: "exception", body: { kind: "direct-push", commits: ["e".repeat(40)] } } as unknown as EvidenceRecord;
    coverage.add(exception);
    expect(coverage.covers("E".repeat(40))).toBe(true);
    expect(coverage.merge("e".repeat(40))).toBeUndefined();
    expect(coverage.covers("d".repeat(40))).toBe(false);
  });

  it("holds a hundred thousand commits and finds every one", () => {
    const coverage = new Coverage();
    const sha = (i: number): string => i.toString(16).padStart(40, "0");
    for (let i = 0; i < 100_000; i++) coverage.add({ kind: "exception", seq: i, body: { commits: [sha(i)] } } as unknown as EvidenceRecord);
    for (let i = 0; i < 100_000; i += 997) expect(coverage.covers(sha(i))).toBe(true);
    expect(coverage.covers(sha(100_001))).toBe(false);
  });
});
