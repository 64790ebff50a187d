/**
 * What a provider keeps beside each identity it manages, wherever it stores it (a role comment,
 * an ACL user's metadata, a file beside the proxy's configuration): which approval produced the
 * identity's state, so that drift can be told from a new approval, and the credential limit, so
 * that a lease can be issued within it without the manifest at hand. Nothing in it is secret.
 */
export interface IdentityMarker {
  readonly agent: string;
  readonly commit: string;
  readonly manifestSha256: string;
  readonly maxLifetimeSeconds: number;
}

/** One issued lease: a random id that names it in plans and records, never its secret. */
export interface LeaseRecord {
  readonly lease: string;
  readonly agent: string;
  /** Milliseconds since the epoch, by the clock of whatever enforces it. */
  readonly validUntil: number;
}
