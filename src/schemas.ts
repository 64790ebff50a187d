import { existsSync, readFileSync } from "node:fs";

/**
 * Charter's JSON Schemas ship in the package's schemas/ folder; they are the single source of
 * truth for the formats. The folder is found above this module, which runs from src/, dist/ or
 * the bundled CLI (dist/charter-cli/), each at its own depth.
 */
export type SchemaName = "agent-manifest" | "charter-policy" | "pull-request-snapshot" | "evidence-record" | "detection-settings" | "resource-catalog" | "trail-event";

const cache = new Map<SchemaName, Record<string, unknown>>();

export function loadSchema(name: SchemaName): Record<string, unknown> {
  let schema = cache.get(name);
  if (!schema) {
    const url = new URL(`${name}.schema.json`, schemasDirectory());
    schema = JSON.parse(readFileSync(url, "utf8")) as Record<string, unknown>;
    cache.set(name, schema);
  }
  return schema;
}

let found: URL | undefined;

function schemasDirectory(): URL {
  if (found) return found;
  for (let dir = new URL("./", import.meta.url); ; dir = new URL("../", dir)) {
    if (existsSync(new URL("schemas/agent-manifest.schema.json", dir))) return (found = new URL("schemas/", dir));
    if (dir.pathname === "/") throw new Error("charter: the package's schemas/ folder is missing; reinstall Charter");
  }
}
