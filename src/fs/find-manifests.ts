import { existsSync, lstatSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { AGENTS_DIRECTORY } from "../change/governed-paths.js";
import { CharterError } from "../errors.js";
import { MANIFEST_FILE_NAMES } from "../manifest/lints/location.js";

const SKIP_DIRS = new Set([".git", "node_modules"]);
// Manifests sit at agents/<id>/agent.yaml; a deeper search only costs time.
const MAX_DEPTH = 6;

/** The repository root: the nearest ancestor holding .git, or the start directory itself. */
export function findRepositoryRoot(start: string): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, ".git"))) return dir;
    if (dirname(dir) === dir) return resolve(start);
  }
}

/**
 * Expands the CLI's PATH arguments into repository-relative manifest paths. A file is taken as
 * given; a directory is searched for agent.yaml files. With no arguments: <root>/agents.
 */
export function findManifests(root: string, args: readonly string[], cwd: string): string[] {
  const targets = args.length > 0 ? args.map((a) => resolve(cwd, a)) : [join(root, AGENTS_DIRECTORY)];
  const found = new Set<string>();
  for (const target of targets) {
    const rel = relative(root, target);
    if (rel.startsWith("..") || rel.startsWith(sep)) {
      throw new CharterError("USAGE", `${target} is outside the repository ${root}`, { hint: "Run charter from inside the repository, or pass --root." });
    }
    let stat;
    try {
      stat = statSync(target);
    } catch {
      throw new CharterError("NOT_FOUND", `${rel || "."}: no such file or directory`, { hint: args.length > 0 ? "Check the path." : "Create agents/<id>/agent.yaml, or pass the manifests' paths." });
    }
    if (stat.isFile()) found.add(toPosix(rel));
    else walk(target, 0, (file) => found.add(toPosix(relative(root, file))));
  }
  return [...found].sort();
}

function walk(dir: string, depth: number, visit: (file: string) => void): void {
  if (depth > MAX_DEPTH) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) walk(path, depth + 1, visit);
    } else if (MANIFEST_FILE_NAMES.includes(entry.name) && (entry.isFile() || lstatSync(path).isSymbolicLink())) {
      visit(path);
    }
  }
}

function toPosix(path: string): string {
  return sep === "/" ? path : path.split(sep).join("/");
}
