import { execFileSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { agentPagePath } from "../../src/evidence/site/site-paths.js";
import { CONTROLS_LABEL } from "../../src/github/merge/controls.js";
import { ownAgents } from "../helpers/agents-fixture.js";
import { mutate } from "../helpers/manifests.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

let fx: AppFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const AGENTS = ownAgents();
const TRIAGE = "agents/support-triage/agent.yaml";
const ROLLBACK = "## Rollback plan\nRevert this pull request.\n";
const KEYS = generateSignerKey("charter-test-site");

async function mergeApproved(f: AppFixture, branch: string, version: string): Promise<void> {
  const { pull } = await f.sim.openPullRequest(f.repo, { author: "bob", branch, title: `Model ${version}`, body: ROLLBACK, files: { [TRIAGE]: mutate(AGENTS[TRIAGE] ?? "", 'version: "20250929"', `version: "${version}"`) } });
  await f.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
  await f.sim.mergePullRequest(pull, { by: "dana-support" });
  await f.sim.idle();
}

function branchFiles(f: AppFixture): Map<string, string> {
  const git = (...args: string[]): string => execFileSync("git", ["--git-dir", f.sim.repoPath(f.repo), ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const files = new Map<string, string>();
  for (const path of git("ls-tree", "-r", "--name-only", "charter-evidence").trim().split("\n")) {
    files.set(path, path.endsWith(".md") || path.endsWith(".json") || path.endsWith(".csv") ? git("show", `charter-evidence:${path}`) : "");
  }
  return files;
}

function controlIssues(f: AppFixture): number {
  return [...f.sim.core.state.issues.values()].filter((i) => i.labels.includes(CONTROLS_LABEL)).length;
}

describe("the evidence branch as auditors browse it on GitHub", () => {
  it("has an index, a page per record, agent histories and the inventory, with every link resolving", async () => {
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey });
    await mergeApproved(fx, "one", "20251101");
    await mergeApproved(fx, "two", "20251201");
    const files = branchFiles(fx);

    const broken: string[] = [];
    for (const [path, text] of files) {
      if (!path.endsWith(".md")) continue;
      for (const match of text.matchAll(/\]\(([^)]+)\)/g)) {
        const target = match[1] ?? "";
        if (target.startsWith("https://")) continue;
        const resolved = decodeURIComponent(new URL(target, `file:///${path}`).pathname.slice(1));
        if (!files.has(resolved)) broken.push(`${path} → ${target}`);
      }
    }
    expect(broken).toEqual([]);

    const readme = files.get("README.md") ?? "";
    expect(readme).toContain("# Charter evidence for acme/agents");
    expect(readme).toContain("| change | 2 |");
    expect(readme).toContain("| genesis | 1 |");
    expect(readme).toContain("Model 20251201");
    expect(files.has("pages/0/0/1.md") && files.has("pages/0/0/2.md")).toBe(true);
    const history = files.get(agentPagePath("support-triage")) ?? "";
    expect(history.match(/^\| \[\d+\]/gm)).toHaveLength(2);
    const inventory = JSON.parse(files.get("inventory/inventory.json") ?? "{}") as { agents: Record<string, { model: string; record: number }> };
    expect(inventory.agents["support-triage"]).toMatchObject({ model: "anthropic/claude-sonnet-4-5@20251201", record: 2 });
    const month = [...files.keys()].filter((p) => p.startsWith("population/"));
    expect(month).toHaveLength(1);
    expect((files.get(month[0] ?? "") ?? "").trim().split("\r\n")).toHaveLength(3);
    expect(fx.sim.rejected).toEqual([]);
  });

  it("reports controls that are off in the README and in one warning issue", async () => {
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey });
    await mergeApproved(fx, "one", "20251101");
    await mergeApproved(fx, "two", "20251201");
    const readme = branchFiles(fx).get("README.md") ?? "";
    expect(readme).toContain("❌ not required: merges can skip approval");
    expect(readme).toContain("❌ not protected: history could be rewritten");
    expect(controlIssues(fx)).toBe(1);
    expect(fx.sim.rejected).toEqual([]);
  });

  it("counts a Charter check required from any source as off: a pull request's own workflow job could post it", async () => {
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey });
    fx.sim.protectBranch(fx.repo, "main", { requiredChecks: ["Charter"] });
    fx.sim.addRuleset(fx.repo, ["charter-evidence"], [{ type: "deletion" }, { type: "non_fast_forward" }]);
    await mergeApproved(fx, "one", "20251101");
    expect(branchFiles(fx).get("README.md") ?? "").toContain("❌ not required: merges can skip approval");
    const issue = [...fx.sim.core.state.issues.values()].find((i) => i.labels.includes("charter-controls"));
    expect(issue?.body).toContain(`set its expected source to Charter's GitHub App (app id ${String(fx.sim.appId)})`);
  });

  it("reports controls that are on: the check required from Charter's app by branch protection, the branch protected by a ruleset", async () => {
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey });
    fx.sim.protectBranch(fx.repo, "main", { requiredChecks: [{ context: "Charter", appId: fx.sim.appId }] });
    fx.sim.addRuleset(fx.repo, ["charter-evidence"], [{ type: "deletion" }, { type: "non_fast_forward" }]);
    await mergeApproved(fx, "one", "20251101");
    const readme = branchFiles(fx).get("README.md") ?? "";
    expect(readme).toContain("✅ required");
    expect(readme).toContain("✅ protected");
    expect(controlIssues(fx)).toBe(0);
    expect(fx.sim.rejected).toEqual([]);
  });
});
