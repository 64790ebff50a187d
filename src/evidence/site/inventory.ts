import { CharterError } from "../../errors.js";
import type { AgentManifest } from "../../schema-types/agent-manifest.generated.js";
import { csvTable } from "../csv.js";
import { agentPagePath, INVENTORY_MD_PATH, README_PATH } from "./site-paths.js";
import { mdCode, mdLink, mdTable, mdText } from "./markdown.js";

/**
 * The current agent inventory as the evidence log knows it: for each agent, the manifest of the
 * last recorded change that touched it. It is updated from the manifests a change record
 * approved, so it shows what was approved, and each entry names that record.
 */
export interface InventoryEntry {
  readonly id: string;
  readonly name: string;
  readonly status: string;
  readonly environment: string;
  readonly owners: readonly string[];
  readonly dataClassifications: readonly string[];
  readonly model: string;
  readonly provider: string;
  readonly maxLifetime: string;
  /** credentials.maxConcurrentSessions, when the manifest sets it. */
  readonly maxConcurrentSessions?: number;
  readonly permissions: readonly string[];
  readonly manifest: { readonly path: string; readonly sha256: string };
  /** The record that put this entry here. */
  readonly record: number;
}

export type Inventory = Readonly<Record<string, InventoryEntry>>;

/** An agent's entry as approved by a change, or null when its manifest was deleted. */
export interface InventoryUpdate {
  readonly id: string;
  readonly entry: Omit<InventoryEntry, "record"> | null;
}

export function inventoryEntryOf(manifest: AgentManifest, path: string, sha256: string): Omit<InventoryEntry, "record"> {
  return {
    id: manifest.id,
    name: manifest.name,
    status: manifest.status,
    environment: manifest.environment,
    owners: manifest.owners.map((o) => (o.team !== undefined ? `team:${o.team}` : `user:${o.user ?? ""}`)),
    dataClassifications: [...manifest.dataClassifications],
    model: `${manifest.model.provider}/${manifest.model.name}@${manifest.model.version}`,
    provider: manifest.credentials.provider,
    maxLifetime: manifest.credentials.maxLifetime,
    ...(manifest.credentials.maxConcurrentSessions === undefined ? {} : { maxConcurrentSessions: manifest.credentials.maxConcurrentSessions }),
    permissions: [...new Set(manifest.tools.flatMap((t) => t.permissions))].sort(),
    manifest: { path, sha256 },
  };
}

export function parseInventory(text: string | null): Inventory {
  if (text === null) return {};
  try {
    const value = JSON.parse(text) as { agents?: unknown };
    if (typeof value.agents === "object" && value.agents !== null && !Array.isArray(value.agents)) {
      // A null-prototype copy: ids are keys, and an id such as __proto__ must stay just a key.
      return Object.assign(Object.create(null) as Record<string, InventoryEntry>, value.agents);
    }
  } catch {
    // Reported below.
  }
  throw new CharterError("INVALID_RECORD", "inventory/inventory.json on the evidence branch is not an inventory", { hint: "It is a view rebuilt from the records; remove it and the next append rewrites it." });
}

export function applyInventory(inventory: Inventory, updates: readonly InventoryUpdate[], seq: number): Inventory {
  const next = new Map(Object.entries(inventory));
  for (const u of updates) {
    if (u.entry === null) next.delete(u.id);
    else next.set(u.id, { ...u.entry, record: seq });
  }
  return Object.assign(Object.create(null) as Record<string, InventoryEntry>, Object.fromEntries(next));
}

function sorted(inventory: Inventory): InventoryEntry[] {
  return Object.keys(inventory)
    .sort()
    .flatMap((id) => (inventory[id] ? [inventory[id]] : []));
}

export function inventoryJson(inventory: Inventory): string {
  const agents = Object.create(null) as Record<string, InventoryEntry>;
  for (const entry of sorted(inventory)) agents[entry.id] = entry;
  return `${JSON.stringify({ agents }, null, 1)}\n`;
}

const COLUMNS = ["id", "name", "status", "environment", "owners", "dataClassifications", "model", "provider", "maxLifetime", "maxConcurrentSessions", "permissions", "manifest", "record"] as const;

export function inventoryCsv(inventory: Inventory): string {
  return csvTable(COLUMNS, sorted(inventory), (e, c) => {
    const value = e[c];
    if (Array.isArray(value)) return value.join(" ");
    if (typeof value === "object") return `${e.manifest.path}@${e.manifest.sha256}`;
    return value ?? null;
  });
}

export function inventoryMarkdown(inventory: Inventory): string {
  const entries = sorted(inventory);
  const self = INVENTORY_MD_PATH;
  return [
    "# Agent inventory",
    "",
    `${mdLink("← Evidence index", self, README_PATH)} · ${mdLink("CSV", self, "inventory/inventory.csv")} · ${mdLink("JSON", self, "inventory/inventory.json")}`,
    "",
    `${entries.length} agent(s), as approved by the last recorded change of each.`,
    "",
    mdTable(
      ["Agent", "Status", "Owners", "Data", "Model", "Credentials", "Permissions", "Record"],
      entries.map((e) => [
        mdLink(mdCode(e.id), self, agentPagePath(e.id)),
        e.status,
        e.owners.map((o) => mdText(o)).join(", "),
        e.dataClassifications.join(", "),
        mdText(e.model),
        `${mdText(e.provider)}, ≤ ${mdText(e.maxLifetime)}`,
        e.permissions.map((p) => mdCode(p)).join("<br>"),
        String(e.record),
      ]),
    ),
  ].join("\n");
}
