import { readFileSync } from "node:fs";

/**
 * Charter's JSON Schemas ship in the package's schemas/ folder; they are the single source of
 * truth for the formats. This file sits one level below the package root both as source (src/)
 * and compiled (dist/), so one relative URL serves both.
 */
export type SchemaName = "agent-manifest" | "charter-policy" | "pull-request-snapshot" | "evidence-record" | "detection-settings" | "resource-catalog" | "trail-event";

const cache = new Map<SchemaName, Record<string, unknown>>();

export function loadSchema(name: SchemaName): Record<string, unknown> {
  let schema = cache.get(name);
  if (!schema) {
    const url = new URL(`../schemas/${name}.schema.json`, import.meta.url);
    schema = JSON.parse(readFileSync(url, "utf8")) as Record<string, unknown>;
    cache.set(name, schema);
  }
  return schema;
}
