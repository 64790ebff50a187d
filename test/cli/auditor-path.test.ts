// The auditor's path, followed literally: the verifier packed as its release asset, installed with
// npm from the tarball into a throwaway prefix (no registry, no source tree), then every command of
// the evidence branch's README and of the auditor guide's "Verifying the ledger" section run as
// written in a shell, against a throwaway repository served as a remote. The only text replaced
// is what the reader is told to fill in: the verifier key (and, in the guide, the example URL).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderReadme, VERIFIER_KEY_PLACEHOLDER } from "../../src/evidence/site/readme.js";
import { parseSiteState } from "../../src/evidence/site/site-state.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { buildLedger, ORIGIN } from "../evidence/ledger-fixture.js";
import { type Completed, runGroup } from "../helpers/child-processes.js";
import { putEvidence } from "../helpers/evidence-repo.js";
import { type TempRepo, tempRepo } from "../helpers/temp-repo.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const GUIDE_URL = "https://github.com/ACME/agents";
const GUIDE_KEY = "charter+1a2b3c4d+AbC…";

/** The ```sh blocks of a Markdown text between a heading and the next heading of that level or above. */
function shellBlocks(markdown: string, heading: string, until: RegExp): string[] {
  const start = markdown.indexOf(`${heading}\n`);
  expect(start, `${heading} is in the text`).toBeGreaterThanOrEqual(0);
  const rest = markdown.slice(start + heading.length);
  const end = rest.search(until);
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
}

let work: string;
let remote: string;
let source: TempRepo;
let tarballDir: string;
const keys = generateSignerKey(ORIGIN);
/** Run in reverse by afterAll, also when beforeAll stopped half-way. */
const cleanups: (() => void)[] = [];

/** A fresh auditor: a machine of their own (home, trust file, npm prefix and cache) and a directory holding the release assets. */
function auditor(name: string): { dir: string; env: NodeJS.ProcessEnv } {
  const base = join(work, name);
  const dir = join(base, "audit");
  mkdirSync(dir, { recursive: true });
  for (const file of ["agent-charter-verifier.tgz", "agent-charter-verifier.tgz.sha256"]) copyFileSync(join(tarballDir, file), join(dir, file));
  const prefix = join(base, "prefix");
  const env: NodeJS.ProcessEnv = {
    PATH: `${join(prefix, "bin")}:${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: join(base, "home"),
    XDG_CONFIG_HOME: join(base, "home/.config"),
    npm_config_prefix: prefix,
    npm_config_cache: join(base, "npm-cache"),
    // Nothing may come from a registry: the tarball must carry everything.
    npm_config_offline: "true",
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_TERMINAL_PROMPT: "0",
  };
  mkdirSync(join(base, "home"), { recursive: true });
  return { dir, env };
}

async function sh(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Completed> {
  return runGroup("/bin/sh", ["-e", "-c", script], { cwd, env, timeoutMs: 120_000, allowFailure: true });
}

/** The operator's side: the evidence branch on the remote, pushed as a new state of the log. */
function publish(changes: number, force = false): string {
  const ledger = buildLedger(changes, keys);
  putEvidence(source, ledger);
  source.git("push", "-q", ...(force ? ["--force"] : []), remote, "charter-evidence");
  return ledger.checkpoint;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "charter-auditor-"));
  cleanups.push(() => { rmSync(work, { recursive: true, force: true }); });
  tarballDir = join(work, "release");
  await runGroup(process.execPath, [join(ROOT, "scripts/pack-verifier.js"), tarballDir], { cwd: ROOT, timeoutMs: 120_000 });
  source = tempRepo({ "README.md": "# agents\n" });
  cleanups.push(() => { source.remove(); });
  source.commitAll("main");
  remote = join(work, "srv/agents.git");
  source.git("init", "-q", "--bare", "-b", "main", remote);
  source.git("push", "-q", remote, "main");
}, 180_000);

afterAll(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
});

describe("the verifier's release tarball", () => {
  it("holds the bundled verifier, its schemas and no dependencies", async () => {
    const listing = await runGroup("tar", ["tzf", join(tarballDir, "agent-charter-verifier.tgz")], { timeoutMs: 30_000 });
    const files = listing.stdout.trim().split("\n");
    expect(files).toContain("package/bin/charter.js");
    expect(files).toContain("package/schemas/evidence-record.schema.json");
    expect(files.filter((f) => !/^package\/(bin|dist\/verifier|schemas)\/|^package\/(package\.json|README\.md)$/.test(f))).toEqual([]);
    const manifest = await runGroup("tar", ["xzOf", join(tarballDir, "agent-charter-verifier.tgz"), "package/package.json"], { timeoutMs: 30_000 });
    expect(JSON.parse(manifest.stdout)).not.toHaveProperty("dependencies");
    const [sha] = readFileSync(join(tarballDir, "agent-charter-verifier.tgz.sha256"), "utf8").split(" ");
    const actual = await runGroup("sha256sum", [join(tarballDir, "agent-charter-verifier.tgz")], { timeoutMs: 30_000 });
    expect(actual.stdout.split(" ")[0]).toBe(sha);
  });
});

describe("the evidence branch's README, run as written", () => {
  const url = (): string => pathToFileURL(join(work, "srv/agents")).href;
  const readme = (): string => {
    const ledger = buildLedger(2, keys);
    return renderReadme({ state: parseSiteState(null), repository: "ACME/agents", repositoryUrl: url(), branch: "charter-evidence", size: ledger.records.length, root: "00", publicKey: keys.verifierKey, agents: 0 });
  };
  const blocks = (): string[] => shellBlocks(readme(), "## Verify it yourself", /\n## /).map((b) => b.replaceAll(VERIFIER_KEY_PLACEHOLDER, keys.verifierKey));

  it("installs the verifier, verifies on a first visit and saves the checkpoint, then verifies a grown log against it", async () => {
    const first = publish(2, true);
    const [firstVisit, laterVisit] = blocks();
    expect(firstVisit).toContain("npm install -g ./agent-charter-verifier.tgz");
    expect(laterVisit).toContain("--trusted-checkpoint ../charter-checkpoint");
    const { dir, env } = auditor("readme");

    const run1 = await sh(firstVisit ?? "", dir, env);
    expect(run1.stderr).not.toMatch(/Error|npm error/);
    expect(run1.stdout).toContain("verified");
    expect(run1.code).toBe(0);
    expect(existsSync(join(dir, "..", "prefix", "lib", "node_modules", "agent-charter-verifier", "bin", "charter.js"))).toBe(true);
    expect(readFileSync(join(dir, "charter-checkpoint"), "utf8")).toBe(first);

    const grown = publish(4);
    const run2 = await sh(laterVisit ?? "", dir, env);
    expect(run2.code, run2.stdout + run2.stderr).toBe(0);
    expect(readFileSync(join(dir, "charter-checkpoint"), "utf8")).toBe(grown);
    expect(grown).not.toBe(first);
  });

  it("the saved checkpoint catches a log rewritten with the real key that a fresh trust file would accept", async () => {
    publish(3, true);
    const [firstVisit, laterVisit] = blocks();
    const { dir, env } = auditor("readme-rewrite");
    expect((await sh(firstVisit ?? "", dir, env)).code).toBe(0);

    // The key holder truncates the log and re-signs it; the auditor comes back from another machine.
    publish(1, true);
    const verifyLine = (laterVisit ?? "").split("\n").find((l) => l.startsWith("charter verify")) ?? "";
    const elsewhere = { ...env, XDG_CONFIG_HOME: join(work, "readme-rewrite/other-machine") };
    const refetch = "cd evidence && git fetch -q origin && git reset -q --hard origin/charter-evidence";
    const caught = await sh(`${refetch}\n${verifyLine}`, dir, elsewhere);
    expect(caught.code).toBe(1);
    expect(caught.stdout).toMatch(/NOT verified/);
    // Without the checkpoint nothing on that machine remembers the longer log: the rewrite passes.
    const unchecked = await sh(`cd evidence && charter verify --key "${keys.verifierKey}"`, dir, { ...elsewhere, XDG_CONFIG_HOME: join(work, "readme-rewrite/third-machine") });
    expect(unchecked.code).toBe(0);
  });

  it("saves no checkpoint unless verified: the branch's own key only is exit 3 and nothing written", async () => {
    publish(2, true);
    const [firstVisit] = blocks();
    const { dir, env } = auditor("readme-unanchored");
    const withoutKey = (firstVisit ?? "").replace(`--key "${keys.verifierKey}" `, "");
    const run = await sh(withoutKey, dir, env);
    expect(run.code).toBe(3);
    expect(existsSync(join(dir, "charter-checkpoint"))).toBe(false);
  });
});

describe("the auditor guide's verification section, run as written", () => {
  const blocks = (): string[] =>
    shellBlocks(readFileSync(join(ROOT, "docs/auditor-guide.md"), "utf8"), "## Verifying the ledger", /\n#{2,3} /).map((b) =>
      b.replaceAll(GUIDE_URL, pathToFileURL(join(work, "srv/agents")).href).replaceAll(GUIDE_KEY, keys.verifierKey),
    );

  it("installs, verifies a full clone on a first visit, then a later visit against the saved checkpoint", async () => {
    publish(2, true);
    const [firstVisit, laterVisit] = blocks();
    expect(blocks()).toHaveLength(2);
    const { dir, env } = auditor("guide");
    const run1 = await sh(firstVisit ?? "", dir, env);
    expect(run1.code, run1.stdout + run1.stderr).toBe(0);
    expect(readFileSync(join(dir, "charter-checkpoint"), "utf8")).toBe(buildLedger(2, keys).checkpoint);
    const grown = publish(3);
    const run2 = await sh(laterVisit ?? "", dir, env);
    expect(run2.code, run2.stdout + run2.stderr).toBe(0);
    expect(readFileSync(join(dir, "charter-checkpoint"), "utf8")).toBe(grown);
  });

  it("a --single-branch clone is completeness-unchecked until the default branch is fetched and named, as the guide says", async () => {
    publish(2, true);
    const { dir, env } = auditor("guide-single");
    const source = pathToFileURL(join(work, "srv/agents")).href;
    expect((await sh("npm install -g ./agent-charter-verifier.tgz", dir, env)).code).toBe(0);
    const single = await sh(`git clone -q --single-branch --branch charter-evidence ${source} single && cd single && charter verify --key "${keys.verifierKey}"`, dir, env);
    expect(single.code).toBe(1);
    expect(single.stdout).toContain("completeness-unchecked");
    const fixed = await sh(`cd single && git fetch -q origin main:refs/remotes/origin/main && charter verify --key "${keys.verifierKey}" --default-branch origin/main`, dir, env);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
  });
});
