import type { AgentManifest } from "../../schema-types/agent-manifest.generated.js";
import type { CheckedAgent } from "../../manifest/validate.js";
import type { Inventory } from "./inventory.js";

/**
 * The approved state as the evidence branch's inventory records it, in the shape the desired
 * state is computed from. Drift is measured against what was approved, and the inventory holds
 * exactly that (each entry names its record), in one file: reading it costs the same however many
 * agents there are, where reading every manifest would not.
 *
 * Only the fields provisioning reads are filled in: identity, status, credentials and the
 * permissions (one synthetic tool holds them all; routing looks at permissions, not tools).
 */
export function agentsFromInventory(inventory: Inventory): CheckedAgent[] {
  return Object.values(inventory).map((entry) => {
    const manifest = {
      id: entry.id,
      name: entry.name,
      status: entry.status === "retired" ? "retired" : "active",
      tools: [{ name: "approved", description: "The permissions the inventory records.", permissions: [...entry.permissions] }],
      credentials: {
        provider: entry.provider,
        maxLifetime: entry.maxLifetime,
        ...(entry.maxConcurrentSessions === undefined ? {} : { maxConcurrentSessions: entry.maxConcurrentSessions }),
      },
    } as unknown as AgentManifest;
    return { id: entry.id, file: entry.manifest.path, manifest, manifestSha256: entry.manifest.sha256, prompts: [] };
  });
}
