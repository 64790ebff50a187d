import type { DriftFinding } from "../../schema-types/evidence-record.generated.js";
import type { DesiredAgent, DiffOptions, PlannedOperation, ProviderDiff } from "../../provision/provider.js";
import { removeAttribute, revokeAsGrantor, revokeMembership } from "./fixes.js";
import { describeGrant, grantKey, grantsFor, permissionProblem, type Grant } from "./grants.js";
import { encodeMarker, sameMarker, type IdentityMarker } from "./marker.js";
import type { ObservedGrant, ObservedIdentity, ObservedRole, PostgresObserved } from "./observed.js";
import { alterableByProvisioner, elevatedAttributes, type FindingInput, type ReviewContext, reviewAgent, reviewShared } from "./privilege-review.js";
import { identityRoleName, isSafeAgentId, type RoleNames } from "./role-names.js";
import { type AuditSettings, diffObjectAudit } from "./object-audit.js";
import type { PostgresAction, Step } from "./steps.js";

export type { PostgresAction } from "./steps.js";

export interface DiffContext {
  readonly instance: string;
  readonly names: RoleNames;
  /** Object auditing of the catalog's classified tables; undefined: off. */
  readonly audit?: AuditSettings;
}

const PROVIDER = "postgres";

/**
 * Pure: what turns `observed` into `desired`. Differences Charter may fix become operations;
 * where the identity still carries the approval being applied (same commit and manifest), they
 * are drift and are also reported as findings. Differences Charter must not fix (a look-alike
 * role, a grant whose grantor is another role, a superuser attribute) are findings only, with the
 * statements a person runs. What an agent holds beyond its own grants — through leases, memberships,
 * ownership, default privileges, the marker role and PUBLIC — is reviewed in privilege-review.ts.
 */
export function diffPostgres(ctx: DiffContext, desired: readonly DesiredAgent[], observed: PostgresObserved, options: DiffOptions): ProviderDiff {
  const operations: PlannedOperation[] = [];
  const findings: DriftFinding[] = [];
  const op = (agent: string, action: PostgresAction, target: string, payload: Step): void => {
    operations.push({ provider: PROVIDER, instance: ctx.instance, agent, action, target, payload });
  };
  const report = (f: FindingInput): void => {
    findings.push({
      provider: PROVIDER,
      instance: ctx.instance,
      agent: f.agent,
      kind: f.kind,
      detail: f.detail,
      ...(f.grantor === undefined ? {} : { grantor: f.grantor }),
      ...(f.via === undefined ? {} : { via: f.via }),
      ...(f.fix === undefined ? {} : { fix: f.fix }),
    });
  };
  const find = (agent: string, kind: string, detail: string): void => {
    report({ agent, kind, detail });
  };
  const review: ReviewContext = { names: ctx.names, observed, sink: { op, find: report }, revoking: new Set() };

  const byRole = new Map(observed.identities.map((i) => [i.role.name, i]));
  const claimed = new Set<string>();
  const needsIdentity = desired.some((a) => a.status === "active" && isSafeAgentId(a.id) && !byRole.has(identityRoleName(ctx.names, a.id)));
  if (!observed.markerRoleExists && needsIdentity) {
    op("*", "create-marker", ctx.names.marker, { type: "create-marker", role: ctx.names.marker });
  }

  for (const agent of [...desired].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (!isSafeAgentId(agent.id)) {
      find(agent.id, "invalid-agent", `agent id ${JSON.stringify(agent.id)} is not a DNS label; no role is derived from it`);
      continue;
    }
    const role = identityRoleName(ctx.names, agent.id);
    claimed.add(role);
    const identity = byRole.get(role);
    if (identity !== undefined && !identity.managed) {
      find(agent.id, "unmanaged-identity", `role ${role} exists without membership in ${ctx.names.marker}; Charter leaves it alone`);
      continue;
    }
    if (identity?.marker !== undefined && identity.marker.agent !== agent.id) {
      find(agent.id, "unmanaged-identity", `role ${role} is stamped for agent ${JSON.stringify(identity.marker.agent)}; Charter leaves it alone`);
      continue;
    }
    if (agent.status === "retired") {
      if (identity !== undefined) deprovision(agent.id, identity, observed, op, report);
      continue;
    }
    syncAgent(ctx, agent, role, identity, observed, op, review);
  }

  for (const identity of observed.identities) {
    if (claimed.has(identity.role.name)) continue;
    const agent = identity.marker?.agent ?? identity.role.name;
    if (!identity.managed) {
      find(agent, "unmanaged-identity", `role ${identity.role.name} looks like an agent identity but is not a member of ${ctx.names.marker}; Charter leaves it alone`);
    } else if (options.prune) {
      deprovision(agent, identity, observed, op, report);
    } else {
      find(agent, "orphaned-identity", `role ${identity.role.name} is managed by Charter but no manifest names its agent; prune to remove it`);
    }
  }
  for (const lease of observed.strayLeases) {
    find(lease.name, "unmanaged-identity", `role ${lease.name} looks like a Charter lease but belongs to no managed identity; Charter leaves it alone`);
  }
  reviewShared(review);
  if (ctx.audit !== undefined && observed.audit !== undefined) {
    const audit = diffObjectAudit({ instance: ctx.instance, names: ctx.names, provisioner: observed.provisioner }, ctx.audit, observed.audit);
    operations.push(...audit.operations);
    findings.push(...audit.findings);
  }
  return { operations, findings };
}

type Op = (agent: string, action: PostgresAction, target: string, payload: Step) => void;

function syncAgent(ctx: DiffContext, agent: DesiredAgent, role: string, identity: ObservedIdentity | undefined, observed: PostgresObserved, op: Op, review: ReviewContext): void {
  const { sink } = review;
  const find = (agentId: string, kind: string, detail: string): void => {
    sink.find({ agent: agentId, kind, detail });
  };
  const marker: IdentityMarker = {
    agent: agent.id,
    commit: agent.commit,
    manifestSha256: agent.manifestSha256,
    maxLifetimeSeconds: agent.maxLifetimeSeconds,
    maxConcurrentSessions: agent.maxConcurrentSessions ?? null,
  };
  const permissions = agent.permissions.filter((p) => p.system === "postgres" && p.instance === ctx.instance);
  const usable = permissions.filter((p) => {
    const problem = permissionProblem(p);
    if (problem !== undefined) find(agent.id, "invalid-permission", `${p.raw}: ${problem}`);
    return problem === undefined;
  });
  const wanted = grantsFor(usable);

  if (identity === undefined) {
    op(agent.id, "create-identity", role, { type: "create-identity", role, marker: encodeMarker(marker), markerRole: ctx.names.marker });
    for (const g of wanted) op(agent.id, "grant", `${describeGrant(g)} to ${role}`, { type: "grant", role, grant: g });
    return;
  }

  // Same approval as stamped: any difference arose after Charter applied it, which is drift. The
  // approval is the manifest's content: a later commit that left the manifest alone (another
  // agent's change, a catalog change) approves nothing new, and the marker keeps the commit that did.
  const sameApproval = identity.marker?.manifestSha256 === agent.manifestSha256;
  const connLimit = agent.maxConcurrentSessions ?? -1;
  const now = Date.parse(observed.now);
  const live: ObservedRole[] = [];
  for (const lease of identity.leases) {
    const until = lease.validUntil === null ? Infinity : Date.parse(lease.validUntil);
    const elevated = elevatedAttributes(lease);
    for (const attribute of elevated) {
      sink.find({ agent: agent.id, kind: "role-attribute", detail: `lease ${lease.name} has ${attribute}`, via: lease.name, ...(alterableByProvisioner(lease) ? {} : { fix: removeAttribute(lease.name, attribute) }) });
    }
    if (elevated.length > 0 && alterableByProvisioner(lease)) {
      // A lease is disposable: one someone widened is dropped, and the agent asks for another.
      op(agent.id, "revoke-lease", lease.name, { type: "drop-lease", role: lease.name });
    } else if (until <= now) {
      op(agent.id, "drop-expired-lease", lease.name, { type: "drop-lease", role: lease.name });
    } else if (until > now + agent.maxLifetimeSeconds * 1000) {
      find(agent.id, "lifetime", `lease ${lease.name} is valid until ${lease.validUntil ?? "forever"}, beyond the manifest's ${agent.maxLifetimeSeconds} s from now`);
      op(agent.id, "revoke-lease", lease.name, { type: "drop-lease", role: lease.name });
    } else {
      live.push(lease);
    }
  }
  const staleLeases = live.filter((l) => l.connLimit !== connLimit).map((l) => l.name);
  if (identity.role.canLogin && sameApproval) find(agent.id, "identity-login", `identity role ${role} can log in; only leases may`);
  const alterable = alterableByProvisioner(identity.role);
  for (const attribute of elevatedAttributes(identity.role)) {
    const repairs = alterable && (attribute === "CREATEDB" || attribute === "CREATEROLE");
    sink.find({ agent: agent.id, kind: "role-attribute", detail: `identity role ${role} has ${attribute}`, ...(repairs ? {} : { fix: removeAttribute(role, attribute) }) });
  }
  const widened = alterable && (identity.role.createDb || identity.role.createRole);
  if (identity.marker === undefined || !sameMarker(identity.marker, marker) || identity.role.canLogin || widened || staleLeases.length > 0) {
    op(agent.id, "update-identity", role, { type: "update-identity", role, marker: encodeMarker(marker), markerRole: ctx.names.marker, leases: staleLeases, connLimit });
  }

  // Several overloads of one function name share a key: each is kept, so that each can be revoked.
  const ours = new Map<string, ObservedGrant[]>();
  for (const g of identity.grants) {
    if (g.grantor !== observed.provisioner) {
      sink.find({
        agent: agent.id,
        kind: "foreign-grant",
        detail: `${describeGrant(g)} to ${g.grantee} was granted by ${g.grantor}; only that role (or a superuser acting as it) can revoke it`,
        grantor: g.grantor,
        ...(g.grantee === role ? {} : { via: g.grantee }),
        fix: revokeAsGrantor(g, g.grantee, g.grantor),
      });
    } else if (g.grantee !== role) {
      find(agent.id, "extra-grant", `${describeGrant(g)} is held by lease ${g.grantee}; leases hold nothing themselves`);
      op(agent.id, "revoke", `${describeGrant(g)} from ${g.grantee}`, { type: "revoke", role: g.grantee, grant: g });
    } else {
      const key = grantKey(g);
      const same = ours.get(key);
      if (same === undefined) ours.set(key, [g]);
      else same.push(g);
    }
  }
  const wantedKeys = new Set<string>();
  for (const g of wanted) {
    const key = grantKey(g);
    wantedKeys.add(key);
    if (ours.has(key)) continue;
    if (sameApproval) find(agent.id, "missing-grant", `${describeGrant(g)} to ${role} is approved but not held`);
    op(agent.id, "grant", `${describeGrant(g)} to ${role}`, { type: "grant", role, grant: g });
  }
  for (const [key, held] of ours) {
    if (wantedKeys.has(key)) continue;
    for (const g of held) {
      if (sameApproval) find(agent.id, "extra-grant", `${describeGrant(g)} to ${role} is held but not approved`);
      const grant: Grant = { database: g.database, kind: g.kind, path: g.path, privilege: g.privilege, ...(g.args === undefined ? {} : { args: g.args }) };
      op(agent.id, "revoke", `${describeGrant(g)} from ${role}`, { type: "revoke", role, grant });
    }
  }

  reviewAgent(review, agent.id, role, identity.leases.map((l) => l.name), wantedKeys);
  const leaseNames = new Set(identity.leases.map((l) => l.name));
  for (const member of identity.role.members) {
    // The provisioner is a member only while a deprovision is under way (assume-roles).
    if (leaseNames.has(member) || member === observed.provisioner) continue;
    const other = observed.roles.get(member);
    const removable = other === undefined || alterableByProvisioner(other);
    sink.find({
      agent: agent.id,
      kind: "extra-member",
      detail: `role ${member} is a member of identity ${role} and holds its privileges; an identity belongs to one agent`,
      ...(removable ? {} : { fix: revokeMembership(role, member) }),
    });
    const key = `${role}\0${member}`;
    if (removable && !review.revoking.has(key)) {
      review.revoking.add(key);
      op(agent.id, "revoke-membership", `${member} from ${role}`, { type: "revoke-membership", role, member });
    }
  }
}

function deprovision(agent: string, identity: ObservedIdentity, observed: PostgresObserved, op: Op, report: (f: FindingInput) => void): void {
  const role = identity.role.name;
  // Charter cannot revoke these, and they keep DROP ROLE from succeeding: say so up front.
  for (const g of identity.grants) {
    if (g.grantor === observed.provisioner) continue;
    report({
      agent,
      kind: "foreign-grant",
      detail: `${describeGrant(g)} to ${g.grantee} was granted by ${g.grantor} and blocks removing ${role}; only that role (or a superuser acting as it) can revoke it`,
      grantor: g.grantor,
      ...(g.grantee === role ? {} : { via: g.grantee }),
      fix: revokeAsGrantor(g, g.grantee, g.grantor),
    });
  }
  const leases = identity.leases.map((l) => l.name);
  const all = [role, ...leases];
  op(agent, "revoke-login", role, { type: "revoke-login", roles: all });
  op(agent, "terminate-sessions", role, { type: "terminate-sessions", roles: all });
  op(agent, "assume-roles", role, { type: "assume-roles", roles: all });
  for (const database of observed.databases) op(agent, "drop-owned", `${role} in database ${database}`, { type: "drop-owned", database, roles: all });
  for (const lease of leases) op(agent, "drop-lease", lease, { type: "drop-role", role: lease });
  op(agent, "drop-identity", role, { type: "drop-role", role });
}
