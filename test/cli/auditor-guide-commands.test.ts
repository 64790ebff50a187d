// The auditor guide's commands beyond verification, run as written: the full CLI put on PATH
// with `npm link` as the guide says (in this checkout, already installed, into a throwaway npm
// prefix), a clone of a remote whose evidence branch holds the hand-built audit ledger of
// test/audit/audit-ledger.ts, then every ```sh block of "The population and samples" and
// "Answering audit requests", and the witness commands of "Witnesses", in a shell. The only text
// replaced is what the reader is told to fill in: the example URL and the published keys. The
// expected rows come from the fixture's own table, not from the commands.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLedger, auditRepo } from "../audit/audit-ledger.js";
import { type Completed, runGroup } from "../helpers/child-processes.js";
import { auditorMachine, linkFullCli } from "../helpers/auditor-machine.js";
import type { TempRepo } from "../helpers/temp-repo.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const GUIDE = readFileSync(join(ROOT, "docs/auditor-guide.md"), "utf8");
const GUIDE_URL = "https://github.com/ACME/agents";
const GUIDE_KEY = "charter+1a2b3c4d+AbC…";
const GUIDE_WITNESS_KEY = "audit.example/witness+5e6f7a8b+BPq…";

/** The ```sh blocks of the guide between a heading and the next heading at most `level` deep. */
function shellBlocks(heading: string, level: number): string[] {
  const start = GUIDE.indexOf(`\n${heading}\n`);
  expect(start, `${heading} is in the guide`).toBeGreaterThanOrEqual(0);
  const rest = GUIDE.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`\\n#{1,${level}} `));
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
}

const ledger = auditLedger();
let work = "";
let source: TempRepo | undefined;
let env: NodeJS.ProcessEnv;
let auditorDir: string;

async function sh(script: string, cwd: string): Promise<Completed> {
  return runGroup("/bin/sh", ["-e", "-c", script], { cwd, env, timeoutMs: 120_000, allowFailure: true });
}

/** Runs a block of the guide in the clone and requires it to succeed without an error message. */
async function inClone(block: string): Promise<Completed> {
  const run = await sh(block, join(auditorDir, "agents"));
  expect(run.code, `${block}\n${run.stdout}${run.stderr}`).toBe(0);
  expect(run.stderr).not.toMatch(/error|usage/i);
  return run;
}

const remoteUrl = (): string => pathToFileURL(join(work, "srv/agents")).href;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "charter-guide-"));
  const base = join(work, "auditor");
  auditorDir = join(base, "audit");
  mkdirSync(auditorDir, { recursive: true });
  env = auditorMachine(base);

  source = auditRepo(ledger);
  const remote = join(work, "srv/agents.git");
  source.git("init", "-q", "--bare", "-b", "main", remote);
  source.git("push", "-q", remote, "main", "charter-evidence");
  // The guide's install: `npm ci` (this checkout is installed already), then `npm link`.
  expect(GUIDE).toContain("run `npm ci` and then `npm link`");
  await linkFullCli(ROOT, env);
  const help = await sh("charter --help", auditorDir);
  expect(help.stdout).toContain("audit");
  // The clone of the guide's first visit.
  const clone = ((shellBlocks("## Verifying the ledger", 2)[0] ?? "").split("\n").find((l) => l.startsWith("git clone")) ?? "").replaceAll(GUIDE_URL, remoteUrl());
  expect(clone).toBe(`git clone ${remoteUrl()} && cd agents`);
  const cloned = await sh(clone, auditorDir);
  expect(cloned.code, cloned.stderr).toBe(0);
}, 240_000);

afterAll(() => {
  source?.remove();
  if (work !== "") rmSync(work, { recursive: true, force: true, maxRetries: 5 });
});

describe("the auditor guide's audit commands, run as written with the full CLI", () => {
  it("a witness cosigns the log as the guide shows, and verify --witness checks the cosignature in a fresh clone", async () => {
    const keygen = /`(charter witness keygen [^`]+)`/.exec(GUIDE)?.[1]?.replace(/\s+/g, " ");
    expect(keygen).toBe("charter witness keygen audit.example/witness --key-file witness.key");
    const generated = await sh(keygen ?? "", auditorDir);
    expect(generated.code, generated.stdout + generated.stderr).toBe(0);
    const witnessKey = /audit\.example\/witness\+[0-9a-f]{8}\+\S+/.exec(generated.stdout)?.[0];
    expect(witnessKey, generated.stdout).toBeDefined();

    const [verifyWithWitness, runWitness] = shellBlocks("### Witnesses", 3);
    const cosign = await sh((runWitness ?? "").replaceAll(GUIDE_URL, remoteUrl()).replaceAll(GUIDE_KEY, ledger.verifierKey), auditorDir);
    expect(cosign.code, cosign.stdout + cosign.stderr).toBe(0);

    // The clone was made before the witness ran: fetch its tags as the guide says.
    const fetchTags = /\(for a clone made with other settings, fetch them:\s*`([^`]+)`/.exec(GUIDE)?.[1];
    expect(fetchTags).toBe("git fetch origin 'refs/tags/charter-witness/*:refs/tags/charter-witness/*'");
    await inClone(fetchTags ?? "");
    const verified = await inClone((verifyWithWitness ?? "").replaceAll(GUIDE_KEY, ledger.verifierKey).replaceAll(GUIDE_WITNESS_KEY, witnessKey ?? ""));
    expect(verified.stdout).toContain("audit.example/witness");

    // The same line with a key the witness does not hold is refused: the check is real.
    const otherKey = (witnessKey ?? "").replace(/\+[0-9a-f]{8}\+/, "+00000000+");
    const refused = await sh((verifyWithWitness ?? "").replaceAll(GUIDE_KEY, ledger.verifierKey).replaceAll(GUIDE_WITNESS_KEY, otherKey), join(auditorDir, "agents"));
    expect(refused.code).not.toBe(0);
  });

  it("the population export and one record's proof", async () => {
    const blocks = shellBlocks("## The population and samples", 2);
    expect(blocks).toHaveLength(1);
    const run = await inClone(blocks[0] ?? "");
    const population = readFileSync(join(auditorDir, "agents/population.csv"), "utf8");
    // The fixture's 2025 records: 7 changes (PRs 11–14, 16, 18, 23) and 2 exceptions.
    for (const pr of [11, 12, 13, 14, 16, 18, 23]) expect(population).toContain(`https://github.com/acme/agents/pull/${pr}`);
    expect(population).toContain("admin-bypass");
    expect(population).toContain("direct-push");
    expect(run.stdout).toContain("/pull/13");
    expect(run.stdout).toMatch(/inclusion proof/i);
  });

  it("every block of \"Answering audit requests\"", async () => {
    const blocks = shellBlocks("## Answering audit requests", 2);
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    const outputs: string[] = [];
    for (const block of blocks) outputs.push((await inClone(block)).stdout);
    const changes = readFileSync(join(auditorDir, "agents/population.csv"), "utf8");
    expect(changes.trim().split("\n")).toHaveLength(1 + 7);
    const all = outputs.join("\n");
    // alice approved finance-reconciliation's PRs 11, 13, 16 and 23; the emergency lane holds 14, 16 and 18.
    expect(all).toContain("finance-reconciliation");
    expect(all).toMatch(/overdue/);
    const review = readFileSync(join(auditorDir, "agents/access-review.csv"), "utf8");
    expect(review).toContain("finance-reconciliation");
    expect(review).toContain("support-triage");
    const asOf = readFileSync(join(auditorDir, "agents/access-review-2025-06-30.csv"), "utf8");
    expect(asOf).toContain("support-triage");
    expect(all).toContain("admin-bypass");
    expect(all).toContain("drift-unresolved");
  });
});
