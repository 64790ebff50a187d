import { csvLine, csvTable } from "../csv.js";
import type { EvidenceRecord } from "../../schema-types/evidence-record.generated.js";
import type { NewRecord } from "../record.js";
import { inPopulation, POPULATION_COLUMNS, populationRow, populationTime } from "../population.js";
import { agentsOf, appendAgentHistory } from "./agent-page.js";
import { applyInventory, type InventoryUpdate, inventoryCsv, inventoryJson, inventoryMarkdown, parseInventory } from "./inventory.js";
import { renderReadme } from "./readme.js";
import { renderRecordPage } from "./record-page.js";
import { renderTrailPage } from "./trail-page.js";
import { renderAlertsPage } from "./alerts-page.js";
import { READINESS_HISTORY_PATH, renderReadinessFiles } from "./readiness-page.js";
import { agentPagePath, INVENTORY_CSV_PATH, INVENTORY_JSON_PATH, INVENTORY_MD_PATH, monthOf, pagePath, populationPath, README_PATH, SITE_STATE_PATH, TRAIL_PATH, ALERTS_PATH } from "./site-paths.js";
import { advanceSiteState, type ControlsStatus, parseSiteState } from "./site-state.js";

/**
 * The browsable part of the evidence branch, updated with each append: a page per record, the
 * history page of every agent the records concern, the inventory, the month's population CSV
 * and the README index. Only files that the new records touch are read and rewritten, so an
 * append costs the same however long the log is.
 */
export interface SiteContext {
  readonly repository: string;
  /** The repository's web address (https://github.com/owner/repo, or a GHES host's). */
  readonly repositoryUrl: string;
  readonly branch: string;
  readonly publicKey: string;
}

export interface AppendedRecord {
  readonly record: EvidenceRecord;
  readonly path: string;
  readonly sha256: string;
}

export interface SiteUpdate {
  /** Current text of every path sitePathsToRead named; null where the file does not exist yet. */
  readonly existing: ReadonlyMap<string, string | null>;
  readonly appended: readonly AppendedRecord[];
  readonly inventory: readonly InventoryUpdate[];
  readonly controls: ControlsStatus | null;
  /** Log size and Merkle root (hex) after the append. */
  readonly size: number;
  readonly root: string;
}

function populationMonth(record: NewRecord): string {
  return monthOf(populationTime(record));
}

/** The existing files an append of these records rewrites (their content does not depend on seq). */
export function sitePathsToRead(records: readonly NewRecord[]): string[] {
  const paths = new Set<string>([SITE_STATE_PATH, INVENTORY_JSON_PATH]);
  for (const record of records) {
    for (const agent of agentsOf(record)) paths.add(agentPagePath(agent));
    if (inPopulation(record)) paths.add(populationPath(populationMonth(record)));
    if (record.kind === "readiness") paths.add(READINESS_HISTORY_PATH);
  }
  return [...paths].sort();
}

export function renderSite(context: SiteContext, update: SiteUpdate): Map<string, string> {
  const files = new Map<string, string>();
  const existing = (path: string): string | null => files.get(path) ?? update.existing.get(path) ?? null;
  const records = update.appended.map((a) => a.record);

  for (const a of update.appended) files.set(pagePath(a.record.seq), renderRecordPage(a.record, a.path, a.sha256, context.repositoryUrl));

  const agents = [...new Set(records.flatMap(agentsOf))].sort();
  for (const agent of agents) files.set(agentPagePath(agent), appendAgentHistory(existing(agentPagePath(agent)), agent, records));

  const months: string[] = [];
  for (const a of update.appended) {
    if (!inPopulation(a.record)) continue;
    const month = populationMonth(a.record);
    months.push(month);
    const path = populationPath(month);
    const row = populationRow(a.record, a.path, a.sha256);
    const before = existing(path) ?? csvTable(POPULATION_COLUMNS, [], () => null);
    files.set(path, before + csvLine(POPULATION_COLUMNS.map((c) => row[c])));
  }

  let inventory = parseInventory(update.existing.get(INVENTORY_JSON_PATH) ?? null);
  const changeSeq = update.appended.find((a) => a.record.kind === "change" || a.record.kind === "exception")?.record.seq;
  if (update.inventory.length > 0 && changeSeq !== undefined) {
    inventory = applyInventory(inventory, update.inventory, changeSeq);
  }
  files.set(INVENTORY_JSON_PATH, inventoryJson(inventory));
  files.set(INVENTORY_CSV_PATH, inventoryCsv(inventory));
  files.set(INVENTORY_MD_PATH, inventoryMarkdown(inventory));

  const state = advanceSiteState(parseSiteState(update.existing.get(SITE_STATE_PATH) ?? null), records, months, update.controls);
  files.set(SITE_STATE_PATH, `${JSON.stringify(state, null, 1)}\n`);
  if (records.some((r) => r.kind === "trail-anchor")) files.set(TRAIL_PATH, renderTrailPage(state.trail, state.alerts.open.length > 0));
  if (records.some((r) => r.kind === "trail-anchor" && r.body.alerts !== undefined)) files.set(ALERTS_PATH, renderAlertsPage(state.alerts));
  for (const [path, text] of renderReadinessFiles(update.existing.get(READINESS_HISTORY_PATH) ?? null, records)) files.set(path, text);
  files.set(
    README_PATH,
    renderReadme({
      state,
      repository: context.repository,
      repositoryUrl: context.repositoryUrl,
      branch: context.branch,
      size: update.size,
      root: update.root,
      publicKey: context.publicKey,
      agents: Object.keys(inventory).length,
    }),
  );
  return files;
}
