import type { DriftFinding, ProvisioningOperation } from "../schema-types/evidence-record.generated.js";
import type { Permission } from "../manifest/permission.js";

/**
 * The contract between the provisioning engine and a credential system. A provider is one
 * system instance (the embedded local registry, one PostgreSQL server): it reads what the system
 * actually holds, computes what to change with a pure diff, and applies changes idempotently.
 * The engine never trusts an apply: it observes and diffs again afterwards, and whatever is left
 * is escalated.
 */

/**
 * The `agent` of a finding about an identity no manifest owns (a user an operator created by
 * hand): it belongs to no agent, so it is never grouped, filed or scoped under an agent's name.
 * ("*" is the other such value: a finding about every agent on the provider.)
 */
export const NO_AGENT = "-";

/** What one agent's approved manifest asks of one provider. */
export interface DesiredAgent {
  readonly id: string;
  /** A retired agent is always deprovisioned, whatever its manifest still lists. */
  readonly status: "active" | "retired";
  /** The commit and manifest bytes that approved this state, stamped on the identity so that drift can be told from a new approval. */
  readonly commit: string;
  readonly manifestSha256: string;
  /** Only the permissions this provider enforces (see Provider.handles). */
  readonly permissions: readonly Permission[];
  /** credentials.maxLifetime in seconds: no credential this provider issues may outlive it. */
  readonly maxLifetimeSeconds: number;
  /** credentials.maxConcurrentSessions, where the provider can enforce it. */
  readonly maxConcurrentSessions: number | undefined;
}

/**
 * One step of a plan. What the evidence records is the ProvisioningOperation part; `payload`
 * carries what the provider needs to perform it and is never written anywhere.
 */
export interface PlannedOperation extends ProvisioningOperation {
  readonly payload?: unknown;
}

export interface ProviderDiff {
  /** Steps that make the system match the desired state. Empty when it already does. */
  readonly operations: readonly PlannedOperation[];
  /**
   * Differences the provider must not fix by itself: a look-alike identity without Charter's
   * ownership marker, a grant made by another role, an identity whose manifest was deleted
   * while pruning is off. Reported (and escalated after a sync), never silently left.
   */
  readonly findings: readonly DriftFinding[];
}

export interface DiffOptions {
  /** Deprovision managed identities whose agent has no manifest any more. */
  readonly prune: boolean;
}

export interface Provider<Observed = unknown> {
  /** "local" or "postgres": the value of a manifest's credentials.provider it serves, and the provider name in records. */
  readonly name: string;
  /** The permission instance this provider serves (postgres: the @instance), when it serves one. */
  readonly instance: string | undefined;
  /** Whether this provider enforces the permission; a permission no configured provider handles fails the pull request's check. */
  handles(permission: Permission): boolean;
  /** Everything the system holds that looks like an agent identity, managed or not. Read-only. */
  observe(): Promise<Observed>;
  /** Pure: what to do to turn `observed` into `desired`. `desired` lists every agent this provider should know about. */
  diff(desired: readonly DesiredAgent[], observed: Observed, options: DiffOptions): ProviderDiff;
  /**
   * Performs the operations in order, each idempotently, and reports each one's status. A failed
   * step does not stop the others unless they depend on it; it never throws for a step's failure.
   */
  apply(operations: readonly PlannedOperation[]): Promise<ProvisioningOperation[]>;
  close(): Promise<void>;
}
