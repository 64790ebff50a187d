// GitHub App authentication as GitHub does it: the app signs a short-lived RS256 JWT with its
// private key to call /app endpoints, and trades it for one-hour installation tokens that every
// other endpoint accepts.

import { generateKeyPairSync, randomBytes, verify, type KeyObject } from "node:crypto";
import type { Installation, PermissionLevel } from "./state.js";

export interface InstallationToken {
  readonly token: string;
  readonly installationId: number;
  readonly expiresAt: Date;
  readonly permissions: Record<string, PermissionLevel>;
  /** Repository ids the token is limited to; null means every repository of the installation. */
  readonly repositoryIds: ReadonlySet<number> | null;
}

export type Credential =
  | { readonly kind: "app" }
  | { readonly kind: "installation"; readonly token: InstallationToken }
  | { readonly kind: "none" };

/** Why a credential was refused; `message` is GitHub's wording for the case. */
export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthError";
  }
}

function base64UrlJson(part: string): unknown {
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}

export class AppAuth {
  readonly privateKey: string;
  private readonly publicKey: KeyObject;
  private readonly tokens = new Map<string, InstallationToken>();

  constructor(
    readonly appId: number,
    private readonly clock: () => Date,
  ) {
    // A fresh key per simulator: nothing outside this process can ever sign for it.
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.privateKey = pair.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    this.publicKey = pair.publicKey;
  }

  /** Checks a JWT the way GitHub documents: RS256, `iss` = app id, `exp` at most 10 minutes ahead. */
  verifyJwt(jwt: string): void {
    const parts = jwt.split(".");
    const [header, payload, signature] = parts;
    if (parts.length !== 3 || !header || !payload || !signature) {
      throw new AuthError("A JSON web token could not be decoded");
    }
    let claims: { iss?: unknown; exp?: unknown; iat?: unknown };
    let alg: unknown;
    try {
      alg = (base64UrlJson(header) as { alg?: unknown }).alg;
      claims = base64UrlJson(payload) as typeof claims;
    } catch {
      throw new AuthError("A JSON web token could not be decoded");
    }
    if (alg !== "RS256") throw new AuthError("A JSON web token could not be decoded");
    const valid = verify(
      "RSA-SHA256",
      Buffer.from(`${header}.${payload}`),
      this.publicKey,
      Buffer.from(signature, "base64url"),
    );
    if (!valid) throw new AuthError("A JSON web token could not be decoded");
    if (String(claims.iss) !== String(this.appId)) {
      throw new AuthError("Integration not found");
    }
    const now = Math.floor(this.clock().getTime() / 1000);
    if (typeof claims.exp !== "number" || typeof claims.iat !== "number") {
      throw new AuthError("A JSON web token could not be decoded");
    }
    if (claims.exp <= now) {
      throw new AuthError(
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
      );
    }
    if (claims.exp > now + 600 + 60) throw new AuthError("'Expiration time' claim ('exp') is too far in the future");
    if (claims.iat > now + 60) {
      throw new AuthError("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued");
    }
  }

  issueToken(
    installation: Installation,
    permissions: Record<string, PermissionLevel>,
    repositoryIds: ReadonlySet<number> | null,
  ): InstallationToken {
    const token: InstallationToken = {
      token: `ghs_${randomBytes(27).toString("base64url").slice(0, 36)}`,
      installationId: installation.id,
      expiresAt: new Date(this.clock().getTime() + 60 * 60 * 1000),
      permissions,
      repositoryIds,
    };
    this.tokens.set(token.token, token);
    return token;
  }

  /** Reads the Authorization header; throws AuthError for credentials GitHub would refuse. */
  authenticate(header: string | null): Credential {
    if (!header) return { kind: "none" };
    const match = /^(bearer|token)\s+(\S+)$/i.exec(header.trim());
    const value = match?.[2];
    if (!value) throw new AuthError("Bad credentials");
    if (value.split(".").length === 3) {
      this.verifyJwt(value);
      return { kind: "app" };
    }
    const token = this.tokens.get(value);
    if (!token || token.expiresAt.getTime() <= this.clock().getTime()) throw new AuthError("Bad credentials");
    return { kind: "installation", token };
  }

  /** What GitHub holds for an installation token it issued, or undefined for one it never did. */
  tokenRecord(token: string): InstallationToken | undefined {
    return this.tokens.get(token);
  }

  /** Makes every issued token expire now, to test token refresh. */
  expireAllTokens(): void {
    for (const [key, token] of this.tokens) this.tokens.set(key, { ...token, expiresAt: new Date(0) });
  }
}
