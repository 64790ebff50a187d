import type { ProbotOctokit } from "probot";
import type { RecordRef } from "../../schema-types/evidence-record.generated.js";
import { catalogAt, needsCatalog } from "../api/resource-catalog-at.js";
import { closeProviders, openProviders } from "../../providers/open-providers.js";
import { providerDescriptors, providerSecrets, provisioningSettings } from "../../provision/config.js";
import { desiredState } from "../../provision/desired-state.js";
import { sync } from "../../provision/engine.js";
import { provisioningBody } from "../../provision/provisioning-record.js";
import { scopedProvider } from "../../provision/scope.js";
import type { Assessment } from "../../policy/assess-change.js";
import { alreadyRecorded, type AppendOutcome, appendRecords, type EvidenceTarget } from "./evidence-writer.js";

export interface ProvisioningEnvironment {
  /** Where provider secrets come from (the process environment in production). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly now: () => Date;
}

/** The idempotency key of the provisioning that follows one change record. */
export function provisioningKey(repositoryId: string, change: RecordRef): string {
  return `provisioning:${repositoryId}:${change.seq}:${change.sha256}`;
}

/**
 * Deployment follows approval: after an approved change record, the credential systems are made
 * to match the manifests that merge approved, and a provisioning record linked to the change
 * record says what was planned, applied and verified. Only the agents the merge changed are in
 * scope (see scopedProvider), so the cost does not grow with the repository.
 *
 * Runs only when the base policy has a provisioning section. A sync never throws for a failed
 * step: the record says `failed` or `incomplete` and carries the escalations. A configuration
 * error (a missing secret) does throw, leaving the change unprovisioned for the reconciler to
 * finish once it is fixed.
 */
export async function provisionChange(
  octokit: ProbotOctokit,
  target: EvidenceTarget,
  assessment: Assessment,
  mergeSha: string,
  change: RecordRef,
  environment: ProvisioningEnvironment,
  /** The change record was appended just now: nothing can have provisioned it yet, so the check is skipped. */
  options: { readonly changeJustAppended?: boolean } = {},
): Promise<AppendOutcome | undefined> {
  if (assessment.policy.provisioning === undefined) return undefined;
  const key = provisioningKey(target.repositoryId, change);
  if (options.changeJustAppended !== true && (await alreadyRecorded(octokit, target, key))) return { status: "duplicate", requests: 2 };

  const settings = provisioningSettings(assessment.policy);
  // Object auditing follows the catalog the merge left on the default branch, so a merged
  // reclassification reaches pgaudit with the same provisioning pass (one more query, only then).
  const catalog = needsCatalog(settings) ? await catalogAt(octokit, target, mergeSha) : undefined;
  const providers = openProviders(settings, providerSecrets(settings, environment.env), { now: environment.now, access: "write", ...(catalog === undefined ? {} : { catalog }) });
  try {
    const scope = new Set([...assessment.base.agents, ...assessment.head.agents].map((a) => a.id));
    const desired = desiredState(assessment.head.agents, mergeSha, providerDescriptors(settings));
    const result = await sync(
      providers.map((p) => scopedProvider(p, scope)),
      desired,
      { prune: settings.prune },
    );
    const body = provisioningBody(
      { ...result, agents: [...scope].sort() },
      { repository: { id: target.repositoryId, fullName: `${target.owner}/${target.repo}` }, source: "change", after: change },
    );
    const observedAt = (): string => environment.now().toISOString();
    return await appendRecords(octokit, target, {
      idempotencyKey: key,
      records: [() => ({ kind: "provisioning", body, observedAt: observedAt() })],
      observedAt,
      message: (seq) => `Evidence ${seq}: provisioning after record ${change.seq} (${result.outcome})`,
    });
  } finally {
    await closeProviders(providers);
  }
}
