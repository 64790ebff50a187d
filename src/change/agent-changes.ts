import type { CheckedAgent } from "../manifest/validate.js";

/**
 * What happened to each agent a pull request touches, at the level of files: the coarse
 * picture a reviewer needs first. (Model, prompt and permission semantics build on this.)
 */
export type AgentChangeKind = "added" | "removed" | "retired" | "reactivated" | "modified" | "unchanged" | "invalid";

export interface AgentChange {
  readonly id: string;
  readonly dir: string;
  readonly kind: AgentChangeKind;
  /** Files whose content differs between base and head (manifest and prompts), repository-relative. */
  readonly changedFiles: readonly string[];
  readonly before: CheckedAgent | undefined;
  readonly after: CheckedAgent | undefined;
}

/**
 * Compares the agents found in the same directories at base and head. A directory present at
 * head whose manifest did not validate is "invalid": its change cannot be classified until the
 * manifest is fixed.
 */
export function compareAgents(
  dirs: readonly string[],
  base: readonly CheckedAgent[],
  head: readonly CheckedAgent[],
  headManifestExists: (dir: string) => boolean,
): AgentChange[] {
  const byDir = (agents: readonly CheckedAgent[]): Map<string, CheckedAgent> => new Map(agents.map((a) => [dirOf(a.file), a]));
  const before = byDir(base);
  const after = byDir(head);
  return dirs.map((dir) => {
    const b = before.get(dir);
    const a = after.get(dir);
    const id = a?.id ?? b?.id ?? dir.slice(dir.lastIndexOf("/") + 1);
    if (!a) {
      const kind: AgentChangeKind = headManifestExists(dir) ? "invalid" : b ? "removed" : "unchanged";
      return { id, dir, kind, changedFiles: b ? filesOf(b) : [], before: b, after: undefined };
    }
    if (!b) return { id, dir, kind: "added", changedFiles: filesOf(a), before: undefined, after: a };
    const changedFiles = diffFiles(b, a);
    let kind: AgentChangeKind = changedFiles.length === 0 ? "unchanged" : "modified";
    if (b.manifest.status === "active" && a.manifest.status === "retired") kind = "retired";
    if (b.manifest.status === "retired" && a.manifest.status === "active") kind = "reactivated";
    return { id, dir, kind, changedFiles, before: b, after: a };
  });
}

function dirOf(file: string): string {
  return file.slice(0, file.lastIndexOf("/"));
}

function filesOf(agent: CheckedAgent): string[] {
  return [agent.file, ...agent.prompts.map((p) => p.path)];
}

function diffFiles(before: CheckedAgent, after: CheckedAgent): string[] {
  const hashes = (agent: CheckedAgent): Map<string, string> =>
    new Map([[agent.file, agent.manifestSha256], ...agent.prompts.map((p): [string, string] => [p.path, p.sha256])]);
  const b = hashes(before);
  const a = hashes(after);
  const changed = new Set<string>();
  for (const [path, hash] of a) if (b.get(path) !== hash) changed.add(path);
  for (const path of b.keys()) if (!a.has(path)) changed.add(path);
  return [...changed].sort();
}
