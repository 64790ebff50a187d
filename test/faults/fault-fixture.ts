import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChangeRecord } from "../../src/schema-types/evidence-record.generated.js";
import { ledger } from "../helpers/evidence-branch.js";

export { ledger };
import type { GitHubSimulator } from "../github-sim/index.js";
import type { Repository } from "../github-sim/state.js";
import { runCli } from "../cli/run-cli.js";
import { mutate } from "../helpers/manifests.js";
import { ownAgents } from "../helpers/agents-fixture.js";

export const AGENTS = ownAgents();
export const TRIAGE = "agents/support-triage/agent.yaml";
const ROLLBACK = "## Rollback plan\nRevert this pull request.\n";

export function changeRecords(sim: GitHubSimulator, repo: Repository): ChangeRecord[] {
  return ledger(sim, repo).filter((r): r is ChangeRecord => r.kind === "change");
}

/** Records expected, written, duplicated and lost, for the closing report of each scenario. */
export function tally(records: readonly ChangeRecord[], expected: readonly number[]): { expected: number; written: number; duplicated: number; lost: number } {
  const counts = new Map<number, number>();
  for (const r of records) counts.set(r.body.pullRequest.number, (counts.get(r.body.pullRequest.number) ?? 0) + 1);
  return {
    expected: expected.length,
    written: records.length,
    duplicated: [...counts.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0),
    lost: expected.filter((n) => !counts.has(n)).length,
  };
}

/** Opens an approved pull request changing support-triage's model to `version`; returns its number. */
export async function approvedPullRequest(sim: GitHubSimulator, repo: Repository, branch: string, version: string): Promise<ReturnType<GitHubSimulator["openPullRequest"]> extends Promise<infer R> ? R : never> {
  const text = mutate(AGENTS[TRIAGE] ?? "", 'version: "20250929"', `version: "${version}"`);
  const opened = await sim.openPullRequest(repo, { author: "bob", branch, title: `Model ${version}`, body: ROLLBACK, files: { [TRIAGE]: text } });
  await sim.submitReview(opened.pull, { user: "dana-support", state: "APPROVED" });
  return opened;
}

/** `charter verify` on a fresh clone, as an auditor would run it. */
export async function verifyClone(sim: GitHubSimulator, repo: Repository, verifierKey: string): Promise<{ ok: boolean; size: number; problems: unknown[] }> {
  const dir = mkdtempSync(join(tmpdir(), "charter-fault-verify-"));
  try {
    execFileSync("git", ["clone", "-q", sim.repoPath(repo), join(dir, "clone")]);
    const result = await runCli(["verify", "--key", verifierKey, "--format", "json"], join(dir, "clone"));
    return JSON.parse(result.stdout) as { ok: boolean; size: number; problems: unknown[] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
