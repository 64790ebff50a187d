import { describe, expect, it } from "vitest";
import { canonicalBytes, parseCanonical } from "../../src/evidence/canonical-json.js";
import { appendRecord, appendToLedger, checkpointFor, type LedgerTip, recordPath, tipOf } from "../../src/evidence/ledger.js";
import { frontierRoot } from "../../src/evidence/merkle.js";
import { recordHash } from "../../src/evidence/record.js";
import { generateSignerKey, signNote } from "../../src/evidence/signed-note.js";
import { type ProblemCode, verifyLedger, type VerifyInput } from "../../src/evidence/verify.js";
import { buildLedger, changeBody, genesisBody, observedAt, ORIGIN } from "./ledger-fixture.js";

const ledger = buildLedger(6);
const input = (over: Partial<VerifyInput> = {}): VerifyInput => ({
  records: ledger.records,
  checkpoint: ledger.checkpoint,
  verifierKeys: [ledger.verifierKey],
  ...over,
});
const firstProblem = (report: ReturnType<typeof verifyLedger>): { code: ProblemCode; seq?: number } | undefined => {
  const p = report.problems[0];
  return p && { code: p.code, ...(p.seq === undefined ? {} : { seq: p.seq }) };
};
const withRecord = (seq: number, bytes: Uint8Array): { path: string; bytes: Uint8Array }[] =>
  ledger.records.map((r, i) => (i === seq ? { path: r.path, bytes } : r));
const rewrite = (seq: number, edit: (record: Record<string, unknown>) => void): Uint8Array => {
  const record = parseCanonical(ledger.records[seq]?.bytes ?? new Uint8Array()) as Record<string, unknown>;
  edit(record);
  return canonicalBytes(record);
};

describe("verifyLedger on an intact ledger", () => {
  it("verifies, with and without a trusted earlier checkpoint, and in any input order", () => {
    const report = verifyLedger(input());
    expect(report).toMatchObject({ ok: true, size: 7, problems: [] });
    expect(report.root).toBe(Buffer.from(frontierRoot(ledger.tip.frontier)).toString("hex"));
    expect(verifyLedger(input({ trustedCheckpoint: ledger.checkpoints[3] ?? "" })).ok).toBe(true);
    expect(verifyLedger(input({ trustedCheckpoint: ledger.checkpoint })).ok).toBe(true);
    expect(verifyLedger(input({ records: [...ledger.records].reverse() })).ok).toBe(true);
  });

  it("accepts a checkpoint co-signed by a witness it does not know", () => {
    const witness = generateSignerKey("witness.example");
    const body = ledger.checkpoint.slice(0, ledger.checkpoint.lastIndexOf("\n\n") + 1);
    const witnessLine = signNote(body, [witness.signerKey]).slice(body.length + 1);
    const report = verifyLedger(input({ checkpoint: ledger.checkpoint + witnessLine }));
    expect(report.ok).toBe(true);
  });
});

describe("tampering, each caught with its code", () => {
  it("an edited byte that breaks canonical form", () => {
    const bytes = Uint8Array.from(ledger.records[2]?.bytes ?? []);
    bytes[0] = 0x20;
    expect(firstProblem(verifyLedger(input({ records: withRecord(2, bytes) })))).toEqual({ code: "not-canonical", seq: 2 });
  });

  it("an edited byte inside a string: the next record's prev no longer matches", () => {
    const original = Buffer.from(ledger.records[2]?.bytes ?? []);
    const edited = Buffer.from(original.toString("utf8").replace("sam-lead", "sam-leaf"));
    expect(edited.length).toBe(original.length);
    const report = verifyLedger(input({ records: withRecord(2, edited) }));
    expect(firstProblem(report)).toEqual({ code: "prev-mismatch", seq: 3 });
    expect(report.problems.map((p) => p.code)).toContain("checkpoint-root-mismatch");
  });

  it("an edit to the last record: the checkpoint's root no longer matches", () => {
    const last = ledger.records.length - 1;
    const edited = rewrite(last, (r) => {
      (r["body"] as { author: string }).author = "mallory";
    });
    expect(verifyLedger(input({ records: withRecord(last, edited) })).problems.map((p) => p.code)).toEqual(["checkpoint-root-mismatch"]);
  });

  it("a schema-invalid record", () => {
    const edited = rewrite(2, (r) => {
      r["kind"] = "note";
    });
    expect(firstProblem(verifyLedger(input({ records: withRecord(2, edited) })))).toEqual({ code: "schema-invalid", seq: 2 });
  });

  it("a deleted record", () => {
    const records = ledger.records.filter((_, i) => i !== 3);
    const report = verifyLedger(input({ records }));
    expect(firstProblem(report)).toEqual({ code: "seq-gap", seq: 4 });
    expect(report.problems.map((p) => p.code)).toEqual(["seq-gap", "prev-mismatch", "checkpoint-size-mismatch"]);
  });

  it("two records reordered (contents swapped between paths)", () => {
    const records = ledger.records.map((r, i) => (i === 3 ? { path: r.path, bytes: ledger.records[4]?.bytes ?? r.bytes } : i === 4 ? { path: r.path, bytes: ledger.records[3]?.bytes ?? r.bytes } : r));
    expect(firstProblem(verifyLedger(input({ records })))).toEqual({ code: "path-mismatch", seq: 3 });
  });

  it("a record inserted in the middle, later records shifted", () => {
    const forged = appendRecord(buildTipAt(3), { kind: "change", body: changeBody(99), observedAt: observedAt(3) });
    const records = [
      ...ledger.records.slice(0, 3),
      { path: recordPath(3), bytes: forged.bytes },
      ...ledger.records.slice(3).map((r, i) => ({ path: recordPath(4 + i), bytes: r.bytes })),
    ];
    const report = verifyLedger(input({ records }));
    expect(firstProblem(report)).toEqual({ code: "path-mismatch", seq: 4 });
    expect(report.problems.map((p) => p.code)).toContain("checkpoint-size-mismatch");
  });

  it("a record appended without the key: the checkpoint does not cover it", () => {
    const forged = appendRecord(ledger.tip, { kind: "change", body: changeBody(99), observedAt: observedAt(99) });
    const report = verifyLedger(input({ records: [...ledger.records, { path: forged.path, bytes: forged.bytes }] }));
    expect(report.problems.map((p) => p.code)).toEqual(["checkpoint-size-mismatch"]);
  });

  it("a truncated tail, against the latest checkpoint", () => {
    expect(verifyLedger(input({ records: ledger.records.slice(0, 5) })).problems.map((p) => p.code)).toEqual(["checkpoint-size-mismatch"]);
  });

  it("a truncated tail with an old genuine checkpoint: only the auditor's saved checkpoint catches it", () => {
    const truncated = input({ records: ledger.records.slice(0, 5), checkpoint: ledger.checkpoints[5] ?? "" });
    expect(verifyLedger(truncated).ok).toBe(true);
    expect(verifyLedger({ ...truncated, trustedCheckpoint: ledger.checkpoint }).problems.map((p) => p.code)).toEqual(["inconsistent-with-trusted"]);
  });

  it("history rewritten with recomputed hashes and a checkpoint signed by another key", () => {
    const forged = buildLedger(6, generateSignerKey(ORIGIN));
    const report = verifyLedger(input({ records: forged.records, checkpoint: forged.checkpoint }));
    expect(report.problems.map((p) => p.code)).toEqual(["signature-invalid"]);
    // Even if the auditor were tricked into trusting the forger's key, their saved checkpoint catches it.
    const trusting = verifyLedger({ records: forged.records, checkpoint: forged.checkpoint, verifierKeys: [forged.verifierKey, ledger.verifierKey], trustedCheckpoint: ledger.checkpoint });
    expect(trusting.problems.map((p) => p.code)).toEqual(["inconsistent-with-trusted"]);
  });

  it("a backdated record", () => {
    const forged = buildLedger(2);
    const tip = forged.tip;
    const backdated = appendRecord(tip, { kind: "change", body: changeBody(3), observedAt: observedAt(3) });
    const bytes = rewriteBytes(backdated.bytes, (r) => {
      r["observedAt"] = "2025-12-31T00:00:00.000Z";
    });
    const report = verifyLedger({ records: [...forged.records, { path: backdated.path, bytes }], checkpoint: forged.checkpoint, verifierKeys: [forged.verifierKey] });
    expect(firstProblem(report)).toEqual({ code: "backdated", seq: 3 });
  });

  it("a malformed checkpoint, a checkpoint for another log, a path that is not a record", () => {
    expect(verifyLedger(input({ checkpoint: "garbage" })).problems.map((p) => p.code)).toEqual(["checkpoint-malformed"]);
    const otherKeys = generateSignerKey(ORIGIN);
    const otherLog = appendToLedger(
      appendRecord(buildTipAt(0), { kind: "genesis", body: { ...genesisBody(otherKeys.verifierKey), origin: "github.com/other/repo/evidence" }, observedAt: observedAt(0) }).tip,
      { kind: "change", body: changeBody(1), observedAt: observedAt(1) },
      { signerKey: ledger.signerKey },
    );
    expect(verifyLedger(input({ checkpoint: otherLog.checkpoint })).problems.map((p) => p.code)).toContain("checkpoint-origin-mismatch");
    const report = verifyLedger(input({ records: [...ledger.records, { path: "records/README.md", bytes: new Uint8Array() }] }));
    expect(report.problems.map((p) => p.code)).toEqual(["path-invalid"]);
    expect(verifyLedger(input({ records: [] })).problems.map((p) => p.code)).toEqual(["empty-ledger", "checkpoint-size-mismatch"]);
  });

  it("the same merge recorded twice (a redelivered webhook)", () => {
    const duplicate = appendRecord(ledger.tip, { kind: "change", body: changeBody(2), observedAt: observedAt(7) });
    const report = verifyLedger(input({ records: [...ledger.records, { path: duplicate.path, bytes: duplicate.bytes }], checkpoint: checkpointFor(duplicate.tip, [ledger.signerKey]) }));
    expect(report.problems).toEqual([expect.objectContaining({ code: "duplicate-change", seq: 7 })]);
  });

  it("a change whose files root does not match its file hashes", () => {
    const body = changeBody(7);
    const appended = appendRecord(ledger.tip, { kind: "change", body: { ...body, files: { ...body.files, root: "0".repeat(64) } }, observedAt: observedAt(7) });
    const report = verifyLedger(input({ records: [...ledger.records, { path: appended.path, bytes: appended.bytes }], checkpoint: checkpointFor(appended.tip, [ledger.signerKey]) }));
    expect(report.problems.map((p) => p.code)).toEqual(["files-root-mismatch"]);
  });

  it("a retro-approval that closes a record which is not that emergency change", () => {
    const emergencyBody = { ...changeBody(7), emergency: { active: true, reason: "credential leak" } };
    const emergency = appendRecord(ledger.tip, { kind: "change", body: emergencyBody, observedAt: observedAt(7) });
    const retro = (seq: number, sha256: string) => ({
      repository: { id: "123456789", fullName: "acme/agents" },
      emergency: { seq, sha256 },
      issue: 15,
      approvals: [],
      outcome: "completed" as const,
    });
    const good = appendRecord(emergency.tip, { kind: "retro-approval", body: retro(7, recordHash(emergency.bytes)), observedAt: observedAt(8) });
    const records = [...ledger.records, { path: emergency.path, bytes: emergency.bytes }];
    expect(verifyLedger(input({ records: [...records, { path: good.path, bytes: good.bytes }], checkpoint: checkpointFor(good.tip, [ledger.signerKey]) })).ok).toBe(true);
    const wrong = appendRecord(emergency.tip, { kind: "retro-approval", body: retro(6, recordHash(ledger.records[6]?.bytes ?? new Uint8Array())), observedAt: observedAt(8) });
    const report = verifyLedger(input({ records: [...records, { path: wrong.path, bytes: wrong.bytes }], checkpoint: checkpointFor(wrong.tip, [ledger.signerKey]) }));
    expect(report.problems.map((p) => p.code)).toEqual(["retro-reference-invalid"]);
  });

  it("a provisioning record that does not name an earlier change or exception record", () => {
    const provisioning = (seq: number, sha256: string) => ({
      repository: { id: "123456789", fullName: "acme/agents" },
      source: "change" as const,
      after: { seq, sha256 },
      commit: "a".repeat(40),
      agents: ["support-triage"],
      plan: [],
      applied: [],
      verification: { remaining: [], escalations: [] },
      outcome: "converged" as const,
    });
    const last = ledger.records.length - 1;
    const good = appendRecord(ledger.tip, { kind: "provisioning", body: provisioning(last, recordHash(ledger.records[last]?.bytes ?? new Uint8Array())), observedAt: observedAt(8) });
    expect(verifyLedger(input({ records: [...ledger.records, { path: good.path, bytes: good.bytes }], checkpoint: checkpointFor(good.tip, [ledger.signerKey]) })).ok).toBe(true);
    for (const [seq, sha] of [[0, recordHash(ledger.records[0]?.bytes ?? new Uint8Array())], [last, "0".repeat(64)], [99, "0".repeat(64)]] as const) {
      const bad = appendRecord(ledger.tip, { kind: "provisioning", body: provisioning(seq, sha), observedAt: observedAt(8) });
      const report = verifyLedger(input({ records: [...ledger.records, { path: bad.path, bytes: bad.bytes }], checkpoint: checkpointFor(bad.tip, [ledger.signerKey]) }));
      expect(report.problems.map((p) => p.code)).toEqual(["provisioning-reference-invalid"]);
    }
  });

  it("a trusted checkpoint that does not verify", () => {
    expect(verifyLedger(input({ trustedCheckpoint: buildLedger(1).checkpoint })).problems.map((p) => p.code)).toEqual(["trusted-checkpoint-invalid"]);
  });
});

/** The tip of the genuine ledger after its first `size` records. */
function buildTipAt(size: number): LedgerTip {
  return tipOf(ledger.records.slice(0, size).map((r) => r.bytes));
}

function rewriteBytes(bytes: Uint8Array, edit: (record: Record<string, unknown>) => void): Uint8Array {
  const record = parseCanonical(bytes) as Record<string, unknown>;
  edit(record);
  return canonicalBytes(record);
}
