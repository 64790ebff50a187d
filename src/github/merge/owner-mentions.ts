import type { Owner } from "../../schema-types/agent-manifest.generated.js";

/** "@alice, @acme/support-eng": every owner of the given agents once, for an issue to reach them. */
export function ownerMentions(owners: ReadonlyMap<string, readonly Owner[]>): string[] {
  return [...new Set([...owners.values()].flatMap((list) => list.map((o) => (o.user ? `@${o.user}` : `@${o.team ?? ""}`))))];
}
