/**
 * The checklist as data: each item's id, title, the SOC 2 criteria it answers for, and the
 * commands that prove it. The evaluators (one file per concern) give each its answer; the docs
 * (docs/soc2-mapping.md) list the same items in the same order.
 */
export interface ItemDefinition {
  readonly id: ItemId;
  readonly title: string;
  readonly criteria: readonly string[];
}

export type ItemId = "inventory" | "identities" | "enforcement" | "integrity" | "queryable" | "change-management" | "alerting" | "completeness";

export const CHECKLIST: readonly ItemDefinition[] = [
  { id: "inventory", title: "Every identity that acted belongs to an agent with a manifest", criteria: ["CC6.1"] },
  { id: "identities", title: "No identity is shared by two agents or used by anyone else", criteria: ["CC6.1", "CC6.2"] },
  { id: "enforcement", title: "Every permission of an active agent is enforced by a provider and logged by an attested source", criteria: ["CC6.1", "CC6.3"] },
  { id: "integrity", title: "The evidence ledger and the action trail verify, with checkpoints anchored and witnessed", criteria: ["CC7.2", "CC8.1"] },
  { id: "queryable", title: "The seed query answers within its budget on the real store", criteria: ["CC7.2", "CC7.3"] },
  { id: "change-management", title: "Every model, prompt and permission change was approved before merge, tested, with a rollback plan; every exception followed up", criteria: ["CC8.1"] },
  { id: "alerting", title: "Every alert was evaluated, with a reason, within the response time", criteria: ["CC7.2", "CC7.3"] },
  { id: "completeness", title: "No attested source was silent or lost lines", criteria: ["CC7.2"] },
];
