import type { DriftFinding } from "../../schema-types/evidence-record.generated.js";
import type { DesiredAgent, DiffOptions, PlannedOperation, ProviderDiff } from "../../provision/provider.js";
import { MANAGED_BY, type StoredIdentity } from "./registry.js";

export const LOCAL = "local";

/** What apply needs for each step; it is never recorded. */
export type LocalStep =
  | { readonly kind: "create-identity"; readonly agentId: string; readonly manifestSha256: string; readonly commit: string; readonly maxLifetimeSeconds: number }
  | { readonly kind: "grant" | "revoke"; readonly agentId: string; readonly permission: string }
  | { readonly kind: "set-lifetime"; readonly agentId: string; readonly maxLifetimeSeconds: number }
  | { readonly kind: "update-identity"; readonly agentId: string; readonly manifestSha256: string; readonly commit: string }
  | { readonly kind: "deprovision"; readonly agentId: string };

/**
 * The local provider's pure diff: registry rows in, steps and findings out.
 *
 * - An active agent needs a managed, active identity holding exactly its permissions and its
 *   lifetime, stamped with the manifest hash that approved them. The stamp changes only with
 *   the manifest, not with every merge, so a moved commit alone is neither drift nor work.
 * - A retired agent needs its identity revoked and no unrevoked token.
 * - A managed identity whose agent has no manifest is deprovisioned only when pruning, and
 *   otherwise reported as orphaned.
 * - A row without the ownership marker is reported and never touched, even when it carries the
 *   id of an agent Charter should provision (which it then blocks).
 */
export function diffLocal(desired: readonly DesiredAgent[], observed: readonly StoredIdentity[], options: DiffOptions): ProviderDiff {
  const operations: PlannedOperation[] = [];
  const findings: DriftFinding[] = [];
  const rows = new Map(observed.map((r) => [r.agentId, r]));
  const step = (s: LocalStep, target: string): void => {
    operations.push({ provider: LOCAL, agent: s.agentId, action: s.kind, target, payload: s });
  };
  const finding = (agent: string, kind: string, detail: string): void => {
    findings.push({ provider: LOCAL, agent, kind, detail });
  };

  for (const row of observed) {
    if (row.managedBy !== MANAGED_BY) {
      const blocks = desired.some((d) => d.id === row.agentId && d.status === "active");
      finding(
        row.agentId,
        "unmanaged-identity",
        `registry entry ${row.agentId} (status ${row.status}) lacks Charter's ownership marker; it was not created by Charter and is left untouched${blocks ? ", which blocks provisioning this agent" : ""}`,
      );
    }
  }

  for (const agent of desired) {
    const row = rows.get(agent.id);
    if (row && row.managedBy !== MANAGED_BY) continue;
    const identity = `identity:${agent.id}`;
    if (agent.status === "retired") {
      if (row && (row.status !== "revoked" || row.unrevokedTokens > 0)) step({ kind: "deprovision", agentId: agent.id }, identity);
      continue;
    }
    const wanted = [...new Set(agent.permissions.map((p) => p.raw))].sort();
    if (!row || row.status !== "active") {
      step({ kind: "create-identity", agentId: agent.id, manifestSha256: agent.manifestSha256, commit: agent.commit, maxLifetimeSeconds: agent.maxLifetimeSeconds }, identity);
      for (const permission of wanted) step({ kind: "grant", agentId: agent.id, permission }, permission);
      continue;
    }
    for (const permission of wanted) if (!row.permissions.includes(permission)) step({ kind: "grant", agentId: agent.id, permission }, permission);
    for (const permission of row.permissions) if (!wanted.includes(permission)) step({ kind: "revoke", agentId: agent.id, permission }, permission);
    if (row.maxLifetimeSeconds !== agent.maxLifetimeSeconds) {
      step({ kind: "set-lifetime", agentId: agent.id, maxLifetimeSeconds: agent.maxLifetimeSeconds }, `max-lifetime:${agent.maxLifetimeSeconds}s`);
    }
    if (row.manifestSha256 !== agent.manifestSha256) {
      step({ kind: "update-identity", agentId: agent.id, manifestSha256: agent.manifestSha256, commit: agent.commit }, `approval:manifest ${agent.manifestSha256.slice(0, 12)} at ${agent.commit.slice(0, 12)}`);
    }
  }

  const known = new Set(desired.map((d) => d.id));
  for (const row of observed) {
    if (known.has(row.agentId) || row.managedBy !== MANAGED_BY) continue;
    if (row.status === "revoked" && row.unrevokedTokens === 0) continue;
    if (options.prune) step({ kind: "deprovision", agentId: row.agentId }, `identity:${row.agentId}`);
    else finding(row.agentId, "orphaned-identity", `identity ${row.agentId} has no manifest any more; it is kept because pruning is off`);
  }
  return { operations, findings };
}
