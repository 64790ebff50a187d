import type { DriftBody, DriftFinding, ProvisioningBody, RecordRef, RepositoryRef } from "../schema-types/evidence-record.generated.js";
import type { SyncResult } from "./engine.js";
import { redactSecrets } from "./redact.js";

/**
 * Builds the bodies of the provisioning and drift evidence records from engine results. Pure:
 * the caller appends them to the ledger. Every field is copied by name, so nothing a provider
 * attached to an operation beyond the schema's fields (a payload, a password) can reach the
 * record, and free text is redacted once more on the way in.
 */

export interface ProvisioningContext {
  readonly repository: RepositoryRef;
  readonly source: ProvisioningBody["source"];
  /** The change or exception record whose approved state was provisioned; null for an operator run. */
  readonly after: RecordRef | null;
}

export function provisioningBody(result: SyncResult, context: ProvisioningContext): ProvisioningBody {
  return {
    repository: { id: context.repository.id, fullName: context.repository.fullName },
    source: context.source,
    after: context.after === null ? null : { seq: context.after.seq, sha256: context.after.sha256 },
    commit: result.commit,
    agents: [...result.agents],
    plan: result.plan.map(operation),
    applied: result.applied.map(operation),
    verification: {
      remaining: result.verification.remaining.map(operation),
      escalations: result.verification.escalations.map((e) => ({
        provider: e.provider,
        ...(e.instance === undefined ? {} : { instance: e.instance }),
        agent: e.agent,
        reason: redactSecrets(e.reason),
        ...(e.fix === undefined ? {} : { fix: redactSecrets(e.fix) }),
      })),
    },
    outcome: result.outcome,
  };
}

/** Undefined when there is nothing to record: a drift record holds at least one finding. */
export function driftBody(findings: readonly DriftFinding[], context: { readonly repository: RepositoryRef; readonly commit: string; readonly issues?: readonly number[] }): DriftBody | undefined {
  if (findings.length === 0) return undefined;
  return {
    repository: { id: context.repository.id, fullName: context.repository.fullName },
    commit: context.commit,
    findings: findings.map((f) => ({
      provider: f.provider,
      ...(f.instance === undefined ? {} : { instance: f.instance }),
      agent: f.agent,
      kind: f.kind,
      detail: redactSecrets(f.detail),
      ...(f.grantor === undefined ? {} : { grantor: f.grantor }),
      ...(f.via === undefined ? {} : { via: f.via }),
      ...(f.fix === undefined ? {} : { fix: redactSecrets(f.fix) }),
    })),
    issues: [...(context.issues ?? [])],
  };
}

function operation(op: ProvisioningBody["plan"][number]): ProvisioningBody["plan"][number] {
  return {
    provider: op.provider,
    ...(op.instance === undefined ? {} : { instance: op.instance }),
    agent: op.agent,
    action: op.action,
    target: op.target,
    ...(op.status === undefined ? {} : { status: op.status }),
    ...(op.error === undefined ? {} : { error: redactSecrets(op.error) }),
  };
}
