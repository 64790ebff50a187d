import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consistencyProof, leafHash, rootOf } from "../../src/evidence/merkle.js";
import { generateSignerKey, keyIdFor, openNote, parseVerifierKey } from "../../src/evidence/signed-note.js";
import { readWitnessNotes } from "../../src/git/witness-tags.js";
import { isCharterError } from "../../src/errors.js";
import { runCli } from "../cli/run-cli.js";
import { changeBody, ORIGIN, REPOSITORY } from "../evidence/ledger-fixture.js";
import { ledgerOf, putEvidence } from "../helpers/evidence-repo.js";
import { type TempRepo, tempRepo } from "../helpers/temp-repo.js";

/**
 * Charter's checkpoints, inclusion and consistency proofs and witness cosignatures, checked by
 * Go's golang.org/x/mod/sumdb/note and sumdb/tlog as Debian packages them
 * (golang-golang-x-mod-dev under /usr/share/gocode): built offline in GOPATH mode, with nothing
 * downloaded or vendored. .ci/run installs golang-go and golang-golang-x-mod-dev, so this runs
 * wherever CI runs; a machine without them fails here with the reason.
 */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const GUIDE = join(ROOT, "docs", "auditor-guide.md");

let work: string;
let repo: TempRepo;
const repos: TempRepo[] = [];
let goEnv: NodeJS.ProcessEnv;
const keys = generateSignerKey("acme.example/evidence");

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "charter-go-"));
  goEnv = { ...process.env, GO111MODULE: "off", GOPATH: "/usr/share/gocode", GOCACHE: join(work, "go-cache"), GOPROXY: "off", GOFLAGS: "", HOME: work };
  const version = spawnSync("go", ["version"], { env: goEnv, encoding: "utf8" });
  if (version.status !== 0) throw new Error(`go is not installed (${version.error?.message ?? version.stderr}): install golang-go and golang-golang-x-mod-dev, as .ci/run does`);
}, 60_000);

afterAll(() => {
  for (const r of repos) r.remove();
  rmSync(work, { recursive: true, force: true });
});

function goBuild(source: string, name: string): string {
  const output = join(work, name);
  const result = spawnSync("go", ["build", "-o", output, source], { env: goEnv, encoding: "utf8", cwd: ROOT });
  if (result.status !== 0) throw new Error(`go build ${source} failed: ${result.stderr}`);
  return output;
}

/** A real ledger written by the append path, on a repository's evidence branch, cosigned by a real witness run. */
async function cosignedLedger() {
  repo = tempRepo({ "README.md": "# agents\n" });
  repos.push(repo);
  repo.commitAll("main");
  const emergency = { ...changeBody(2), emergency: { active: true, reason: "credential leak" } };
  const entries = [
    { kind: "change" as const, body: changeBody(1) },
    { kind: "change" as const, body: emergency },
    { kind: "exception" as const, body: { kind: "direct-push" as const, repository: { ...REPOSITORY }, commits: ["b".repeat(40)], pullRequest: null, reason: "pushed to main", agents: [], issue: 9 } },
    ...[4, 5, 6, 7, 8, 9, 10].map((n) => ({ kind: "change" as const, body: changeBody(n) })),
  ];
  const ledger = ledgerOf(entries, { signerKey: keys.signerKey, verifierKey: keys.verifierKey });
  putEvidence(repo, ledger);
  const witnessFile = join(mkdtempSync(join(work, "witness-")), "witness.key");
  const keygen = await runCli(["witness", "keygen", "audit.example/witness", "--key-file", witnessFile], work);
  const witnessKey = keygen.stdout.trim().split("\n").at(-1) ?? "";
  const cosigned = await runCli(["witness", "--repo", repo.root, "--state", join(witnessFile, "..", "state"), "--key-file", witnessFile, "--log-key", keys.verifierKey], work);
  expect(cosigned.code).toBe(0);
  const notes = await readWitnessNotes(repo.root);
  return { ledger, witnessKey, cosignedNote: notes[0]?.note ?? "" };
}

describe("Go's sumdb/note and sumdb/tlog verify Charter's evidence", () => {
  it("the auditor guide's program, run exactly as the guide shows, checks a checkpoint and an inclusion proof", async () => {
    const guide = readFileSync(GUIDE, "utf8");
    const program = /```go\n(\/\/ verify-inclusion:[\s\S]*?)```/.exec(guide)?.[1];
    const shell = /Save it as `verify-inclusion\.go`[\s\S]*?```sh\n([\s\S]*?)```/.exec(guide)?.[1];
    expect(program).toBeDefined();
    expect(shell).toBeDefined();
    const { ledger } = await cosignedLedger();
    const clone = join(work, "auditor");
    execFileSync("git", ["clone", "-q", repo.root, clone]);
    writeFileSync(join(clone, "verify-inclusion.go"), program ?? "");
    // `charter` on PATH is this checkout's built CLI, as an installed one would be.
    const bin = join(work, "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "charter"), `#!/bin/sh\nexec node ${JSON.stringify(join(ROOT, "bin", "charter.js"))} "$@"\n`);
    chmodSync(join(bin, "charter"), 0o755);
    const script = (shell ?? "").replace("'charter+1a2b3c4d+AbC…'", `'${keys.verifierKey}'`);
    expect(script).toContain(keys.verifierKey);
    const env = { ...goEnv, PATH: `${bin}:${process.env["PATH"] ?? ""}` };
    const run = spawnSync("sh", ["-e", "-c", script], { cwd: clone, env, encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`ok: record 5 is in ${ORIGIN}'s tree of ${ledger.records.length} records, signed by acme.example/evidence\n`);
    // The same program refuses the record once edited.
    writeFileSync(join(clone, "record.json"), readFileSync(join(clone, "record.json"), "utf8").replace("dana-support", "dana-suppord"));
    const tampered = spawnSync("sh", ["-c", script.split("\n").filter((l) => !l.startsWith("git show") || l.includes(":checkpoint")).join("\n")], { cwd: clone, env, encoding: "utf8" });
    expect(tampered.status).toBe(1);
    expect(tampered.stderr).toContain("verify-inclusion: invalid transparency proof");
  });

  it("the tree over every record, inclusion and consistency proofs, a witness cosignature, key names and notes", async () => {
    const binary = goBuild("./test/conformance/go", "conformance");
    const { ledger, witnessKey, cosignedNote } = await cosignedLedger();
    const leaves = ledger.records.map((r) => leafHash(r.bytes));
    const inclusion = [];
    for (let seq = 0; seq < ledger.records.length; seq++) {
      const shown = await runCli(["evidence", "show", "--seq", String(seq)], repo.root);
      const block = shown.stdout.slice(shown.stdout.indexOf("inclusion proof"));
      const proof = block.slice(0, block.indexOf("\n\n")).split("\n").slice(1).map((line) => Buffer.from(line.trim(), "hex").toString("base64"));
      inclusion.push({ index: seq, proof });
    }
    const consistency = [];
    for (let m = 1; m < ledger.records.length; m++) {
      consistency.push({ size: m, root: Buffer.from(rootOf(leaves.slice(0, m))).toString("base64"), proof: consistencyProof(m, leaves).map((h) => Buffer.from(h).toString("base64")) });
    }

    // Key names: the whole White_Space class, look-alikes that are not white space, control
    // characters, and random names.
    const special = [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2005, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff, 0x200b, 0x200d, 0x2060, 0x180e, 0x01, 0x1f, 0x7f, 0x9f, 0x2b];
    const random = fc.sample(fc.string({ unit: "binary", minLength: 1, maxLength: 8 }), { numRuns: 300, seed: 13 }).filter((n) => !/[\ud800-\udfff]/u.test(n));
    const keyNames = [...special.map((cp) => `log${String.fromCodePoint(cp)}name`), ...random, "acme.example/evidence"];
    // Notes: the real checkpoint with a signature line added or altered, as an attacker may.
    const line = ledger.checkpoint.slice(ledger.checkpoint.indexOf("\n\n") + 2);
    const notes = fc
      .sample(
        fc.oneof(
          fc.tuple(fc.constantFrom(...keyNames), fc.uint8Array({ minLength: 5, maxLength: 80 })).map(([name, blob]) => `${ledger.checkpoint}\u2014 ${name} ${Buffer.from(blob).toString("base64")}\n`),
          fc.tuple(fc.nat(), fc.string({ unit: "binary", maxLength: 3 })).map(([at, text]) => {
            const i = at % ledger.checkpoint.length;
            return ledger.checkpoint.slice(0, i) + text + ledger.checkpoint.slice(i);
          }),
          fc.constant(ledger.checkpoint + line),
        ),
        { numRuns: 400, seed: 7 },
      )
      .map((note) => Buffer.from(note, "utf8").toString("base64"));

    const input = {
      logKey: keys.verifierKey,
      checkpoint: ledger.checkpoint,
      records: ledger.records.map((r) => Buffer.from(r.bytes).toString("base64")),
      inclusion,
      consistency,
      cosigned: cosignedNote,
      witnessKey,
      keyNames,
      notes,
    };
    const run = spawnSync(binary, [], { input: JSON.stringify(input), encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout) as {
      origin: string;
      size: number;
      signedBy: string[];
      rootMatches: boolean;
      inclusion: string[];
      consistency: string[];
      cosigners: string[];
      cosignedAt: number[];
      keyNamesValid: boolean[];
      notesOpen: boolean[];
    };
    expect(out).toMatchObject({ origin: ORIGIN, size: ledger.records.length, signedBy: ["acme.example/evidence"], rootMatches: true });
    expect(out.inclusion).toEqual(inclusion.map(() => "ok"));
    expect(out.consistency).toEqual(consistency.map(() => "ok"));
    expect(out.cosigners).toEqual(["acme.example/evidence", "audit.example/witness"]);
    expect(out.cosignedAt).toHaveLength(1);
    expect(out.cosignedAt[0]).toBe(openCosignedTime(cosignedNote));

    // Charter accepts a key name exactly when Go does, except names with a control character,
    // which Charter refuses because no note can carry them.
    const charterAccepts = keyNames.map((name) => accepts(() => parseVerifierKey(keyWithName(name))));
    keyNames.forEach((name, i) => {
      const expected = (out.keyNamesValid[i] ?? false) && !Array.from(name).some((c) => c.charCodeAt(0) < 0x20);
      expect([name, charterAccepts[i]]).toEqual([name, expected]);
    });
    // Every note Charter opens, Go opens: Charter never accepts what Go's verifier rejects.
    notes.forEach((note, i) => {
      if (accepts(() => openNote(Buffer.from(note, "base64"), [keys.verifierKey]))) expect([Buffer.from(note, "base64").toString("utf8"), out.notesOpen[i]]).toEqual([expect.any(String), true]);
    });
    expect(notes.filter((_, i) => out.notesOpen[i]).length).toBeGreaterThan(50);
  }, 120_000);
});

function keyWithName(name: string): string {
  const key = keys.verifierKey.slice(keys.verifierKey.indexOf("+", keys.verifierKey.indexOf("+") + 1) + 1);
  const raw = Buffer.from(key, "base64");
  return `${name}+${Buffer.from(keyIdFor(name, raw.subarray(1))).toString("hex")}+${key}`;
}

function accepts(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (error) {
    if (isCharterError(error)) return false;
    throw error;
  }
}

function openCosignedTime(note: string): number {
  const last = note.trim().split("\n").at(-1) ?? "";
  return Number(Buffer.from(last.split(" ")[2] ?? "", "base64").readBigUInt64BE(4));
}
