/**
 * npm run playground — a narrated end-to-end run of Charter against the GitHub simulator, on a
 * machine with no GitHub account and no network. It seeds a simulated repository with this
 * repository's own agents/, runs the real app (Probot, signed webhooks, validated API calls),
 * and walks through a pull request that goes red, then green.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSignerKey } from "../src/evidence/signed-note.js";
import { createCharterApp } from "../src/github/app.js";
import { GitHubSimulator, startApp } from "../test/github-sim/index.js";
import type { CheckRun, Repository } from "../test/github-sim/state.js";
import { runCli } from "../test/cli/run-cli.js";
import { ownAgents } from "../test/helpers/agents-fixture.js";

const TRIAGE = "agents/support-triage/agent.yaml";

const say = (text = ""): void => {
  process.stdout.write(text + "\n");
};
const step = (n: number, text: string): void => {
  say(`\n── ${n}. ${text}`);
};

function show(run: CheckRun | undefined): void {
  if (!run) {
    say("   (no check run)");
    return;
  }
  const mark = run.conclusion === "success" ? "✔" : run.conclusion === "action_required" ? "…" : "✖";
  say(`   ${mark} check run "${run.name}": ${run.conclusion ?? run.status} — ${run.output.title ?? ""}`);
  for (const a of run.output.annotations) say(`     ${a.path}:${a.start_line}:${a.start_column ?? 1}  ${(a.title ?? "").replace(/^Charter /, "")}  ${a.message}`);
}

function charterRun(sim: GitHubSimulator, repo: Repository, sha: string): CheckRun | undefined {
  return sim.checkRunsFor(repo, sha).find((run) => run.name === "Charter");
}

const POLICY = `version: 1
rules:
  - name: Owners approve every agent change
    require: { approvals: 1, from: { owners: true }, sections: [Rollback plan] }
  - name: Security approves access expansions
    when: { changes: [permission-added, permission-widened, tool-added] }
    require: { approvals: 1, from: { teams: [acme/security] } }
governance:
  require: { approvals: 1, from: { teams: [acme/security] } }
`;

const BODY = "Move triage to the November model and let it read invoices.\n\n## Rollback plan\nRevert this pull request; the previous model and grants are in git history.\n";

function showRules(run: CheckRun | undefined): void {
  const summary = run?.output.summary ?? "";
  const needed = /\*\*Still needed:\*\*\n((?:- .*\n)+)/.exec(summary)?.[1];
  if (needed) for (const line of needed.trimEnd().split("\n")) say(`     ${line}`);
}

async function main(): Promise<void> {
  say("Charter playground: a simulated GitHub, the real Charter app, no network.");
  const sim = await GitHubSimulator.create({ keepTempDirs: true });
  const agents = ownAgents();
  try {
    step(1, "A repository acme/agents holding this project's sample agents and an approval policy");
    sim.addOrganization("acme");
    sim.addTeam("acme", "support-eng", ["tara"]);
    sim.addTeam("acme", "security", ["sam"]);
    const repo = await sim.createRepository({ owner: "acme", name: "agents", files: { ...agents, ".github/charter.yml": POLICY, "README.md": "# Acme's AI agents\n" } });
    say(`   ${Object.keys(agents).filter((p) => p.endsWith("agent.yaml")).length} agents; .github/charter.yml: owners approve every change, @acme/security approves access expansions.`);
    say("   The repository is a real git repository at:");
    say(`   ${sim.repoPath(repo)}`);
    say(`   (inspect it with: git --git-dir ${sim.repoPath(repo)} log --all --stat)`);

    step(2, "Charter starts as a GitHub App (Probot) and receives signed webhooks over HTTP");
    // A signing key made for this run; a real deployment reads CHARTER_SIGNING_KEY.
    const keys = generateSignerKey("charter-playground-evidence");
    const app = await startApp(sim, createCharterApp({ appId: sim.appId, signingKey: keys.signerKey }));
    say(`   listening at ${app.url}/api/github/webhooks`);

    step(3, "bob opens a pull request that floats the triage agent's model and widens its access");
    const original = agents[TRIAGE] ?? "";
    const broken = original
      .replace('version: "20250929"', "version: latest")
      .replace("postgres:select:crm.public.orders@crm-prod", "postgres:select:crm.public.*@crm-prod")
      .replace("maxLifetime: 1h", "maxLifetime: 30d");
    const opened = await sim.openPullRequest(repo, { author: "bob", branch: "triage-november", title: "Triage on the November model", body: BODY, files: { [TRIAGE]: broken } });
    say(`   pull request #${opened.pull.issue.number}, head ${opened.sha.slice(0, 7)}; webhook answered ${opened.delivery.status}`);
    show(charterRun(sim, repo, opened.sha));

    step(4, "bob pushes a fix: a pinned model version, one named table more, one-hour credentials");
    const fixed = original
      .replace('version: "20250929"', 'version: "20251101"')
      .replace("postgres:select:crm.public.orders@crm-prod", "postgres:select:crm.public.orders@crm-prod\n      - postgres:select:crm.public.invoices@crm-prod");
    let head = (await sim.pushToPullRequest(opened.pull, { [TRIAGE]: fixed }, { message: "Pin the model; name the table" })).sha;
    let run = charterRun(sim, repo, head);
    show(run);
    say("   What changed, as Charter classifies it:");
    for (const row of (run?.output.summary ?? "").split("\n").filter((l) => l.startsWith("| `support-triage`"))) say(`     ${row}`);
    say("   Still needed:");
    showRules(run);

    step(5, "bob tries to approve his own pull request; the owner dana-support approves");
    try {
      await sim.submitReview(opened.pull, { user: "bob", state: "APPROVED" });
      say("   bob's approval was recorded, and Charter does not count it: he is the author.");
    } catch {
      say("   GitHub refuses an author's approval outright (Charter would not count it either).");
    }
    await sim.submitReview(opened.pull, { user: "dana-support", state: "APPROVED" });
    run = charterRun(sim, repo, head);
    show(run);
    showRules(run);

    step(6, "bob pushes one more commit: dana's approval was for the previous commit");
    head = (await sim.pushToPullRequest(opened.pull, { [TRIAGE]: fixed.replace("temperature: 0.2", "temperature: 0.1") }, { message: "Lower temperature" })).sha;
    run = charterRun(sim, repo, head);
    show(run);
    const stale = /@dana-support's approval is for an older commit[^\n]*/.exec(run?.output.summary ?? "")?.[0];
    if (stale) say(`   ${stale}`);
    showRules(run);

    step(7, "dana-support approves the new commit, and sam approves for @acme/security");
    await sim.submitReview(opened.pull, { user: "dana-support", state: "APPROVED" });
    await sim.submitReview(opened.pull, { user: "sam", state: "APPROVED" });
    const green = charterRun(sim, repo, head);
    show(green);
    say("\n   The check run's rules, as reviewers see them on GitHub:\n");
    const rules = (green?.output.summary ?? "").split("### Rules")[1]?.split("\n<sub>")[0] ?? "";
    for (const line of rules.trim().split("\n")) say(`   │ ${line}`);

    step(8, "dana-support merges; Charter freezes the decision into the evidence ledger");
    await sim.mergePullRequest(opened.pull, { by: "dana-support" });
    await sim.idle();
    const workspace = mkdtempSync(join(tmpdir(), "charter-playground-"));
    const clone = join(workspace, "agents");
    execFileSync("git", ["clone", "-q", sim.repoPath(repo), clone]);
    const log = execFileSync("git", ["-C", clone, "log", "--format=%s", "origin/charter-evidence"], { encoding: "utf8" }).trim().split("\n");
    say(`   the charter-evidence branch: ${log.length} commit${log.length === 1 ? "" : "s"}, latest "${log[0] ?? ""}"`);
    say(`   an auditor's clone: ${clone}`);

    step(9, "An auditor verifies the ledger offline, with the published key");
    const verified = await runCli(["verify", "--key", keys.verifierKey], clone);
    say(`   $ charter verify --key <published key>   → exit ${verified.code}`);
    say(`   ${verified.stdout.split("\n")[0] ?? ""}`);

    step(10, "Someone quietly edits the record; verification names it");
    execFileSync("git", ["-C", clone, "checkout", "-q", "-b", "tampered", "origin/charter-evidence"]);
    const recordFile = execFileSync("git", ["-C", clone, "ls-files", "records/"], { encoding: "utf8" }).trim().split("\n").at(-1) ?? "";
    const stored = readFileSync(join(clone, recordFile), "utf8");
    writeFileSync(join(clone, recordFile), stored.replace('"mergedBy":"dana-support"', '"mergedBy":"someone-else"'));
    execFileSync("git", ["-C", clone, "-c", "user.name=x", "-c", "user.email=x@x.invalid", "commit", "-q", "-am", "edit"]);
    const tampered = await runCli(["verify", "--branch", "tampered", "--key", keys.verifierKey], clone);
    say(`   $ charter verify --branch tampered   → exit ${tampered.code}`);
    for (const line of tampered.stdout.trim().split("\n").slice(0, 3)) say(`   ${line}`);

    step(11, "What it cost");
    const calls = Object.entries(sim.calls)
      .map(([op, n]) => `${op} ×${n}`)
      .join(", ");
    say(`   GitHub API requests: ${calls}`);
    say(`   requests GitHub would have rejected: ${sim.rejected.length}`);

    await app.close();
    say(`\nDone. The simulated repository stays at ${sim.repoPath(repo)} and the auditor's clone at ${clone};`);
    say("delete them when finished. Next in this story (as Charter grows): provisioning of the approved credentials.");
  } finally {
    await sim.close();
  }
}

await main();
