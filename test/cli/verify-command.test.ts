import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CHECKPOINT_PATH, PUBLIC_KEY_PATH } from "../../src/evidence/ledger.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { buildLedger, ORIGIN } from "../evidence/ledger-fixture.js";
import { evidenceRepo as makeEvidenceRepo } from "../helpers/evidence-repo.js";
import { type TempRepo, tempRepo } from "../helpers/temp-repo.js";
import { runCli } from "./run-cli.js";

let repo: TempRepo | undefined;
const dirs: string[] = [];
afterEach(() => {
  repo?.remove();
  repo = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A repository whose charter-evidence branch holds a real ledger of `changes` change records. */

function evidenceRepo(changes: number) {
  const built = makeEvidenceRepo(changes);
  repo = built.repo;
  return built;
}

describe("charter verify", () => {
  it("verifies an intact ledger against the published key and prints the checkpoint to save", async () => {
    const { repo: r, ledger } = evidenceRepo(3);
    const result = await runCli(["verify", "--key", ledger.verifierKey], r.root);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^verified: 4 records on charter-evidence \([0-9a-f]{12}\), Merkle root [0-9a-f]{64}\n/);
    expect(result.stdout).toContain(ledger.checkpoint);
  });

  it("finds the evidence branch in a fresh clone; with only the branch's own key it is consistent, not verified", async () => {
    const { repo: r } = evidenceRepo(2);
    const dir = mkdtempSync(join(tmpdir(), "charter-verify-"));
    dirs.push(dir);
    execFileSync("git", ["clone", "-q", r.root, join(dir, "clone")]);
    const result = await runCli(["verify", "--format", "json"], join(dir, "clone"));
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, status: "consistent-only", branch: "origin/charter-evidence", size: 3, trust: { anchor: "none" }, problems: [] });
  });

  it("clones the repository itself when --repo is an address, and removes the clone", async () => {
    const { repo: r, ledger } = evidenceRepo(2);
    const cwd = mkdtempSync(join(tmpdir(), "charter-verify-url-"));
    dirs.push(cwd);
    const result = await runCli(["verify", "--repo", `file://${r.root}`, "--key", ledger.verifierKey, "--format", "json"], cwd);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, branch: "charter-evidence", size: 3, problems: [] });
    const missing = await runCli(["verify", "--repo", `file://${join(cwd, "nothing-here")}`], cwd);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^charter: could not clone file:\/\/.*\nCheck the address/);
  });

  it("names the first edited record", async () => {
    const { repo: r, ledger } = evidenceRepo(3);
    const target = ledger.records[2];
    if (!target) throw new Error("fixture");
    r.git("checkout", "-q", "charter-evidence");
    const text = new TextDecoder().decode(target.bytes).replace('"approved"', '"blocked"');
    expect(text).not.toBe(new TextDecoder().decode(target.bytes));
    r.write({ [target.path]: text });
    r.commitAll("quietly edit record 2");
    r.git("checkout", "-q", "main");
    const result = await runCli(["verify", "--key", ledger.verifierKey, "--format", "json"], r.root);
    expect(result.code).toBe(1);
    const json = JSON.parse(result.stdout) as { ok: boolean; problems: { seq?: number; code: string }[] };
    expect(json.ok).toBe(false);
    expect(json.problems[0]).toMatchObject({ seq: 3, code: "prev-mismatch" });
  });

  it("refuses a ledger signed by a key the auditor does not trust", async () => {
    const { repo: r } = evidenceRepo(1);
    const other = generateSignerKey(ORIGIN);
    const result = await runCli(["verify", "--key", other.verifierKey], r.root);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("signature-invalid");
  });

  it("catches a truncated log against a checkpoint saved earlier", async () => {
    const { repo: r, ledger } = evidenceRepo(3);
    const saved = join(r.root, "..", `saved-${String(Date.now())}.checkpoint`);
    writeFileSync(saved, ledger.checkpoints[4] ?? "");
    dirs.push(saved);
    // History rewritten by someone holding the key: the last record removed, the checkpoint re-signed.
    const shorter = buildLedger(2, { signerKey: ledger.signerKey, verifierKey: ledger.verifierKey });
    r.git("checkout", "-q", "charter-evidence");
    r.git("rm", "-q", "-rf", ".");
    const files: Record<string, Uint8Array | string> = { [CHECKPOINT_PATH]: shorter.checkpoint, [PUBLIC_KEY_PATH]: `${ledger.verifierKey}\n` };
    for (const rec of shorter.records) files[rec.path] = rec.bytes;
    r.write(files);
    r.commitAll("rewrite");
    r.git("checkout", "-q", "main");
    expect((await runCli(["verify", "--key", ledger.verifierKey], r.root)).code).toBe(0);
    const result = await runCli(["verify", "--key", ledger.verifierKey, "--trusted-checkpoint", saved], r.root);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("inconsistent-with-trusted");
  });

  it("says clearly when there is no evidence branch", async () => {
    repo = tempRepo({ "a.txt": "a\n" });
    repo.commitAll("a");
    const result = await runCli(["verify"], repo.root);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no evidence branch charter-evidence or origin/charter-evidence");
    expect(result.stderr).toContain("git fetch origin charter-evidence");
  });
});
