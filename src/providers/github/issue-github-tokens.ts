import { randomUUID } from "node:crypto";
import { CharterError } from "../../errors.js";
import { activeIdentity, type LocalRegistry } from "../local/index.js";
import { appJwt } from "./app-jwt.js";
import { GITHUB_TOKEN_LIFETIME_SECONDS, mintInstallationToken, type MintedGithubToken } from "./mint-token.js";
import { type GithubLevel, type GithubTokenScope, githubTokenScopes } from "./token-scope.js";

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
  /** With `repository`: the token reaches that repository alone, not every one of its scope. */
  readonly onlyRepository?: boolean;
  /**
   * A narrower permission set than the approved one (scope → read/write): each must be approved
   * at that level or wider, or the request is refused with FORBIDDEN. Needs a single token.
   */
  readonly permissions?: Readonly<Record<string, string>>;
  readonly now?: Date;
}

/** A minted token with the id Charter recorded it under (in the registry, and in the trail). */
export interface IssuedGithubToken extends MintedGithubToken {
  /** `github:<uuid>`: random, so nothing about the token can be derived from it. */
  readonly credentialId: string;
  readonly issuedAt: Date;
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
export async function issueGithubTokens(registry: LocalRegistry, agentId: string, app: GithubAppCredentials, options: GithubTokenOptions = {}): Promise<IssuedGithubToken[]> {
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
    if (options.onlyRepository === true) scopes = scopes.map((s) => ({ ...s, repositories: [wanted.slice(s.owner.length + 1)] }));
  }
  if (scopes.length === 0) {
    throw new CharterError("NOT_FOUND", `agent "${agentId}" has no approved github permission${options.repository === undefined ? "" : ` on ${options.repository}`}`, {
      hint: "Only permissions of its merged manifest, applied by charter sync, can be issued.",
    });
  }
  if (options.single === true && scopes.length > 1) {
    throw new CharterError("USAGE", `agent "${agentId}" needs ${scopes.length} GitHub tokens (one per owner and permission set)`, { hint: "Pass --repo OWNER/REPO for one of them, or --format json for all." });
  }
  if (options.permissions !== undefined) scopes = scopes.map((s) => narrowPermissions(s, options.permissions ?? {}, agentId));
  const now = options.now ?? new Date();
  const client = { apiUrl: app.apiUrl, jwt: appJwt(app.appId, app.privateKeyPem, now), fetch: app.fetch ?? globalThis.fetch };
  const minted: IssuedGithubToken[] = [];
  for (const scope of scopes) {
    const token = await mintInstallationToken(client, scope);
    const issuedAt = Math.floor(now.getTime() / 1000);
    const expiresAt = Math.floor(token.expiresAt.getTime() / 1000);
    // GitHub sets the expiry; a later one than its documented hour (or the approval) is refused, not handed out.
    if (expiresAt > issuedAt + Math.min(limit, GITHUB_TOKEN_LIFETIME_SECONDS) + 60) {
      throw new CharterError("INVALID_RECORD", `GitHub's token for ${scope.owner} expires at ${token.expiresAt.toISOString()}, beyond the approved lifetime`, { hint: "The token was not printed." });
    }
    const credentialId = `github:${randomUUID()}`;
    registry.recordToken({ jti: credentialId, agentId, issuedAt, expiresAt, revoked: false });
    minted.push({ ...token, credentialId, issuedAt: now });
  }
  return minted;
}

const LEVELS: Readonly<Record<string, number>> = { read: 1, write: 2 };

/** The scope with a narrower permission set; anything not approved at that level is refused. */
function narrowPermissions(scope: GithubTokenScope, wanted: Readonly<Record<string, string>>, agentId: string): GithubTokenScope {
  const names = Object.keys(wanted).sort();
  if (names.length === 0) throw new CharterError("USAGE", "the narrower permission set names no permission", { hint: 'Leave permissions out for the approved set, or name some, e.g. {"contents": "read"}.' });
  const permissions: Record<string, GithubLevel> = {};
  for (const name of names) {
    const level = wanted[name] ?? "";
    const approved = Object.hasOwn(scope.permissions, name) ? scope.permissions[name] : undefined;
    if (LEVELS[level] === undefined) throw new CharterError("USAGE", `permission ${JSON.stringify(name)} asks for level ${JSON.stringify(level)}`, { hint: "Levels are read or write." });
    if (approved === undefined || (LEVELS[level] ?? 0) > (LEVELS[approved] ?? 0)) {
      throw new CharterError("FORBIDDEN", `agent "${agentId}" is not approved for ${name}:${level} on ${scope.owner}/${scope.repositories.join(",")}`, {
        hint: `Its approved set there is ${Object.entries(scope.permissions).map(([n, l]) => `${n}:${l}`).join(", ")}; a wider one needs a reviewed change to its manifest.`,
      });
    }
    permissions[name] = level as GithubLevel;
  }
  return { ...scope, permissions };
}
