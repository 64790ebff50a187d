import type { IdentityMarker as ProviderMarker } from "../../provision/identity-marker.js";

/**
 * What Charter writes in `COMMENT ON ROLE` of an identity it manages. Membership in the marker
 * role is what makes an identity Charter's; the comment records which approval produced its
 * state (so that drift can be told from a new approval) and the credential limits, so that a
 * lease can be issued within them without the manifest at hand. The comment is readable by
 * every role on the server: it holds nothing secret.
 */
export interface IdentityMarker extends ProviderMarker {
  /** null: the manifest sets no limit. */
  readonly maxConcurrentSessions: number | null;
}

const TAG = "charter/identity";

export function encodeMarker(m: IdentityMarker): string {
  return JSON.stringify({
    charter: TAG,
    agent: m.agent,
    commit: m.commit,
    manifestSha256: m.manifestSha256,
    maxLifetimeSeconds: m.maxLifetimeSeconds,
    maxConcurrentSessions: m.maxConcurrentSessions,
  });
}

/** The marker in a role comment, or undefined when the comment is absent or not Charter's. Comments can be edited by hand: parse defensively. */
export function parseMarker(comment: string | null): IdentityMarker | undefined {
  if (comment === null) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(comment);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const { agent, commit, manifestSha256, maxLifetimeSeconds, maxConcurrentSessions } = v;
  if (v["charter"] !== TAG || typeof agent !== "string" || typeof commit !== "string" || typeof manifestSha256 !== "string") return undefined;
  if (typeof maxLifetimeSeconds !== "number" || !Number.isInteger(maxLifetimeSeconds) || maxLifetimeSeconds <= 0) return undefined;
  if (maxConcurrentSessions !== null && (typeof maxConcurrentSessions !== "number" || !Number.isInteger(maxConcurrentSessions) || maxConcurrentSessions < 1)) {
    return undefined;
  }
  return { agent, commit, manifestSha256, maxLifetimeSeconds, maxConcurrentSessions };
}

/**
 * Whether an identity's marker already says what a sync would write. The commit is left out: it
 * records which commit approved the manifest, and a later commit that did not change the manifest
 * approves nothing new, so rewriting it would be work after every unrelated merge (and drift in
 * every check that followed one).
 */
export function sameMarker(a: IdentityMarker, b: IdentityMarker): boolean {
  return (
    a.agent === b.agent &&
    a.manifestSha256 === b.manifestSha256 &&
    a.maxLifetimeSeconds === b.maxLifetimeSeconds &&
    a.maxConcurrentSessions === b.maxConcurrentSessions
  );
}
