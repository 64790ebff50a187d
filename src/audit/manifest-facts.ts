import { decodeText } from "../manifest/decode.js";
import { DEFAULT_LIMITS } from "../manifest/limits.js";
import { parseYaml } from "../manifest/parse-yaml.js";

/** What an access review needs from one approved manifest. */
export interface ManifestFacts {
  readonly status: string;
  readonly environment: string;
  /** "@login" for a user, "@org/team" for a team. */
  readonly owners: readonly string[];
  readonly permissions: readonly string[];
  readonly dataClasses: readonly string[];
  readonly provider: string;
}

/**
 * Reads a manifest copy from the evidence branch. The copy was approved, but its bytes come from
 * a pull request and the branch itself can be written by anyone with push rights: it goes through
 * the same bounded decoder and YAML parser as a pull request's manifest, and every field is read
 * defensively (a wrong type becomes "unknown" or is left out, never an exception). Returns null
 * when the bytes are not a readable YAML document.
 */
export function manifestFacts(bytes: Uint8Array): ManifestFacts | null {
  const decoded = decodeText("manifest copy", bytes, DEFAULT_LIMITS.maxManifestBytes, "manifest");
  if (!decoded.ok) return null;
  const parsed = parseYaml("manifest copy", decoded.text, DEFAULT_LIMITS);
  if (!parsed.ok) return null;
  const value = record(parsed.parsed.value);
  if (value === undefined) return null;
  const owners: string[] = [];
  for (const owner of list(value["owners"])) {
    const o = record(owner);
    const user = o?.["user"];
    const team = o?.["team"];
    if (typeof user === "string") owners.push(`@${user}`);
    else if (typeof team === "string") owners.push(`@${team}`);
  }
  const permissions = new Set<string>();
  for (const tool of list(value["tools"])) for (const p of list(record(tool)?.["permissions"])) if (typeof p === "string") permissions.add(p);
  return {
    status: text(value["status"]),
    environment: text(value["environment"]),
    owners,
    permissions: [...permissions].sort(),
    dataClasses: [...new Set(list(value["dataClassifications"]).filter((c): c is string => typeof c === "string"))].sort(),
    provider: text(record(value["credentials"])?.["provider"]),
  };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "unknown";
}
