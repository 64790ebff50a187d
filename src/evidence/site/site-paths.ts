import { createHash } from "node:crypto";

/**
 * Where the browsable pages live on the evidence branch. GitHub lists at most 1,000 entries of
 * a directory, so every growing collection is bucketed: record pages like the records
 * themselves (1,000 per directory), agent pages by the first byte of the id's SHA-256
 * (256 directories), population files by year.
 */
export const README_PATH = "README.md";
export const SITE_STATE_PATH = "site.json";
export const INVENTORY_JSON_PATH = "inventory/inventory.json";
export const INVENTORY_CSV_PATH = "inventory/inventory.csv";
export const INVENTORY_MD_PATH = "inventory/README.md";
export const TRAIL_PATH = "trail/README.md";
export const ALERTS_PATH = "alerts/README.md";

export function pagePath(seq: number): string {
  return `pages/${Math.floor(seq / 1_000_000)}/${Math.floor(seq / 1000) % 1000}/${seq}.md`;
}

export function agentPagePath(agentId: string): string {
  const digest = createHash("sha256").update(agentId).digest("hex");
  // Ids of governed agents are plain names; one taken from an ungoverned path (a direct push)
  // might not be, and must not become a path of its own choosing.
  const name = /^[a-z0-9][a-z0-9._-]{0,99}$/.test(agentId) && !agentId.includes("..") ? agentId : `id-${digest.slice(0, 16)}`;
  return `agents/${digest.slice(0, 2)}/${name}.md`;
}

/** `YYYY-MM` of an ISO 8601 time, in UTC; "unknown" when it does not parse. */
export function monthOf(time: string): string {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? "unknown" : new Date(ms).toISOString().slice(0, 7);
}

export function populationPath(month: string): string {
  return `population/${month.slice(0, 4)}/${month}.csv`;
}
