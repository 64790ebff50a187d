import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { canonicalBytes, parseCanonical } from "../../src/evidence/canonical-json.js";
import { checkpointFor, tipOf } from "../../src/evidence/ledger.js";
import { recordHash } from "../../src/evidence/record.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { type BuiltLedger, buildLedger, ORIGIN } from "../evidence/ledger-fixture.js";
import { putEvidence } from "../helpers/evidence-repo.js";
import { type TempRepo, tempRepo } from "../helpers/temp-repo.js";
import { runCli } from "./run-cli.js";

const dirs: string[] = [];
let repo: TempRepo | undefined;
afterEach(() => {
  repo?.remove();
  repo = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const git = (cwd: string, ...args: string[]): string => execFileSync("git", args, { cwd, encoding: "utf8" }).trim();

/**
 * The operator's repository (a bare remote the app pushes to), the witness's directory with its
 * key, and a helper to publish a ledger as the branch's new state (a force-push when rewritten).
 */
async function setting() {
  const base = mkdtempSync(join(tmpdir(), "charter-witness-"));
  dirs.push(base);
  const keys = generateSignerKey(ORIGIN);
  const work = tempRepo({ "README.md": "# agents\n" });
  repo = work;
  work.commitAll("main");
  const remote = join(base, "remote.git");
  git(base, "init", "-q", "--bare", "--initial-branch=main", remote);
  const publish = (ledger: BuiltLedger, message: string): void => {
    putEvidence(work, ledger, message);
    git(work.root, "push", "-q", "--force", remote, "main", "charter-evidence");
  };
  publish(buildLedger(3, keys), "three changes");
  const keyFile = join(base, "witness.key");
  const generated = await runCli(["witness", "keygen", "audit.example/witness", "--key-file", keyFile], base);
  expect(generated.code).toBe(0);
  const witnessKey = generated.stdout.trim().split("\n").at(-1) ?? "";
  const state = join(base, "state");
  const witness = (...extra: string[]) => runCli(["witness", "--repo", remote, "--state", state, "--key-file", keyFile, "--format", "json", ...extra], base);
  const auditorClone = (): string => {
    const dir = mkdtempSync(join(base, "audit-"));
    git(dir, "clone", "-q", remote, "clone");
    return join(dir, "clone");
  };
  return { base, keys, remote, keyFile, witnessKey, state, publish, witness, auditorClone };
}

const tags = (remote: string): string[] => git(remote, "for-each-ref", "--format=%(refname)", "refs/tags/charter-witness/").split("\n").filter(Boolean);

interface VerifyJson {
  status: string;
  witnesses: { key: string; size: number }[];
  problems: { code: string; message: string }[];
}
async function verifyWitnessed(clone: string, logKey: string, witnessKey: string, ...extra: string[]): Promise<{ code: number; json: VerifyJson }> {
  const result = await runCli(["verify", "--key", logKey, "--witness", witnessKey, "--format", "json", ...extra], clone);
  expect(result.stderr).toBe("");
  return { code: result.code, json: JSON.parse(result.stdout) as VerifyJson };
}

describe("charter witness and charter verify --witness", () => {
  it("cosigns a new log, publishes the cosignature as a tag the auditor's clone brings along, and verify requires it", async () => {
    const s = await setting();
    expect(statSync(s.keyFile).mode & 0o777).toBe(0o600);
    expect(s.witnessKey).toMatch(/^audit\.example\/witness\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);

    const before = await verifyWitnessed(s.auditorClone(), s.keys.verifierKey, s.witnessKey);
    expect(before.code).toBe(1);
    expect(before.json.problems.map((p) => p.code)).toEqual(["witness-quorum"]);

    const first = await s.witness("--log-key", s.keys.verifierKey);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ cosigned: true, origin: ORIGIN, size: 4 });
    expect(tags(s.remote)).toEqual([expect.stringMatching(/^refs\/tags\/charter-witness\/[0-9a-f]{16}\/4$/)]);

    const after = await verifyWitnessed(s.auditorClone(), s.keys.verifierKey, s.witnessKey);
    expect(after.json.problems).toEqual([]);
    expect(after.code).toBe(0);
    expect(after.json.witnesses).toEqual([expect.objectContaining({ key: s.witnessKey, size: 4 })]);

    // A clone of the evidence branch alone, as the branch's README suggests, brings the tag too.
    const single = join(s.base, "single");
    git(s.base, "clone", "-q", "--single-branch", "--branch", "charter-evidence", s.remote, single);
    expect(git(single, "tag", "-l", "charter-witness/*")).toMatch(/^charter-witness\/[0-9a-f]{16}\/4$/);

    // Nothing new: no second cosignature, the tag published again is the same.
    expect(JSON.parse((await s.witness()).stdout)).toMatchObject({ cosigned: false, size: 4 });
    expect(tags(s.remote)).toHaveLength(1);
  });

  it("cosigns each extension from the records added since, and the old cosignatures keep vouching for their prefix", async () => {
    const s = await setting();
    expect((await s.witness("--log-key", s.keys.verifierKey)).code).toBe(0);
    s.publish(buildLedger(7, s.keys), "four more");
    const next = await s.witness();
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout)).toMatchObject({ cosigned: true, size: 8 });
    expect(tags(s.remote)).toHaveLength(2);
    const state = JSON.parse(readFileSync(join(s.state, "state.json"), "utf8")) as { size: number; logKey: string };
    expect(state).toMatchObject({ size: 8, logKey: s.keys.verifierKey });
    const { code, json } = await verifyWitnessed(s.auditorClone(), s.keys.verifierKey, s.witnessKey);
    expect(code).toBe(0);
    expect(json.witnesses).toEqual([expect.objectContaining({ size: 8 })]);
  });

  it("refuses to cosign a truncated log, and verify names the rewrite from the witness's earlier tag", async () => {
    const s = await setting();
    s.publish(buildLedger(5, s.keys), "more");
    expect((await s.witness("--log-key", s.keys.verifierKey)).code).toBe(0);
    // Someone holding the log key drops the last records and re-signs: a valid-looking, shorter log.
    s.publish(buildLedger(3, s.keys), "truncate");
    const refused = await s.witness();
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ cosigned: false, refused: "truncated" });
    expect(tags(s.remote)).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(s.state, "state.json"), "utf8"))).toMatchObject({ size: 6 });

    const { code, json } = await verifyWitnessed(s.auditorClone(), s.keys.verifierKey, s.witnessKey);
    expect(code).toBe(1);
    expect(json.problems.map((p) => p.code)).toEqual(["witness-inconsistent", "witness-quorum"]);
    expect(json.problems[0]?.message).toContain("cosigned 6 records, but only 4 exist: the log was truncated after it was witnessed");
  });

  it("refuses a fork (another root at the size it cosigned) and a rewritten history that grew", async () => {
    const s = await setting();
    expect((await s.witness("--log-key", s.keys.verifierKey)).code).toBe(0);
    const forked = editRecord(buildLedger(3, s.keys), 2, s.keys.signerKey);
    s.publish(forked, "edit record 2, re-sign");
    expect(JSON.parse((await s.witness()).stdout)).toMatchObject({ refused: "forked" });
    s.publish(editRecord(buildLedger(6, s.keys), 2, s.keys.signerKey), "edit record 2, add records, re-sign");
    const rewritten = await s.witness();
    expect(rewritten.code).toBe(1);
    expect(JSON.parse(rewritten.stdout)).toMatchObject({ refused: "inconsistent" });
    const { json } = await verifyWitnessed(s.auditorClone(), s.keys.verifierKey, s.witnessKey);
    expect(json.problems.map((p) => p.code)).toContain("witness-inconsistent");
  });

  it("refuses a checkpoint signed by another key, and a log key other than the one it witnessed", async () => {
    const s = await setting();
    const other = generateSignerKey(ORIGIN);
    expect(JSON.parse((await s.witness("--log-key", other.verifierKey)).stdout)).toMatchObject({ refused: "signature-invalid" });
    expect((await s.witness("--log-key", s.keys.verifierKey)).code).toBe(0);
    expect(JSON.parse((await s.witness("--log-key", other.verifierKey)).stdout)).toMatchObject({ refused: "log-key-changed" });
    s.publish(buildLedger(3, other), "re-keyed");
    expect(JSON.parse((await s.witness()).stdout)).toMatchObject({ refused: "signature-invalid" });
  });

  it("counts only the witnesses the auditor names, and a forged cosignature by one of them is a finding", async () => {
    const s = await setting();
    expect((await s.witness("--log-key", s.keys.verifierKey)).code).toBe(0);
    const stranger = await runCli(["witness", "keygen", "stranger.example/w", "--key-file", join(s.base, "stranger.key")], s.base);
    const strangerKey = stranger.stdout.trim().split("\n").at(-1) ?? "";
    const clone = s.auditorClone();
    const both = await runCli(["verify", "--key", s.keys.verifierKey, "--witness", s.witnessKey, "--witness", strangerKey, "--format", "json"], clone);
    expect(JSON.parse(both.stdout)).toMatchObject({ problems: [{ code: "witness-quorum" }] });
    expect((await runCli(["verify", "--key", s.keys.verifierKey, "--witness", s.witnessKey, "--witness", strangerKey, "--min-witnesses", "1"], clone)).code).toBe(0);

    // A tag whose cosignature line claims the trusted witness but signs another root.
    const tag = tags(clone).at(0) ?? "";
    const note = git(clone, "for-each-ref", "--format=%(contents)", tag) + "\n";
    const forged = note.replace(/^(.*\n\d+\n)[A-Za-z0-9+/=]+\n/, `$1${Buffer.alloc(32, 9).toString("base64")}\n`);
    expect(forged).not.toBe(note);
    const file = join(s.base, "forged.txt");
    execFileSync("sh", ["-c", `cat > '${file}'`], { input: forged });
    git(clone, "-c", "user.name=m", "-c", "user.email=m@x", "tag", "--cleanup=verbatim", "-a", "-F", file, "charter-witness/forged/4", "origin/charter-evidence");
    const { json } = await verifyWitnessed(clone, s.keys.verifierKey, s.witnessKey);
    expect(json.problems.map((p) => p.code)).toEqual(["witness-cosignature-invalid"]);
  });

  it("explains its usage errors", async () => {
    const s = await setting();
    const missing = await runCli(["witness", "--repo", s.remote], s.base);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("charter witness needs --repo, --state and --key-file");
    const first = await s.witness();
    expect(first.code).toBe(2);
    expect(first.stderr).toContain("the first run of a witness needs the log's verifier key");
    const again = await runCli(["witness", "keygen", "x.example/w", "--key-file", s.keyFile], s.base);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("keygen never overwrites a key");
    const badName = await runCli(["witness", "keygen", "bad\u0085name", "--key-file", join(s.base, "k2")], s.base);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain("contains a space");
  });
});

/** The ledger with record `seq` edited and every later record's chain and the checkpoint recomputed, as a key holder could. */
function editRecord(ledger: BuiltLedger, seq: number, signerKey: string): BuiltLedger {
  const records = ledger.records.map((r) => ({ ...r }));
  let prev: string | null = null;
  records.forEach((r, i) => {
    const record = parseCanonical(r.bytes) as Record<string, unknown>;
    if (i === seq) (record["body"] as { author: string }).author = "mallory";
    if (i > 0) record["prev"] = prev;
    r.bytes = canonicalBytes(record);
    prev = recordHash(r.bytes);
  });
  const tip = tipOf(records.map((r) => r.bytes));
  return { ...ledger, tip, records, checkpoint: checkpointFor(tip, [signerKey]) };
}
