import { posix } from "node:path";
import { MANIFEST_FILE_NAMES } from "../manifest/lints/location.js";
import { AGENTS_DIRECTORY } from "./governed-paths.js";

/**
 * The agent directories a set of changed paths touches. Because an agent's prompt files must
 * live inside its own directory, a changed path maps to at most one agent without reading any
 * manifest: this is what keeps the cost of checking a pull request independent of the size of
 * the repository.
 */
export function affectedAgentDirectories(paths: Iterable<string>, root = AGENTS_DIRECTORY): string[] {
  const dirs = new Set<string>();
  const prefix = root + "/";
  for (const path of paths) {
    if (!path.startsWith(prefix)) continue;
    const id = path.slice(prefix.length).split("/", 1)[0];
    // A file directly under agents/ (a README) belongs to no agent.
    if (id && path.length > prefix.length + id.length) dirs.add(prefix + id);
  }
  return [...dirs].sort();
}

/** Candidate manifest paths for an agent directory; the reader tells which exist. */
export function manifestCandidates(dir: string): string[] {
  return MANIFEST_FILE_NAMES.map((name) => posix.join(dir, name));
}
