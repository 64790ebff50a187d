import { describe, expect, it } from "vitest";
import { checkCompleteness, firstRecordedCommit } from "../../src/evidence/completeness.js";
import type { EvidenceRecord } from "../../src/evidence/evidence-record.generated.js";
import { buildLedger } from "./ledger-fixture.js";
import { parseCanonical } from "../../src/evidence/canonical-json.js";

const ledger = buildLedger(2);
const records = ledger.records.map((r) => parseCanonical(r.bytes) as EvidenceRecord);
const merges = records.flatMap((r) => (r.kind === "change" ? [r.body.mergeSha] : []));

describe("completeness", () => {
  it("starts at the first recorded merge", () => {
    expect(firstRecordedCommit(records)).toBe(merges[0]);
    expect(firstRecordedCommit(records.slice(0, 1))).toBeNull();
  });

  it("accepts history whose governed commits are all recorded merges", () => {
    const history = merges.map((sha) => ({ sha, paths: ["agents/a/agent.yaml"] }));
    expect(checkCompleteness(records, history, "p".repeat(40))).toEqual({ since: "p".repeat(40), checked: 2, uncovered: [] });
  });

  it("names a governed commit no record covers", () => {
    const stray = { sha: "f".repeat(40), paths: ["agents/a/agent.yaml"] };
    const history = [...merges.map((sha) => ({ sha, paths: ["agents/a/agent.yaml"] })), stray];
    expect(checkCompleteness(records, history, null).uncovered).toEqual([stray]);
  });

  it("counts the commits of an exception record as covered", () => {
    const stray = "e".repeat(40);
    const exception = { ...records[1], kind: "exception", body: { kind: "direct-push", commits: [stray] } } as unknown as EvidenceRecord;
    expect(checkCompleteness([...records, exception], [{ sha: stray, paths: ["schemas/x.json"] }], null).uncovered).toEqual([]);
  });
});
