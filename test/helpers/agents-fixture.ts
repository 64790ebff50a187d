import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { loadTemplates, syntheticAgent } from "../../bench/seed-repository.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The repository's own agents/ as a map of path → content, for seeding simulated repositories. */
export function ownAgents(): Record<string, string> {
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

/** A repository of `count` realistic agents (the samples, renamed), plus a README. */
export function manyAgents(count: number): Record<string, string> {
  const templates = loadTemplates();
  const out: Record<string, string> = { "README.md": "# agents\n" };
  for (let i = 0; i < count; i++) for (const [path, text] of syntheticAgent(templates, i).files) out[path] = text;
  return out;
}
