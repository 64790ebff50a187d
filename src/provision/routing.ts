import type { Permission } from "../manifest/permission.js";
import type { Provider } from "./provider.js";

/**
 * Which provider enforces which permission. The rule is kept here, apart from the providers'
 * code, so that the pull request check can judge enforceability from configuration alone,
 * without opening a database, and the providers themselves answer `handles` with the same
 * functions.
 *
 *   postgres  a permission is enforced by the database itself: only the postgres provider
 *             configured for its @instance (and, when it lists databases, for its database).
 *             A postgres permission without an @instance names no server and is unenforceable.
 *   redis     a permission naming the @instance of a configured Redis provider is enforced by
 *             that server's ACL. Without such a provider, local tokens still carry it.
 *   squid     every http permission, when a squid egress proxy is configured: the proxy admits
 *             exactly the approved method, host and path for the agent's own credentials. Every
 *             configured proxy renders the rules of every http permission (agents may use any).
 *   github    every github permission, when provisioning.providers.github is enabled: GitHub
 *             itself enforces an installation token minted for exactly the approved repositories
 *             and permissions. Nothing is synced; tokens are minted on demand (charter token issue).
 *   local     every permission that is not postgres (http, redis, github): the registry signs
 *             tokens carrying them exactly, and tool gateways enforce what the verified token says.
 */

/** What enforceability and routing need to know of a provider: no connection, no secret. */
export type ProviderDescriptor = Pick<Provider, "name" | "instance" | "handles">;

export const LOCAL_PROVIDER = "local";
export const POSTGRES_PROVIDER = "postgres";
export const REDIS_PROVIDER = "redis";
export const SQUID_PROVIDER = "squid";
export const GITHUB_PROVIDER = "github";
/** GitHub installation tokens live exactly this long; the API cannot shorten them. */
export const GITHUB_TOKEN_SECONDS = 3600;

export function localHandles(permission: Permission): boolean {
  return permission.system !== "postgres";
}

/** `databases` undefined: any database on the instance. */
export function postgresHandles(instance: string, databases: readonly string[] | undefined): (permission: Permission) => boolean {
  return (permission) => {
    if (permission.system !== "postgres" || permission.instance !== instance) return false;
    const database = permission.resource.split(".")[0] ?? "";
    return databases === undefined || databases.includes(database);
  };
}

export function redisHandles(instance: string): (permission: Permission) => boolean {
  return (permission) => permission.system === "redis" && permission.instance === instance;
}

export function squidHandles(permission: Permission): boolean {
  return permission.system === "http";
}

export function githubHandles(permission: Permission): boolean {
  return permission.system === "github";
}

/** One name for a provider in maps, messages and CLI output: "local", "postgres@crm-prod". */
export function providerKey(provider: Pick<Provider, "name" | "instance">): string {
  return provider.instance === undefined ? provider.name : `${provider.name}@${provider.instance}`;
}
