import type { AccessReviewBody, RepositoryRef } from "../schema-types/evidence-record.generated.js";
import type { AgentState } from "./agent-state.js";
import type { AuditStore } from "./audit-store.js";
import { currentAgents } from "./queries.js";

export interface AccessReviewContext {
  readonly repository: RepositoryRef;
  /** The default-branch commit whose manifests the snapshot describes. */
  readonly commit: string;
  /** When the snapshot was taken (ISO 8601). */
  readonly asOf: string;
}

/**
 * The body of an access-review record (SOC 2 CC6.2's periodic review): every agent the ledger
 * knows and has not deleted, with its owners, permissions, data classes and credential
 * provider from its last approved manifest, the change record that set them, the last
 * provisioning run, and whether drift is unresolved. Pure: the app passes the agents from an
 * up-to-date index (buildAccessReview) and appends the result as a record.
 */
function accessReviewBody(context: AccessReviewContext, agents: readonly AgentState[]): AccessReviewBody {
  return {
    repository: { ...context.repository },
    commit: context.commit,
    asOf: context.asOf,
    agents: agents
      .filter((a) => a.status !== "deleted")
      .map((a) => ({
        agent: a.agent,
        status: a.status,
        owners: [...a.owners],
        permissions: [...a.permissions],
        dataClassifications: [...a.dataClasses],
        provider: a.provider,
        lastChange: a.lastChangeSeq === null || a.lastChangeHash === null ? null : { seq: a.lastChangeSeq, sha256: a.lastChangeHash },
        lastProvisioning: a.lastProvisioningSeq === null || a.lastProvisioningHash === null ? null : { seq: a.lastProvisioningSeq, sha256: a.lastProvisioningHash },
        drift: a.driftSeq !== null,
      })),
  };
}

/** accessReviewBody over the index's current agents. Update the index first (updateIndex). */
export async function buildAccessReview(store: AuditStore, context: AccessReviewContext): Promise<AccessReviewBody> {
  return accessReviewBody(context, await currentAgents(store));
}
