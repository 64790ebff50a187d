import type { ArgumentType, Grant, GrantKind } from "./grants.js";
import type { IdentityMarker } from "./marker.js";
import type { AuditDatabase } from "./object-audit.js";

/**
 * The grantee name that stands for PUBLIC. PostgreSQL reserves exactly this name (CREATE ROLE
 * "public" fails), so no role can be mistaken for it; SQL renders it as the keyword PUBLIC.
 */
export const PUBLIC = "public";

/** A privilege some role (or PUBLIC) holds on an object, with the role that granted it. */
export interface ObservedGrant extends Grant {
  readonly grantee: string;
  readonly grantor: string;
  /** A SECURITY DEFINER function runs with its owner's privileges, whoever calls it. */
  readonly securityDefiner?: boolean;
}

export interface Membership {
  readonly role: string;
  /** Who granted the membership; "" when the catalog does not record a grantor that still exists. */
  readonly grantor: string;
  /** Whether the member uses the role's privileges without SET ROLE (PostgreSQL 15: the member's INHERIT attribute). */
  readonly inherit: boolean;
}

export interface ObservedRole {
  readonly name: string;
  readonly canLogin: boolean;
  readonly superuser: boolean;
  readonly createRole: boolean;
  readonly createDb: boolean;
  readonly replication: boolean;
  readonly bypassRls: boolean;
  /** -1: no limit. */
  readonly connLimit: number;
  /** ISO timestamp, or null for no expiry. */
  readonly validUntil: string | null;
  /** Read for Charter-named roles only, where it carries the identity marker. */
  readonly comment: string | null;
  /** Roles this role is a member of. */
  readonly memberOf: readonly Membership[];
  /** Roles that are members of this role (read for identities and leases). */
  readonly members: readonly string[];
}

/** An object a role owns: the owner holds every privilege on it and may grant them. */
export interface ObservedObject {
  readonly database: string;
  readonly kind: GrantKind;
  readonly path: readonly string[];
  readonly args?: readonly ArgumentType[];
  /** The object type as ALTER … OWNER TO names it: TABLE, VIEW, SEQUENCE, FUNCTION, SCHEMA, DATABASE… */
  readonly keyword: string;
  readonly owner: string;
}

/** What ALTER DEFAULT PRIVILEGES names the objects: a default privilege applies to future ones. */
export type DefaultObjects = "TABLES" | "SEQUENCES" | "FUNCTIONS" | "TYPES" | "SCHEMAS";

/** A default privilege (pg_default_acl): objects `owner` creates from now on will grant `privilege` to `grantee`. */
export interface ObservedDefaultPrivilege {
  readonly database: string;
  readonly owner: string;
  /** The schema it is limited to; undefined: every schema. */
  readonly schema: string | undefined;
  readonly objects: DefaultObjects;
  readonly privilege: string;
  readonly grantee: string;
  readonly grantor: string;
}

export interface ObservedIdentity {
  readonly role: ObservedRole;
  /** Member of the marker role: Charter's. Without it the role is a look-alike and never touched. */
  readonly managed: boolean;
  /** The approval stamped on the role, if its comment still parses. */
  readonly marker: IdentityMarker | undefined;
  /** Lease roles: Charter-named LOGIN roles that are members of this identity. */
  readonly leases: readonly ObservedRole[];
  /** Privileges granted to the identity itself or to one of its leases. */
  readonly grants: readonly ObservedGrant[];
}

/**
 * What one PostgreSQL server holds that concerns Charter: every role named like an identity or a
 * lease, every role they (or the marker) reach through memberships, and everything those roles and
 * PUBLIC hold in the observed databases — grants, ownership, default privileges — beyond
 * PostgreSQL's built-in defaults (see observe-sql.ts).
 */
export interface PostgresObserved {
  readonly instance: string;
  /** The role the provider runs as: the grantor of every grant it makes. */
  readonly provisioner: string;
  /** The server's clock when observed; a lease expires by it, since VALID UNTIL is checked against it. */
  readonly now: string;
  readonly databases: readonly string[];
  readonly markerRoleExists: boolean;
  readonly identities: readonly ObservedIdentity[];
  /** Lease-named roles not attached to a managed identity. Reported, never touched. */
  readonly strayLeases: readonly ObservedRole[];
  /** Every role read, by name: identities, leases, the marker, the roles they reach, and other members of identities. */
  readonly roles: ReadonlyMap<string, ObservedRole>;
  /** Privileges by grantee (a role name or PUBLIC). */
  readonly grants: ReadonlyMap<string, readonly ObservedGrant[]>;
  /** Objects by owner. */
  readonly owned: ReadonlyMap<string, readonly ObservedObject[]>;
  /** Default privileges by grantee (a role name or PUBLIC). */
  readonly defaults: ReadonlyMap<string, readonly ObservedDefaultPrivilege[]>;
  /** Object auditing's view of each observed database; read only when object auditing is configured. */
  readonly audit?: readonly AuditDatabase[];
}
