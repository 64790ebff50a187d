import { reachedRoles, via, type ReachedRole } from "./effective.js";
import { removeAttribute, revokeAsGrantor, revokeDefault, revokeMembership, takeOwnership, type RoleAttribute } from "./fixes.js";
import { describeGrant, grantKey, objectLocation } from "./grants.js";
import { PUBLIC, type ObservedDefaultPrivilege, type ObservedObject, type ObservedRole, type PostgresObserved } from "./observed.js";
import { predefinedRolePower } from "./predefined-roles.js";
import type { RoleNames } from "./role-names.js";
import type { PostgresAction, Step } from "./steps.js";

/**
 * What an agent holds beyond the grants on its own identity: the attributes of its roles, the
 * roles it reaches through memberships and everything they hold, objects its roles own, default
 * privileges that will grant to them, and — once for every agent — what the marker role and
 * PUBLIC hold. Pure: it reads an observation and plans steps and findings.
 *
 * Charter removes what it may: memberships of its own roles (CREATEROLE allows it for any role that
 * is not a superuser), grants it made itself to the marker or PUBLIC, and its own default
 * privileges. Everything else is a finding with the statements a person runs (`fix`).
 */

/** The agent name of findings and steps that concern every agent on the server. */
const EVERY_AGENT = "*";

export interface FindingInput {
  readonly agent: string;
  readonly kind: string;
  readonly detail: string;
  readonly grantor?: string | undefined;
  readonly via?: string | undefined;
  readonly fix?: string | undefined;
}

export interface PlanSink {
  op(agent: string, action: PostgresAction, target: string, payload: Step): void;
  find(finding: FindingInput): void;
}

export interface ReviewContext {
  readonly names: RoleNames;
  readonly observed: PostgresObserved;
  readonly sink: PlanSink;
  /** Memberships already planned for revocation (role NUL member): two findings can share one. */
  readonly revoking: Set<string>;
}

const ATTRIBUTES: readonly { readonly attribute: RoleAttribute; readonly held: (r: ObservedRole) => boolean }[] = [
  { attribute: "SUPERUSER", held: (r) => r.superuser },
  { attribute: "REPLICATION", held: (r) => r.replication },
  { attribute: "BYPASSRLS", held: (r) => r.bypassRls },
  { attribute: "CREATEROLE", held: (r) => r.createRole },
  { attribute: "CREATEDB", held: (r) => r.createDb },
];

/** Attributes that bypass or widen privileges, none of which a manifest can approve. */
export function elevatedAttributes(role: ObservedRole): RoleAttribute[] {
  // Checked for every identity and lease on each re-sync: the common case allocates nothing.
  if (!role.superuser && !role.replication && !role.bypassRls && !role.createRole && !role.createDb) return NONE;
  return ATTRIBUTES.filter((a) => a.held(role)).map((a) => a.attribute);
}

const NONE: RoleAttribute[] = [];

/**
 * A role holding SUPERUSER or REPLICATION can only be altered or dropped by a superuser, and
 * changing BYPASSRLS needs one too; CREATEROLE suffices for the rest (PostgreSQL 15).
 */
export function alterableByProvisioner(role: ObservedRole): boolean {
  return !role.superuser && !role.replication;
}

/** Reviews one agent's own roles (its identity and leases) and every role they reach. */
export function reviewAgent(ctx: ReviewContext, agent: string, identity: string, leases: readonly string[], approved: ReadonlySet<string>): void {
  if (leases.length === 0 && plain(ctx, identity)) return;
  const own = [identity, ...leases];
  const ownSet = new Set(own);
  for (const role of own) {
    // A lease is named as the path; the identity is the agent itself.
    const path = role === identity ? undefined : role;
    for (const object of ctx.observed.owned.get(role) ?? []) {
      ctx.sink.find({ agent, kind: "ownership", detail: `${role} owns ${ownedObject(object)}: every privilege on it, and the right to grant them`, via: path, fix: takeOwnership(object) });
    }
    reviewDefaults(ctx, agent, role, path, undefined);
  }
  const reached = reachedRoles(ctx.observed.roles, own, (_member, role) => role === ctx.names.marker || ownSet.has(role));
  reviewReached(ctx, agent, identity, reached, approved);
}

/** An identity that is a member of the marker only, owns nothing and has no default privileges: nothing to review (the common case). */
function plain(ctx: ReviewContext, identity: string): boolean {
  const memberOf = ctx.observed.roles.get(identity)?.memberOf ?? [];
  return (
    (memberOf.length === 0 || (memberOf.length === 1 && memberOf[0]?.role === ctx.names.marker)) &&
    !ctx.observed.owned.has(identity) &&
    !ctx.observed.defaults.has(identity)
  );
}

/** The marker role and PUBLIC: whatever they hold, every agent holds. Reported once, for every agent. */
export function reviewShared(ctx: ReviewContext): void {
  const { names, observed, sink } = ctx;
  const marker = observed.roles.get(names.marker);
  if (marker !== undefined) {
    for (const attribute of [...(marker.canLogin ? (["LOGIN"] as const) : []), ...elevatedAttributes(marker)]) {
      sink.find({
        agent: EVERY_AGENT,
        kind: "role-attribute",
        detail: `the marker role ${names.marker} has ${attribute}; every agent can SET ROLE ${names.marker}`,
        via: names.marker,
        fix: removeAttribute(names.marker, attribute),
      });
    }
    reviewGrants(ctx, names.marker, `is granted to ${names.marker}, whose members are every agent's identity`);
    for (const object of observed.owned.get(names.marker) ?? []) {
      sink.find({ agent: EVERY_AGENT, kind: "ownership", detail: `${names.marker} owns ${ownedObject(object)}, so every agent holds every privilege on it`, via: names.marker, fix: takeOwnership(object) });
    }
    reviewDefaults(ctx, EVERY_AGENT, names.marker, names.marker, undefined);
    reviewReached(ctx, EVERY_AGENT, undefined, reachedRoles(observed.roles, [names.marker], () => false), new Set());
  }
  reviewGrants(ctx, PUBLIC, "is granted to PUBLIC, so every role holds it");
  reviewDefaults(ctx, EVERY_AGENT, PUBLIC, "PUBLIC", undefined);
}

/** Grants to the marker or PUBLIC: revoked when the provisioner made them, reported with the grantor's REVOKE otherwise. */
function reviewGrants(ctx: ReviewContext, holder: string, how: string): void {
  const path = holder === PUBLIC ? "PUBLIC" : holder;
  for (const g of ctx.observed.grants.get(holder) ?? []) {
    const what = g.securityDefiner === true && holder === PUBLIC && g.privilege === "EXECUTE" ? `${describeGrant(g)} (SECURITY DEFINER: it runs as its owner)` : describeGrant(g);
    if (g.grantor === ctx.observed.provisioner) {
      ctx.sink.find({ agent: EVERY_AGENT, kind: "extra-grant", detail: `${what} ${how}; no manifest approves it`, via: path });
      ctx.sink.op(EVERY_AGENT, "revoke", `${describeGrant(g)} from ${path}`, { type: "revoke", role: holder, grant: g });
    } else {
      ctx.sink.find({
        agent: EVERY_AGENT,
        kind: "foreign-grant",
        detail: `${what} ${how}; it was granted by ${g.grantor}, and only that role (or a superuser acting as it) can revoke it`,
        grantor: g.grantor,
        via: path,
        fix: revokeAsGrantor(g, holder, g.grantor),
      });
    }
  }
}

/** Default privileges that will grant to `grantee` on objects created from now on. */
function reviewDefaults(ctx: ReviewContext, agent: string, grantee: string, path: string | undefined, through: ReachedRole | undefined): void {
  for (const d of ctx.observed.defaults.get(grantee) ?? []) {
    const future = `${d.objects.toLowerCase()} that ${d.owner} creates in ${d.schema === undefined ? `any schema of database ${d.database}` : `schema ${d.database}.${d.schema}`} will grant ${d.privilege} to ${grantee === PUBLIC ? "PUBLIC" : grantee}`;
    if (through !== undefined) {
      ctx.sink.find({ agent, kind: "default-privilege", detail: `${future}, which the agent can act as`, grantor: d.owner, via: path, fix: revokeMembership(through.first.role, through.first.member) });
    } else if (d.owner === ctx.observed.provisioner) {
      ctx.sink.find({ agent, kind: "default-privilege", detail: `${future}; no manifest approves it`, via: path });
      ctx.sink.op(agent, "revoke-default", describeDefault(d), { type: "revoke-default", entry: d });
    } else {
      ctx.sink.find({ agent, kind: "default-privilege", detail: `${future}; only ${d.owner} (or a superuser) can change it`, grantor: d.owner, via: path, fix: revokeDefault(d) });
    }
  }
}

function reviewReached(ctx: ReviewContext, agent: string, identity: string | undefined, reached: readonly ReachedRole[], approved: ReadonlySet<string>): void {
  const { observed, sink } = ctx;
  for (const r of reached) {
    const role = observed.roles.get(r.role);
    const path = via(r.chain, r.inherited, identity);
    const cut = revokeMembership(r.first.role, r.first.member);
    const powers = [
      ...(role === undefined ? [] : elevatedAttributes(role).map((a) => `${r.role} has ${a}`)),
      ...[predefinedRolePower(r.role)].filter((p) => p !== undefined),
    ];
    const direct = r.chain.length === 2;
    const what = direct
      ? `${r.first.member} is a member of ${r.role}${r.first.grantor === "" ? "" : ` (granted by ${r.first.grantor})`}`
      : `${r.chain[0] ?? ""} reaches ${r.role} through ${r.chain.slice(1, -1).join(" → ")}`;
    const use = r.inherited ? "" : `; its privileges are one SET ROLE ${r.role} away`;
    const first = observed.roles.get(r.first.role);
    const member = observed.roles.get(r.first.member);
    const removable = direct && first !== undefined && !first.superuser && (member === undefined || alterableByProvisioner(member));
    sink.find({
      agent,
      kind: "extra-membership",
      detail: `${what}${powers.length === 0 ? "" : `: ${powers.join("; ")}`}${use}`,
      ...(direct ? (r.first.grantor === "" ? {} : { grantor: r.first.grantor }) : { via: path }),
      ...(removable ? {} : { fix: cut }),
    });
    const key = `${r.first.role}\0${r.first.member}`;
    if (removable && !ctx.revoking.has(key)) {
      ctx.revoking.add(key);
      sink.op(agent, "revoke-membership", `${r.first.member} from ${r.first.role}`, { type: "revoke-membership", role: r.first.role, member: r.first.member });
    }
    for (const g of observed.grants.get(r.role) ?? []) {
      if (approved.has(grantKey(g))) continue;
      sink.find({ agent, kind: "inherited-grant", detail: `${describeGrant(g)} is granted to ${r.role} by ${g.grantor}, and the agent holds it through membership`, grantor: g.grantor, via: path, fix: cut });
    }
    for (const object of observed.owned.get(r.role) ?? []) {
      sink.find({ agent, kind: "ownership", detail: `${r.role} owns ${ownedObject(object)}, and the agent holds every privilege on it through membership`, via: path, fix: cut });
    }
    reviewDefaults(ctx, agent, r.role, path, r);
  }
}

function ownedObject(o: ObservedObject): string {
  return `${o.keyword.toLowerCase()} ${objectLocation(o)}`;
}

function describeDefault(d: ObservedDefaultPrivilege): string {
  return `default ${d.privilege} on ${d.objects.toLowerCase()} of ${d.owner}${d.schema === undefined ? "" : ` in ${d.database}.${d.schema}`} to ${d.grantee === PUBLIC ? "PUBLIC" : d.grantee}`;
}
