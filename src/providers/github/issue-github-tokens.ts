import { randomUUID } from "node:crypto";
import { CharterError } from "../../errors.js";
import { activeIdentity, type LocalRegistry } from "../local/index.js";
import { appJwt } from "./app-jwt.js";
import { GITHUB_TOKEN_LIFETIME_SECONDS, mintInstallationToken, type MintedGithubToken } from "./mint-token.js";
import { githubTokenScopes } from "./token-scope.js";

export interface GithubAppCredentials {
  readonly appId: string;
  readonly privateKeyPem: string;
  readonly apiUrl: string;
  readonly fetch?: typeof globalThis.fetch;
}

export interface GithubTokenOptions {
  /** Only the token whose repositories include this owner/repo. */
  readonly repository?: string;
  /** Refuse, before minting anything, when more than one token would be needed. */
  readonly single?: boolean;
  readonly now?: Date;
}

/**
 * Mints GitHub installation access tokens for an agent's approved github permissions: one per
 * owner and permission set (see githubTokenScopes), each limited to exactly those repositories
 * and permissions. The permissions come from the local registry, the state a sync applied from
 * the default branch's approved manifest, so nothing a pull request writes can widen a token.
 *
 * GitHub's tokens live one hour and cannot be shortened, so an agent whose
 * credentials.maxLifetime is under an hour is refused rather than handed a token that outlives
 * its approval. Each token is recorded in the registry (an id of Charter's, never the token).
 */
export async function issueGithubTokens(registry: LocalRegistry, agentId: string, app: GithubAppCredentials, options: GithubTokenOptions = {}): Promise<MintedGithubToken[]> {
  const { identity, limit } = activeIdentity(registry, agentId);
  if (limit < GITHUB_TOKEN_LIFETIME_SECONDS) {
    throw new CharterError("OUT_OF_RANGE", `agent "${agentId}"'s credentials.maxLifetime of ${limit}s is shorter than the one hour GitHub installation tokens live`, {
      hint: "GitHub cannot shorten an installation token; approve a maxLifetime of at least 1h for an agent with github permissions, or give it no github permissions.",
    });
  }
  let scopes = githubTokenScopes(identity.permissions);
  if (options.repository !== undefined) {
    const wanted = options.repository.toLowerCase();
    scopes = scopes.filter((s) => s.repositories.some((r) => `${s.owner}/${r}` === wanted));
  }
  if (scopes.length === 0) {
    throw new CharterError("NOT_FOUND", `agent "${agentId}" has no approved github permission${options.repository === undefined ? "" : ` on ${options.repository}`}`, {
      hint: "Only permissions of its merged manifest, applied by charter sync, can be issued.",
    });
  }
  if (options.single === true && scopes.length > 1) {
    throw new CharterError("USAGE", `agent "${agentId}" needs ${scopes.length} GitHub tokens (one per owner and permission set)`, { hint: "Pass --repo OWNER/REPO for one of them, or --format json for all." });
  }
  const now = options.now ?? new Date();
  const client = { apiUrl: app.apiUrl, jwt: appJwt(app.appId, app.privateKeyPem, now), fetch: app.fetch ?? globalThis.fetch };
  const minted: MintedGithubToken[] = [];
  for (const scope of scopes) {
    const token = await mintInstallationToken(client, scope);
    const issuedAt = Math.floor(now.getTime() / 1000);
    const expiresAt = Math.floor(token.expiresAt.getTime() / 1000);
    // GitHub sets the expiry; a later one than its documented hour (or the approval) is refused, not handed out.
    if (expiresAt > issuedAt + Math.min(limit, GITHUB_TOKEN_LIFETIME_SECONDS) + 60) {
      throw new CharterError("INVALID_RECORD", `GitHub's token for ${scope.owner} expires at ${token.expiresAt.toISOString()}, beyond the approved lifetime`, { hint: "The token was not printed." });
    }
    registry.recordToken({ jti: `github:${randomUUID()}`, agentId, issuedAt, expiresAt, revoked: false });
    minted.push(token);
  }
  return minted;
}
