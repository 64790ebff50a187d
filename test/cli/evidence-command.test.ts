import { afterEach, describe, expect, it } from "vitest";
import { inclusionProof, leafHash, rootOf, verifyInclusion } from "../../src/evidence/merkle.js";
import { evidenceRepo as makeEvidenceRepo } from "../helpers/evidence-repo.js";
import type { TempRepo } from "../helpers/temp-repo.js";
import { runCli } from "./run-cli.js";

let repo: TempRepo | undefined;
afterEach(() => {
  repo?.remove();
  repo = undefined;
});


function evidenceRepo(changes: number) {
  const built = makeEvidenceRepo(changes);
  repo = built.repo;
  return built;
}

describe("charter evidence export", () => {
  it("lists the population of change records as JSON and as CSV", async () => {
    const { repo: r } = evidenceRepo(3);
    const json = await runCli(["evidence", "export", "--format", "json"], r.root);
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as { seq: number; kind: string; pullRequest: number; author: string; mergedAt: string }[];
    expect(rows.map((row) => [row.seq, row.kind, row.pullRequest, row.author])).toEqual([
      [1, "change", 1, "dana-support"],
      [2, "change", 2, "dana-support"],
      [3, "change", 3, "dana-support"],
    ]);
    const csv = await runCli(["evidence", "export"], r.root);
    const lines = csv.stdout.trimEnd().split("\r\n");
    expect(lines[0]).toBe("seq,kind,pullRequest,title,url,author,mergedBy,mergedAt,recordedAt,decision,exception,reason,emergency,agents,changes,maxRisk,approvers,checks,commits,path,sha256");
    expect(lines).toHaveLength(4);
    expect(lines[1]).toContain(",Raise support-triage's temperature (#1),");
  });

  it("filters by GitHub's merge time", async () => {
    const { repo: r } = evidenceRepo(2);
    const before = await runCli(["evidence", "export", "--format", "json", "--until", "2026-01-02T10:00:00Z"], r.root);
    expect(JSON.parse(before.stdout)).toEqual([]);
    const during = await runCli(["evidence", "export", "--format", "json", "--since", "2026-01-02", "--until", "2026-01-03"], r.root);
    expect(JSON.parse(during.stdout)).toHaveLength(2);
    const bad = await runCli(["evidence", "export", "--since", "last tuesday"], r.root);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since "last tuesday" is not a date');
  });
});

describe("charter evidence show", () => {
  it("prints a pull request's record with an inclusion proof that verifies", async () => {
    const { repo: r, ledger } = evidenceRepo(4);
    const result = await runCli(["evidence", "show", "3"], r.root);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe(`record 3 (change) at ${ledger.records[3]?.path ?? ""}`);
    const proof = lines.filter((l) => /^ {2}[0-9a-f]{64}$/.test(l)).map((l) => Buffer.from(l.trim(), "hex"));
    const leaves = ledger.records.map((rec) => leafHash(rec.bytes));
    expect(proof.map((p) => p.toString("hex"))).toEqual(inclusionProof(3, leaves).map((h) => Buffer.from(h).toString("hex")));
    expect(verifyInclusion(3, leaves.length, leaves[3] ?? new Uint8Array(), proof, rootOf(leaves))).toBe(true);
    expect(result.stdout).toContain('"mergedBy"');
  });

  it("says when there is no such record", async () => {
    const { repo: r } = evidenceRepo(1);
    const result = await runCli(["evidence", "show", "99"], r.root);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no change record for pull request #99");
  });
});
