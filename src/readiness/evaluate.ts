import { alertingItem } from "./alerting-item.js";
import { changeManagementItem } from "./change-item.js";
import { CHECKLIST, type ItemDefinition, type ItemId } from "./checklist-items.js";
import { enforcementItem } from "./coverage-item.js";
import type { ReadinessFacts } from "./facts.js";
import { identitiesItem, inventoryItem } from "./identity-items.js";
import { integrityItem } from "./integrity-item.js";
import type { ItemResult, ReadinessReport } from "./result.js";
import { completenessItem, queryableItem } from "./trail-items.js";

const EVALUATORS: Readonly<Record<ItemId, (def: ItemDefinition, facts: ReadinessFacts) => ItemResult>> = {
  inventory: inventoryItem,
  identities: identitiesItem,
  enforcement: enforcementItem,
  integrity: integrityItem,
  queryable: queryableItem,
  "change-management": changeManagementItem,
  alerting: alertingItem,
  completeness: completenessItem,
};

/** The readiness checklist, item by item, judged on the facts alone: no I/O, the same facts always give the same report. */
export function evaluateReadiness(facts: ReadinessFacts): ReadinessReport {
  const items = CHECKLIST.map((def) => EVALUATORS[def.id](def, facts));
  const iso = (ms: number): string => new Date(ms).toISOString();
  return {
    period: { since: facts.period.sinceMs === null ? null : iso(facts.period.sinceMs), until: iso(facts.period.untilMs) },
    status: items.some((i) => i.status === "fail") ? "fail" : "pass",
    items,
  };
}
