import type { ProvisioningOperation } from "../../schema-types/evidence-record.generated.js";
import type { Permission } from "../../manifest/permission.js";
import type { DesiredAgent, DiffOptions, PlannedOperation, Provider, ProviderDiff } from "../../provision/provider.js";
import { localHandles } from "../../provision/routing.js";
import { diffLocal, LOCAL, type LocalStep } from "./local-diff.js";
import type { LocalRegistry, StoredIdentity } from "./registry.js";

export interface LocalProviderOptions {
  readonly registry: LocalRegistry;
  /** The clock stamped on rows; tests pass a fixed one. */
  readonly now?: () => Date;
}

/**
 * The embedded default provider: agent identities in the local registry. It enforces nothing by
 * itself; its signed tokens carry each agent's exact permissions to the tool gateways that do.
 */
export class LocalProvider implements Provider<StoredIdentity[]> {
  readonly name = LOCAL;
  readonly instance = undefined;
  private readonly registry: LocalRegistry;
  private readonly now: () => Date;

  constructor(options: LocalProviderOptions) {
    this.registry = options.registry;
    this.now = options.now ?? (() => new Date());
  }

  handles(permission: Permission): boolean {
    return localHandles(permission);
  }

  observe(): Promise<StoredIdentity[]> {
    return Promise.resolve(this.registry.identities());
  }

  diff(desired: readonly DesiredAgent[], observed: StoredIdentity[], options: DiffOptions): ProviderDiff {
    return diffLocal(desired, observed, options);
  }

  /** Each step is one transaction, safe to repeat: a step already done changes nothing. */
  apply(operations: readonly PlannedOperation[]): Promise<ProvisioningOperation[]> {
    const results: ProvisioningOperation[] = [];
    for (const op of operations) {
      const record: ProvisioningOperation = { provider: op.provider, agent: op.agent, action: op.action, target: op.target };
      try {
        const error = this.perform(op.payload);
        results.push(error === undefined ? { ...record, status: "applied" } : { ...record, status: "failed", error });
      } catch (error) {
        results.push({ ...record, status: "failed", error: error instanceof Error ? error.message : String(error) });
      }
    }
    return Promise.resolve(results);
  }

  close(): Promise<void> {
    this.registry.close();
    return Promise.resolve();
  }

  /** Undefined when done; otherwise why not. */
  private perform(payload: unknown): string | undefined {
    const step = asStep(payload);
    if (step === undefined) return "the local provider does not know this step";
    const now = this.now().toISOString();
    const registry = this.registry;
    const done = (changed: boolean): string | undefined => (changed ? undefined : `no active identity ${step.agentId} managed by Charter`);
    switch (step.kind) {
      case "create-identity":
        return registry.createIdentity({ ...step, now }) ? undefined : `registry entry ${step.agentId} exists without Charter's ownership marker`;
      case "grant":
      case "revoke":
        return registry.transaction(() => {
          const current = registry.identity(step.agentId);
          if (current === undefined) return done(false);
          const next = new Set(current.permissions);
          if (step.kind === "grant") next.add(step.permission);
          else next.delete(step.permission);
          return done(registry.setPermissions(step.agentId, [...next], now));
        });
      case "set-lifetime":
        return done(registry.setLifetime(step.agentId, step.maxLifetimeSeconds, now));
      case "update-identity":
        return done(registry.stampApproval(step.agentId, step.manifestSha256, step.commit, now));
      case "deprovision":
        // Revoking an already revoked identity also succeeds: the step is idempotent.
        return registry.revoke(step.agentId, now) ? undefined : `registry entry ${step.agentId} is not managed by Charter`;
    }
  }
}

const KINDS = new Set<string>(["create-identity", "grant", "revoke", "set-lifetime", "update-identity", "deprovision"]);

/** Payloads come from this provider's own diff; the check guards against a plan built elsewhere. */
function asStep(payload: unknown): LocalStep | undefined {
  if (typeof payload !== "object" || payload === null) return undefined;
  const { kind, agentId } = payload as { kind?: unknown; agentId?: unknown };
  return typeof kind === "string" && KINDS.has(kind) && typeof agentId === "string" ? (payload as LocalStep) : undefined;
}
