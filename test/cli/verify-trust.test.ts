import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { idempotencyKey } from "../../src/evidence/ledger.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { buildLedger, changeBody, ORIGIN, REPOSITORY } from "../evidence/ledger-fixture.js";
import { evidenceRepo, ledgerOf, putEvidence } from "../helpers/evidence-repo.js";
import type { TempRepo } from "../helpers/temp-repo.js";
import { runCli } from "./run-cli.js";

let repo: TempRepo | undefined;
afterEach(() => {
  repo?.remove();
  repo = undefined;
});

interface VerifyJson {
  ok: boolean;
  status: string;
  trust: { anchor: string; key: string; trustFile: string };
  problems: { code: string; message: string }[];
}
const verify = async (root: string, ...args: string[]): Promise<{ code: number; json: VerifyJson }> => {
  const result = await runCli(["verify", "--format", "json", ...args], root);
  expect(result.stderr).toBe("");
  return { code: result.code, json: JSON.parse(result.stdout) as VerifyJson };
};
const codes = (json: VerifyJson): string[] => json.problems.map((p) => p.code);
const trustFile = (): string => process.env["CHARTER_TRUST_FILE"] ?? "";

/** The attacker's move: the whole ledger rebuilt and re-signed with a key they hold, published key included. */
function rewriteWithNewKey(r: TempRepo, changes: number): void {
  putEvidence(r, buildLedger(changes, generateSignerKey(ORIGIN)), "rewrite");
}

describe("charter verify without an explicit key trusts nothing by default", () => {
  it("does not exit 0 for a chain rewritten and re-signed with a new key when no key was given", async () => {
    const { repo: r } = evidenceRepo(3);
    repo = r;
    rewriteWithNewKey(r, 3);
    const { code, json } = await verify(r.root);
    expect(code).toBe(3);
    expect(json).toMatchObject({ ok: false, status: "consistent-only", trust: { anchor: "none" } });
    const text = await runCli(["verify"], r.root);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/^consistent, NOT verified: 4 records/);
    expect(text.stdout).toContain("--trust-on-first-use");
  });

  it("remembers the key on first use when asked, and fails hard when a rewrite brings another key", async () => {
    const { repo: r, ledger } = evidenceRepo(3);
    repo = r;
    const first = await verify(r.root, "--trust-on-first-use");
    expect(first.code).toBe(0);
    expect(first.json).toMatchObject({ ok: true, status: "verified", trust: { anchor: "first-use", key: ledger.verifierKey } });
    expect(readFileSync(trustFile(), "utf8")).toContain(`key\t${ORIGIN}\t${ledger.verifierKey}\t`);
    // Later visits need no flag: the remembered key anchors them.
    expect((await verify(r.root)).json.trust.anchor).toBe("remembered");

    rewriteWithNewKey(r, 4);
    for (const args of [[], ["--trust-on-first-use"]]) {
      const { code, json } = await verify(r.root, ...args);
      expect(code).toBe(1);
      // The forged checkpoint is checked against the remembered key only: it does not verify, and the key change is named.
      expect(codes(json)).toEqual(expect.arrayContaining(["signature-invalid", "trusted-key-changed"]));
    }
    const text = await runCli(["verify", "--trust-on-first-use"], r.root);
    expect(text.stdout).toContain("NOT verified");
  });

  it("a new key given explicitly does not silence the remembered one: the key change fails and names the line to remove", async () => {
    const { repo: r, ledger } = evidenceRepo(2);
    repo = r;
    expect((await verify(r.root, "--key", ledger.verifierKey)).code).toBe(0);
    const forged = buildLedger(2, generateSignerKey(ORIGIN));
    putEvidence(r, forged, "rewrite");
    const { code, json } = await verify(r.root, "--key", forged.verifierKey);
    expect(code).toBe(1);
    expect(codes(json)).toContain("trusted-key-changed");
    expect(json.problems.find((p) => p.code === "trusted-key-changed")?.message).toContain(`remove line 4 of ${trustFile()}`);
  });

  it("remembers the tree, so a truncation re-signed with the real key fails on the next plain run", async () => {
    const { repo: r, ledger } = evidenceRepo(4);
    repo = r;
    expect((await verify(r.root, "--key", ledger.verifierKey)).code).toBe(0);
    putEvidence(r, buildLedger(2, { signerKey: ledger.signerKey, verifierKey: ledger.verifierKey }), "truncate");
    const { code, json } = await verify(r.root);
    expect(code).toBe(1);
    expect(json.trust.anchor).toBe("remembered");
    expect(json.problems.map((p) => p.message)).toContainEqual(expect.stringContaining("your trust file remembers"));
    expect(codes(json)).toContain("inconsistent-with-trusted");
  });
});

describe("a key pinned in the governed configuration", () => {
  /**
   * main: an initial commit, then the merge that pins the ledger's key (recorded as an approved
   * change), so the pin is a governance change made the way the policy allows.
   */
  function pinnedRepo() {
    const keys = generateSignerKey(ORIGIN);
    const { repo: r } = evidenceRepo(0);
    repo = r;
    r.write({ ".github/charter.yml": `version: 1\nevidence:\n  verifierKey: ${keys.verifierKey}\n` });
    const merge = r.commitAll("Pin the evidence key (#1)");
    const body = { ...changeBody(1), mergeSha: merge, idempotencyKey: idempotencyKey(REPOSITORY.id, 1, merge) };
    const ledger = ledgerOf([{ kind: "change", body }], keys);
    putEvidence(r, ledger);
    return { r, keys, ledger, merge };
  }

  it("verifies against the pinned key with no flag", async () => {
    const { r, keys } = pinnedRepo();
    const { code, json } = await verify(r.root);
    expect(json.problems).toEqual([]);
    expect(code).toBe(0);
    expect(json.trust).toMatchObject({ anchor: "pinned", key: keys.verifierKey });
  });

  it("refuses a ledger re-signed with another key, though the branch publishes that key", async () => {
    const { r } = pinnedRepo();
    const forgedKeys = generateSignerKey(ORIGIN);
    putEvidence(r, ledgerOf([], forgedKeys), "rewrite");
    const { code, json } = await verify(r.root);
    expect(code).toBe(1);
    expect(codes(json)).toContain("signature-invalid");
  });

  it("refuses a pin swapped by a direct push, even when the forged ledger records the push as an exception", async () => {
    const { r, merge } = pinnedRepo();
    const attacker = generateSignerKey(ORIGIN);
    r.write({ ".github/charter.yml": `version: 1\nevidence:\n  verifierKey: ${attacker.verifierKey}\n` });
    const push = r.commitAll("direct push: swap the pin");
    const body = { ...changeBody(1), mergeSha: merge, idempotencyKey: idempotencyKey(REPOSITORY.id, 1, merge) };
    const exception = { kind: "direct-push" as const, repository: { ...REPOSITORY }, commits: [push], pullRequest: null, reason: "pushed straight to main", agents: [], issue: 7 };
    putEvidence(r, ledgerOf([{ kind: "change", body }, { kind: "exception", body: exception }], attacker), "rewrite under the new pin");
    const { code, json } = await verify(r.root);
    expect(code).toBe(1);
    expect(json.trust.anchor).toBe("pinned");
    expect(codes(json)).toEqual(["pinned-key-change-unapproved"]);
    expect(json.problems[0]?.message).toContain(`commit ${push.slice(0, 12)} changed the pinned key`);
  });

  it("reports a key given by the auditor that the governed configuration does not pin", async () => {
    const { r } = pinnedRepo();
    const other = buildLedger(0, generateSignerKey(ORIGIN));
    putEvidence(r, other, "rewrite");
    const { code, json } = await verify(r.root, "--key", other.verifierKey);
    expect(code).toBe(1);
    expect(codes(json)).toContain("pinned-key-mismatch");
  });

  it("reads an unreadable policy as a hidden pin, not as no pin", async () => {
    const { r } = pinnedRepo();
    r.write({ ".github/charter.yml": "version: 1\nevidence:\n  verifierKey: [\n" });
    r.commitAll("break the policy");
    const { code, json } = await verify(r.root, "--trust-on-first-use");
    expect(code).toBe(1);
    expect(codes(json)).toContain("pinned-key-unreadable");
  });
});

describe("usage", () => {
  it("refuses malformed keys and witness counts before reading anything", async () => {
    const { repo: r, ledger } = evidenceRepo(1);
    repo = r;
    const bad = await runCli(["verify", "--key", "not-a-key"], r.root);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^charter: --key not-a-key: verifier key must look like/);
    const witness = await runCli(["verify", "--key", ledger.verifierKey, "--witness", ledger.verifierKey], r.root);
    expect(witness.code).toBe(2);
    expect(witness.stderr).toContain("signature type 0x04");
    const many = await runCli(["verify", "--key", ledger.verifierKey, "--min-witnesses", "1"], r.root);
    expect(many.code).toBe(2);
    expect(many.stderr).toContain("--min-witnesses 1 is not a count between 0 and the 0 --witness keys given");
  });
});
