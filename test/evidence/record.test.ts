import { describe, expect, it } from "vitest";
import { filesRoot, RECORD_SCHEMA, recordHash, validateRecord } from "../../src/evidence/record.js";
import { changeBody, genesisBody, observedAt } from "./ledger-fixture.js";

const VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PREV = "a".repeat(64);

const record = (over: Record<string, unknown>): Record<string, unknown> => ({
  schema: RECORD_SCHEMA,
  seq: 1,
  kind: "change",
  prev: PREV,
  observedAt: observedAt(1),
  body: changeBody(1),
  ...over,
});

describe("the evidence record schema", () => {
  it("accepts one record of each kind", () => {
    expect(validateRecord(record({ seq: 0, kind: "genesis", prev: null, body: genesisBody(VERIFIER) }), "g.json")).toEqual([]);
    expect(validateRecord(record({}), "c.json")).toEqual([]);
    const exception = { kind: "admin-bypass", repository: { id: "1", fullName: "acme/agents" }, commits: ["b".repeat(40)], pullRequest: null, reason: "merged by an admin while the Charter check was pending", agents: ["support-triage"], issue: 12 };
    expect(validateRecord(record({ kind: "exception", body: exception }), "e.json")).toEqual([]);
    const retro = { repository: { id: "1", fullName: "acme/agents" }, emergency: { seq: 3, sha256: PREV }, issue: 14, approvals: [], outcome: "overdue" };
    expect(validateRecord(record({ kind: "retro-approval", body: retro }), "r.json")).toEqual([]);
  });

  it.each([
    ["a genesis record after seq 0", { seq: 4, kind: "genesis", body: genesisBody(VERIFIER) }, "/seq"],
    ["a change record without prev", { prev: null }, "/prev"],
    ["a change at seq 0", { seq: 0 }, "/seq"],
    ["another schema version", { schema: "charter.evidence/v2" }, "/schema"],
    ["an unknown kind", { kind: "note" }, "/kind"],
    ["an unknown envelope key", { extra: true }, ""],
    ["a malformed prev", { prev: "ABC" }, "/prev"],
    ["a body of another kind", { body: genesisBody(VERIFIER) }, "/body"],
  ])("refuses %s", (_label, over, pointer) => {
    const problems = validateRecord(record(over), "x.json");
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((d) => d.pointer.startsWith(pointer))).toBe(true);
  });

  it("refuses a change body with a fractional-looking SHA or a missing field", () => {
    const body: Record<string, unknown> = { ...changeBody(1), mergeSha: "not-a-sha" };
    expect(validateRecord(record({ body }), "x.json").map((d) => d.pointer)).toContain("/body/mergeSha");
    const { author: _author, ...withoutAuthor } = changeBody(1);
    expect(validateRecord(record({ body: withoutAuthor }), "x.json").length).toBeGreaterThan(0);
  });
});

describe("record hashes", () => {
  it("hashes exactly the stored bytes", () => {
    expect(recordHash(new Uint8Array(0))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("computes a files root that does not depend on key order and changes with any hash", () => {
    const a = { "b.yaml": "1".repeat(64), "a.yaml": "2".repeat(64) };
    const b = { "a.yaml": "2".repeat(64), "b.yaml": "1".repeat(64) };
    expect(filesRoot(a)).toBe(filesRoot(b));
    expect(filesRoot({ ...a, "a.yaml": "3".repeat(64) })).not.toBe(filesRoot(a));
    expect(filesRoot({})).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
});

describe("record validation messages", () => {
  it("judges a record by its own kind only, so its problems are the ones that matter", () => {
    const problems = validateRecord({ schema: "charter.evidence/v1", seq: 1, kind: "change", prev: "a".repeat(64), observedAt: "2026-01-01T00:00:00Z", body: { foo: 1 } }, "r.json");
    expect(problems.map((d) => d.message)).toContain('missing required key "mergeSha" in body');
    expect(problems.some((d) => /genesis|exception|retro-approval/.test(d.message))).toBe(false);
  });

  it("names an unknown kind", () => {
    const problems = validateRecord({ schema: "charter.evidence/v1", seq: 1, kind: "nonsense", prev: null, observedAt: "x", body: {} }, "r.json");
    expect(problems.map((d) => [d.pointer, d.rule, d.message])).toEqual([["/kind", "schema/enum", 'kind "nonsense" is not one this schema defines']]);
  });
});
