import type { IdentityMarker, LeaseRecord } from "./metadata.js";
import type { CommandTable } from "./rules.js";

/** One ACL user: the fields ACL GETUSER reports for its root selector, read from its ACL LIST line. */
export interface ObservedUser {
  readonly name: string;
  readonly flags: readonly string[];
  /** SHA-256 (hex) of each password; Redis never returns the passwords themselves. */
  readonly passwords: readonly string[];
  /** The commands field, in the server's own reconstruction. */
  readonly commands: string;
  readonly keys: string;
  readonly channels: string;
  readonly selectors: number;
}

export interface ObservedConnection {
  readonly id: string;
  readonly user: string;
  readonly ageSeconds: number;
}

export interface RedisObserved {
  readonly instance: string;
  /** The user the provider runs as (ACL WHOAMI). */
  readonly provisioner: string;
  /** The server's clock (TIME) in milliseconds: leases expire by it. */
  readonly now: number;
  readonly commands: CommandTable;
  readonly users: readonly ObservedUser[];
  /** Charter's identity markers by user name; an entry that does not parse is absent. */
  readonly markers: ReadonlyMap<string, IdentityMarker>;
  /** Charter's lease records by password hash. */
  readonly leases: ReadonlyMap<string, LeaseRecord>;
  readonly connections: readonly ObservedConnection[];
}
