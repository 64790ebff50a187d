import { posix } from "node:path";
import type { CheckedAgent } from "../manifest/validate.js";
import { diffAgent } from "./agent-diff.js";
import { compareChanges, compareText } from "./change-order.js";
import { type Change, type ChangeSet, maxRisk } from "./change-set.js";
import { governanceChanges } from "./governance-changes.js";

export interface DiffInput {
  /** Agent directories the change touches (affectedAgentDirectories). */
  readonly dirs: readonly string[];
  /** Agents that validated at base and at head, found in those directories. */
  readonly base: readonly CheckedAgent[];
  readonly head: readonly CheckedAgent[];
  /** Directories whose head manifest or prompts have errors: not classified until fixed. */
  readonly headInvalid: readonly string[];
  /** Every path the change touches, for governance files. */
  readonly changedPaths: readonly string[];
}

/**
 * The semantic change set: for each touched agent, what changed in terms approval rules and
 * reviewers care about (model, prompts, tools, permissions, owners, credentials…), then the
 * governance files. Pure and deterministic: the same input always yields the same changes in the
 * same order, so check-run text and evidence are stable.
 */
export function diffAgents(input: DiffInput): ChangeSet {
  const invalid = new Set(input.headInvalid);
  const before = byDirectory(input.base);
  const after = byDirectory(input.head);
  const changes: Change[] = [];
  for (const dir of new Set(input.dirs)) {
    // An invalid head cannot be compared: what it means is not known until it is fixed.
    if (invalid.has(dir)) continue;
    changes.push(...diffAgent(before.get(dir), after.get(dir)));
  }
  changes.sort(compareChanges);
  const all = [...changes, ...governanceChanges(input.changedPaths)];
  const agents = [...new Set(changes.map((c) => c.agent).filter((id): id is string => id !== undefined))];
  return {
    changes: all,
    agents,
    unclassified: [...invalid].sort(compareText),
    maxRisk: maxRisk(all.map((c) => c.risk)),
  };
}

/** The agent of each directory; with two manifests in one (agent.yaml and agent.yml), the first by name. */
function byDirectory(agents: readonly CheckedAgent[]): Map<string, CheckedAgent> {
  const out = new Map<string, CheckedAgent>();
  for (const agent of [...agents].sort((a, b) => compareText(a.file, b.file))) {
    const dir = posix.dirname(agent.file);
    if (!out.has(dir)) out.set(dir, agent);
  }
  return out;
}
