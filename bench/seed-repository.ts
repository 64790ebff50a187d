import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const AGENTS = fileURLToPath(new URL("../agents/", import.meta.url));

interface Template {
  readonly id: string;
  readonly manifest: string;
  readonly prompts: ReadonlyMap<string, string>;
}

/** The repository's own sample agents: the seed every benchmark multiplies. */
export function loadTemplates(): Template[] {
  return readdirSync(AGENTS).map((id) => {
    const dir = join(AGENTS, id);
    const prompts = new Map<string, string>();
    for (const name of readdirSync(join(dir, "prompts"))) prompts.set(`prompts/${name}`, readFileSync(join(dir, "prompts", name), "utf8"));
    return { id, manifest: readFileSync(join(dir, "agent.yaml"), "utf8"), prompts };
  });
}

/** Files of the i-th synthetic agent: a sample agent renamed, so every file is realistic and its own. */
export function syntheticAgent(templates: readonly Template[], i: number): { id: string; files: Map<string, string> } {
  const template = templates[i % templates.length];
  if (!template) throw new Error("no templates");
  const id = `${template.id}-${String(i).padStart(5, "0")}`;
  const files = new Map<string, string>();
  files.set(`agents/${id}/agent.yaml`, template.manifest.replace(`id: ${template.id}\n`, `id: ${id}\n`));
  // Each agent's prompts are its own, as in a real repository: identical copies would share one
  // blob, which a reader that fetches each blob once would read for free.
  for (const [path, text] of template.prompts) files.set(`agents/${id}/${path}`, `${text}\nWritten for ${id}.\n`);
  return { id, files };
}

/** Writes a repository of `count` agents to a new temporary directory and returns its path. */
export function writeRepository(count: number): string {
  const root = mkdtempSync(join(tmpdir(), "charter-bench-"));
  const templates = loadTemplates();
  for (let i = 0; i < count; i++) {
    for (const [path, text] of syntheticAgent(templates, i).files) {
      const absolute = join(root, path);
      mkdirSync(join(absolute, ".."), { recursive: true });
      writeFileSync(absolute, text);
    }
  }
  return root;
}
