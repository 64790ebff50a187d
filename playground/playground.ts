/**
 * npm run playground — a narrated end-to-end run of Charter against the GitHub simulator, on a
 * machine with no GitHub account and no network. It seeds a simulated repository with this
 * repository's own agents/, runs the real app (Probot, signed webhooks, validated API calls),
 * and walks through a pull request that goes red, then green.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createCharterApp } from "../src/github/app.js";
import { GitHubSimulator, startApp } from "../test/github-sim/index.js";
import type { CheckRun, Repository } from "../test/github-sim/state.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const TRIAGE = "agents/support-triage/agent.yaml";

const say = (text = ""): void => {
  process.stdout.write(text + "\n");
};
const step = (n: number, text: string): void => {
  say(`\n── ${n}. ${text}`);
};

function ownAgents(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(ROOT, path)] = readFileSync(path, "utf8");
    }
  };
  walk(join(ROOT, "agents"));
  return out;
}

function show(run: CheckRun | undefined): void {
  if (!run) {
    say("   (no check run)");
    return;
  }
  const mark = run.conclusion === "success" ? "✔" : "✖";
  say(`   ${mark} check run "${run.name}": ${run.conclusion ?? run.status} — ${run.output.title ?? ""}`);
  for (const a of run.output.annotations) say(`     ${a.path}:${a.start_line}:${a.start_column ?? 1}  ${(a.title ?? "").replace(/^Charter /, "")}  ${a.message}`);
}

function charterRun(sim: GitHubSimulator, repo: Repository, sha: string): CheckRun | undefined {
  return sim.checkRunsFor(repo, sha).find((run) => run.name === "Charter");
}

async function main(): Promise<void> {
  say("Charter playground: a simulated GitHub, the real Charter app, no network.");
  const sim = await GitHubSimulator.create({ keepTempDirs: true });
  const agents = ownAgents();
  try {
    step(1, "A repository acme/agents holding this project's sample agents");
    sim.addOrganization("acme");
    const repo = await sim.createRepository({ owner: "acme", name: "agents", files: { ...agents, "README.md": "# Acme's AI agents\n" } });
    say(`   ${Object.keys(agents).filter((p) => p.endsWith("agent.yaml")).length} agents; the repository is a real git repository at:`);
    say(`   ${sim.repoPath(repo)}`);
    say(`   (inspect it with: git --git-dir ${sim.repoPath(repo)} log --all --stat)`);

    step(2, "Charter starts as a GitHub App (Probot) and receives signed webhooks over HTTP");
    const app = await startApp(sim, createCharterApp({ appId: sim.appId }));
    say(`   listening at ${app.url}/api/github/webhooks`);

    step(3, "bob opens a pull request that floats the triage agent's model and widens its access");
    const original = agents[TRIAGE] ?? "";
    const broken = original
      .replace('version: "20250929"', "version: latest")
      .replace("postgres:select:crm.public.orders@crm-prod", "postgres:select:crm.public.*@crm-prod")
      .replace("maxLifetime: 1h", "maxLifetime: 30d");
    const opened = await sim.openPullRequest(repo, {
      author: "bob",
      branch: "triage-latest-model",
      title: "Use the newest model for triage",
      body: "Switch support triage to the latest model and let it read all CRM tables.",
      files: { [TRIAGE]: broken },
    });
    say(`   pull request #${opened.pull.issue.number}, head ${opened.sha.slice(0, 7)}; webhook answered ${opened.delivery.status}`);
    show(charterRun(sim, repo, opened.sha));

    step(4, "bob pushes a fix: pinned model, named tables, one-hour credentials");
    const fixed = original.replace("postgres:select:crm.public.orders@crm-prod", "postgres:select:crm.public.orders@crm-prod\n      - postgres:select:crm.public.invoices@crm-prod");
    const pushed = await sim.pushToPullRequest(opened.pull, { [TRIAGE]: fixed }, { message: "Pin the model; name the tables" });
    say(`   head ${pushed.sha.slice(0, 7)}`);
    const green = charterRun(sim, repo, pushed.sha);
    show(green);
    say("\n   The check run's summary, as reviewers see it on GitHub:\n");
    for (const line of (green?.output.summary ?? "").split("\n")) say(`   │ ${line}`);

    step(5, "What it cost");
    const calls = Object.entries(sim.calls)
      .map(([op, n]) => `${op} ×${n}`)
      .join(", ");
    say(`   GitHub API requests: ${calls}`);
    say(`   requests GitHub would have rejected: ${sim.rejected.length}`);

    await app.close();
    say(`\nDone. The simulated repository stays at ${sim.repoPath(repo)} for you to inspect; delete it when finished.`);
    say("Next in this story (as Charter grows): approval by the agent's owners, merge, signed evidence, provisioning.");
  } finally {
    await sim.close();
  }
}

await main();
