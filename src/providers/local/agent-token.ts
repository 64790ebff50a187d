import { createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import type { SigningKey } from "./signing-key.js";

/**
 * Agent tokens: compact JWS (RFC 7515/7519) signed with Ed25519 ("EdDSA", RFC 8037). The claims
 * carry the agent's exact permissions as approved, so a tool gateway needs nothing but the JWKS
 * and, for revocation before expiry, the revocation list.
 */
export interface AgentTokenClaims {
  readonly iss: string;
  /** The agent id. */
  readonly sub: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  /** SHA-256 of the manifest bytes that approved these permissions. */
  readonly manifest_sha256: string;
  /** The commit that approved them. */
  readonly commit: string;
  /** Exactly the permissions the local provider enforces for the agent, sorted. */
  readonly permissions: readonly string[];
}

export function signToken(claims: AgentTokenClaims, key: SigningKey): string {
  const header = { alg: "EdDSA", typ: "JWT", kid: key.kid };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  return `${input}.${sign(null, Buffer.from(input), key.privateKey).toString("base64url")}`;
}

/** A JWKS as a gateway fetched it: members are checked, not trusted. */
export interface JwksInput {
  readonly keys: readonly { readonly kty?: unknown; readonly crv?: unknown; readonly x?: unknown; readonly kid?: unknown }[];
}

export type TokenVerification =
  | { readonly ok: true; readonly claims: AgentTokenClaims }
  | { readonly ok: false; readonly reason: "malformed" | "unsupported-algorithm" | "unknown-key" | "bad-signature" | "expired" | "not-yet-valid" | "revoked" | "wrong-issuer" };

export interface VerifyOptions {
  /** The verifier's clock. */
  readonly now: Date;
  /** Ids (jti) of revoked tokens; see LocalRegistry.revokedTokenIds. */
  readonly revoked?: ReadonlySet<string> | readonly string[];
  /** When given, the iss claim must equal it. */
  readonly issuer?: string;
  /** Seconds of clock difference tolerated between issuer and verifier. Default 0. */
  readonly clockToleranceSeconds?: number;
}

const PART = /^[A-Za-z0-9_-]+$/;

/**
 * Verifies a token for a tool gateway. The token is attacker-controlled: it is split and decoded
 * defensively, the algorithm is fixed to EdDSA whatever the header says (no "none", no key
 * confusion), the key is chosen by kid from the given JWKS only, and claims are type-checked
 * before use.
 */
export function verifyToken(token: string, keys: JwksInput, options: VerifyOptions): TokenVerification {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((p) => PART.test(p))) return { ok: false, reason: "malformed" };
  const [headerPart = "", claimsPart = "", signaturePart = ""] = parts;
  const header = decodeJson(headerPart);
  if (header === undefined) return { ok: false, reason: "malformed" };
  if (header["alg"] !== "EdDSA") return { ok: false, reason: "unsupported-algorithm" };
  const jwk = keys.keys.find((k) => k.kid === header["kid"] && k.kty === "OKP" && k.crv === "Ed25519");
  if (jwk === undefined || typeof jwk.x !== "string") return { ok: false, reason: "unknown-key" };
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: jwk.x }, format: "jwk" });
  } catch {
    return { ok: false, reason: "unknown-key" };
  }
  if (!verify(null, Buffer.from(`${headerPart}.${claimsPart}`), publicKey, Buffer.from(signaturePart, "base64url"))) return { ok: false, reason: "bad-signature" };

  const claims = asClaims(decodeJson(claimsPart));
  if (claims === undefined) return { ok: false, reason: "malformed" };
  const now = Math.floor(options.now.getTime() / 1000);
  const tolerance = options.clockToleranceSeconds ?? 0;
  if (now >= claims.exp + tolerance) return { ok: false, reason: "expired" };
  if (claims.iat > now + tolerance) return { ok: false, reason: "not-yet-valid" };
  if (options.issuer !== undefined && claims.iss !== options.issuer) return { ok: false, reason: "wrong-issuer" };
  const revoked = options.revoked;
  if (revoked !== undefined && (Array.isArray(revoked) ? revoked.includes(claims.jti) : (revoked as ReadonlySet<string>).has(claims.jti))) {
    return { ok: false, reason: "revoked" };
  }
  return { ok: true, claims };
}

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function asClaims(value: Record<string, unknown> | undefined): AgentTokenClaims | undefined {
  if (value === undefined) return undefined;
  const { iss, sub, iat, exp, jti, manifest_sha256, commit, permissions } = value;
  if (typeof iss !== "string" || typeof sub !== "string" || typeof jti !== "string" || typeof manifest_sha256 !== "string" || typeof commit !== "string") return undefined;
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) return undefined;
  if (!Array.isArray(permissions) || !permissions.every((p) => typeof p === "string")) return undefined;
  return { iss, sub, iat: iat as number, exp: exp as number, jti, manifest_sha256, commit, permissions };
}
