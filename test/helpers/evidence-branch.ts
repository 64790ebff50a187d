import { execFileSync } from "node:child_process";
import { parseCanonical } from "../../src/evidence/canonical-json.js";
import type { EvidenceRecord } from "../../src/schema-types/evidence-record.generated.js";
import type { GitHubSimulator } from "../github-sim/index.js";
import type { Repository } from "../github-sim/state.js";

/** Every record on the evidence branch, in seq order; empty before the branch exists. */
export function ledger(sim: GitHubSimulator, repo: Repository): EvidenceRecord[] {
  const git = (...args: string[]): string => execFileSync("git", ["--git-dir", sim.repoPath(repo), ...args], { encoding: "utf8" });
  try {
    git("rev-parse", "--verify", "--quiet", "refs/heads/charter-evidence");
  } catch {
    return [];
  }
  return git("ls-tree", "-r", "--name-only", "charter-evidence", "--", "records/")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((path) => parseCanonical(new TextEncoder().encode(git("show", `charter-evidence:${path}`))) as EvidenceRecord)
    .sort((a, b) => a.seq - b.seq);
}

