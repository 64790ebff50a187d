import type { Grant } from "./grants.js";
import type { IdentityMarker } from "./marker.js";

/** A privilege some role holds on an object, with the role that granted it. */
export interface ObservedGrant extends Grant {
  readonly grantee: string;
  readonly grantor: string;
}

export interface ObservedRole {
  readonly name: string;
  readonly canLogin: boolean;
  /** -1: no limit. */
  readonly connLimit: number;
  /** ISO timestamp, or null for no expiry. */
  readonly validUntil: string | null;
  readonly comment: string | null;
  /** Roles this role is a member of, with who granted the membership. */
  readonly memberOf: readonly { readonly role: string; readonly grantor: string }[];
  /** Roles that are members of this role. */
  readonly members: readonly string[];
}

export interface ObservedIdentity {
  readonly role: ObservedRole;
  /** Member of the marker role: Charter's. Without it the role is a look-alike and never touched. */
  readonly managed: boolean;
  /** The approval stamped on the role, if its comment still parses. */
  readonly marker: IdentityMarker | undefined;
  /** Lease roles: Charter-named LOGIN roles that are members of this identity. */
  readonly leases: readonly ObservedRole[];
  readonly grants: readonly ObservedGrant[];
}

/**
 * What one PostgreSQL server holds that concerns Charter: every role named like an identity or
 * a lease, and every privilege granted to one of them in the observed databases.
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
}
