import { CharterError } from "../errors.js";
import type { DriftFinding, Escalation, ProvisioningOperation } from "../schema-types/evidence-record.generated.js";
import type { DesiredState } from "./desired-state.js";
import type { DiffOptions, PlannedOperation, Provider } from "./provider.js";
import { redactSecrets } from "./redact.js";
import { providerKey } from "./routing.js";

/**
 * The provisioning engine: observe → diff → apply → observe and diff again. It holds no
 * connection and performs no I/O of its own; the providers it is given do. The GitHub App calls
 * `sync` after a merge and `detectDrift` on a timer, the CLI calls all three.
 */

/** The name used for problems that belong to no provider (a permission nobody enforces). */
const ENGINE = "charter";

export interface SyncPlan {
  /** What a sync would do, in order, without payloads. */
  readonly operations: readonly ProvisioningOperation[];
  /** What a sync would leave for a person: look-alikes, foreign grants, orphans, unenforceable permissions. */
  readonly findings: readonly DriftFinding[];
}

export type SyncOutcome = "converged" | "incomplete" | "failed";

/** Shaped like ProvisioningBody's plan/applied/verification/outcome; see provisioning-record.ts. */
export interface SyncResult {
  readonly commit: string;
  readonly agents: readonly string[];
  readonly plan: readonly ProvisioningOperation[];
  /** The first plan's findings, for display; after the sync they reappear as escalations. */
  readonly findings: readonly DriftFinding[];
  readonly applied: readonly ProvisioningOperation[];
  readonly verification: { readonly remaining: readonly ProvisioningOperation[]; readonly escalations: readonly Escalation[] };
  /**
   * converged: the plan after applying was empty and nothing was escalated; failed: a step (or a
   * provider as a whole) failed; incomplete: every step ran but something is left over.
   */
  readonly outcome: SyncOutcome;
}

interface ProviderPlan {
  readonly provider: Provider;
  readonly operations: readonly PlannedOperation[];
  readonly findings: readonly DriftFinding[];
}

type Observation = { readonly ok: true; readonly plan: ProviderPlan } | { readonly ok: false; readonly provider: Provider; readonly error: string };

/** Read-only: what a sync would do now. A provider that cannot be observed is an IO error. */
export async function planSync(providers: readonly Provider[], desired: DesiredState, options: DiffOptions): Promise<SyncPlan> {
  const observations = await observeAll(providers, desired, options);
  for (const failed of observations) {
    if (failed.ok) continue;
    throw new CharterError("IO", `${providerKey(failed.provider)}: could not read the provider's state: ${redactSecrets(failed.error)}`, {
      hint: "Check that the provider is reachable and that its environment variables are set (docs/providers.md).",
    });
  }
  const plans = observations.flatMap((o) => (o.ok ? [o.plan] : []));
  return {
    operations: plans.flatMap((p) => p.operations.map(describe)),
    findings: [...plans.flatMap((p) => p.findings.map(cleanFinding)), ...unroutedFindings(desired)],
  };
}

/**
 * Makes every provider match the desired state, then checks that it does. Whatever a fresh
 * plan still wants afterwards, and every finding, is escalated: the engine never assumes an
 * apply worked because it reported success. Failures of single steps or of whole providers end
 * up in the result, never as an exception, so the caller can always record what happened.
 */
export async function sync(providers: readonly Provider[], desired: DesiredState, options: DiffOptions): Promise<SyncResult> {
  const before = await observeAll(providers, desired, options);
  const plan: ProvisioningOperation[] = [];
  const findings: DriftFinding[] = [];
  const applied: ProvisioningOperation[] = [];
  const escalations: Escalation[] = [];
  let failed = false;

  for (const observation of before) {
    if (!observation.ok) {
      failed = true;
      continue;
    }
    const { provider, operations } = observation.plan;
    plan.push(...operations.map(describe));
    findings.push(...observation.plan.findings.map(cleanFinding));
    if (operations.length === 0) continue;
    const results = await applySafely(provider, operations);
    if (results.some((r) => r.status === "failed")) failed = true;
    applied.push(...results);
  }

  // A provider that had nothing to apply is not observed again: nothing Charter did can have
  // changed it, and its first plan is the verification (its findings are escalated all the same).
  const settled = new Map(before.flatMap((o) => (o.ok && o.plan.operations.length === 0 ? [[o.plan.provider, o] as const] : [])));
  const again = await observeAll(providers.filter((p) => !settled.has(p)), desired, options);
  const after = providers.flatMap((p) => settled.get(p) ?? again.filter((o) => (o.ok ? o.plan.provider : o.provider) === p));
  const remaining: ProvisioningOperation[] = [];
  for (const observation of after) {
    if (!observation.ok) {
      failed = true;
      escalations.push({ ...where(observation.provider), agent: "*", reason: `could not read the provider's state: ${redactSecrets(observation.error)}` });
      continue;
    }
    for (const op of observation.plan.operations.map(describe)) {
      remaining.push(op);
      const failure = applied.find((a) => a.status === "failed" && sameStep(a, op));
      escalations.push({ ...where(observation.plan.provider), agent: op.agent, reason: `${op.action} ${op.target} is still pending after apply${failure?.error ? ` (failed: ${failure.error})` : ""}` });
    }
    for (const f of observation.plan.findings.map(cleanFinding)) {
      escalations.push({ ...where(observation.plan.provider), agent: f.agent, reason: `${f.kind}: ${f.detail}`, ...(f.fix === undefined ? {} : { fix: f.fix }) });
    }
  }
  for (const f of unroutedFindings(desired)) escalations.push({ provider: ENGINE, agent: f.agent, reason: `${f.kind}: ${f.detail}` });

  const outcome: SyncOutcome = failed ? "failed" : remaining.length === 0 && escalations.length === 0 ? "converged" : "incomplete";
  return { commit: desired.commit, agents: desired.agents, plan, findings, applied, verification: { remaining, escalations }, outcome };
}

/**
 * Drift: everything a sync would change or report, as findings. A pending operation means the
 * system no longer holds (or does not yet hold) what the approved manifests say; each action
 * maps to a finding kind, and the identity's stamped commit tells drift from a new approval.
 */
export async function detectDrift(providers: readonly Provider[], desired: DesiredState, options: DiffOptions): Promise<DriftFinding[]> {
  const plan = await planSync(providers, desired, options);
  // A provider's own finding says more than one derived from its plan (a lease's validity
  // rather than "a sync would revoke it"): it replaces those of the same agent and kind.
  const reported = new Set(plan.findings.map((f) => findingKey(f)));
  const derived = plan.operations.map((op) => operationFinding(op, desired)).filter((f) => !reported.has(findingKey(f)));
  const out: DriftFinding[] = [];
  const seen = new Set<string>();
  // A provider may take several steps for one difference (PostgreSQL deprovisions in several):
  // their findings read the same and are reported once.
  for (const finding of [...derived, ...plan.findings]) {
    const key = findingKey(finding, finding.detail);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(finding);
  }
  return out;
}

function findingKey(f: DriftFinding, detail = ""): string {
  return JSON.stringify([f.provider, f.instance ?? "", f.agent, f.kind, detail]);
}

const KIND_BY_ACTION: Readonly<Record<string, string>> = {
  "create-identity": "missing-identity",
  "create-marker": "missing-marker",
  grant: "missing-grant",
  revoke: "extra-grant",
  "set-lifetime": "lifetime",
  "revoke-lease": "lifetime",
  "update-identity": "stale-identity",
  "drop-expired-lease": "expired-lease",
  "revoke-membership": "extra-membership",
  "revoke-default": "default-privilege",
  "set-rules": "acl-rules",
  "revoke-password": "unknown-credential",
  "end-expired-sessions": "lifetime",
  "audit-grant": "missing-audit-grant",
  "audit-revoke": "extra-audit-grant",
};

/** Steps that remove an identity, in any provider's vocabulary: what they reveal depends on why it must go. */
const REMOVAL_ACTIONS = new Set(["deprovision", "revoke-login", "terminate-sessions", "assume-roles", "drop-owned", "drop-lease", "drop-identity"]);

function operationFinding(op: ProvisioningOperation, desired: DesiredState): DriftFinding {
  let kind = KIND_BY_ACTION[op.action] ?? `pending-${op.action}`;
  let detail = `${op.target}: a sync would ${op.action} it to match commit ${desired.commit.slice(0, 12)}`;
  if (REMOVAL_ACTIONS.has(op.action)) {
    if (!desired.agents.includes(op.agent)) {
      kind = "orphaned-identity";
      detail = `${op.agent}: the agent has no manifest any more and pruning removes its identity`;
    } else if (desired.retired.has(op.agent)) {
      kind = "retired-identity";
      detail = `${op.agent}: the agent is retired but still has an identity or credentials here`;
    } else {
      kind = "unapproved-identity";
      detail = `${op.agent}: the agent's manifest approves nothing on this provider, yet it has an identity here`;
    }
  }
  return { provider: op.provider, ...(op.instance === undefined ? {} : { instance: op.instance }), agent: op.agent, kind, detail };
}

function unroutedFindings(desired: DesiredState): DriftFinding[] {
  return desired.unrouted.map((u) => ({ provider: ENGINE, agent: u.agent, kind: "unenforceable-permission", detail: `no configured provider enforces "${u.permission}"` }));
}

async function observeAll(providers: readonly Provider[], desired: DesiredState, options: DiffOptions): Promise<Observation[]> {
  const out: Observation[] = [];
  for (const provider of providers) {
    try {
      const observed = await provider.observe();
      const diff = provider.diff(desired.byProvider.get(providerKey(provider)) ?? [], observed, options);
      out.push({ ok: true, plan: { provider, operations: diff.operations, findings: diff.findings } });
    } catch (error) {
      out.push({ ok: false, provider, error: messageOf(error) });
    }
  }
  return out;
}

/** The contract says apply reports failures per step; an exception anyway (a lost connection) fails every step. */
async function applySafely(provider: Provider, operations: readonly PlannedOperation[]): Promise<ProvisioningOperation[]> {
  try {
    const results = await provider.apply(operations);
    return results.map((r) => ({ ...describe(r), ...(r.status === undefined ? {} : { status: r.status }), ...(r.error === undefined ? {} : { error: redactSecrets(r.error) }) }));
  } catch (error) {
    const reason = redactSecrets(messageOf(error));
    return operations.map((op) => ({ ...describe(op), status: "failed" as const, error: reason }));
  }
}

/**
 * The recordable part of an operation: exactly the schema's fields, so a payload (or anything
 * else a provider attached) can never travel further.
 */
function describe(op: ProvisioningOperation): ProvisioningOperation {
  return { provider: op.provider, ...(op.instance === undefined ? {} : { instance: op.instance }), agent: op.agent, action: op.action, target: op.target };
}

function cleanFinding(f: DriftFinding): DriftFinding {
  return {
    provider: f.provider,
    ...(f.instance === undefined ? {} : { instance: f.instance }),
    agent: f.agent,
    kind: f.kind,
    detail: redactSecrets(f.detail),
    ...(f.grantor === undefined ? {} : { grantor: f.grantor }),
    ...(f.via === undefined ? {} : { via: f.via }),
    ...(f.fix === undefined ? {} : { fix: redactSecrets(f.fix) }),
  };
}

function where(provider: Provider): { provider: string; instance?: string } {
  return provider.instance === undefined ? { provider: provider.name } : { provider: provider.name, instance: provider.instance };
}

function sameStep(a: ProvisioningOperation, b: ProvisioningOperation): boolean {
  return a.provider === b.provider && a.instance === b.instance && a.agent === b.agent && a.action === b.action && a.target === b.target;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
