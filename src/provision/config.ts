import { CharterError } from "../errors.js";
import { parseDuration } from "../manifest/duration.js";
import type { CharterPolicy } from "../schema-types/charter-policy.generated.js";
import { GITHUB_PROVIDER, githubHandles, LOCAL_PROVIDER, localHandles, POSTGRES_PROVIDER, postgresHandles, REDIS_PROVIDER, redisHandles, SQUID_PROVIDER, squidHandles, type ProviderDescriptor } from "./routing.js";

/**
 * Provisioning configuration: the `provisioning` section of .github/charter.yml (reviewed like
 * any governance change, and therefore free of secrets) plus the secrets, which come only from
 * the environment of the process that provisions.
 */

/** Environment variables Charter reads for provisioning. */
export const PROVISIONING_ENV = {
  /** Path of the local provider's SQLite file (created on first use). */
  localDatabase: "CHARTER_LOCAL_DB",
  /** The Ed25519 private key (PKCS#8 PEM) that signs local tokens. Only token issuing needs it. */
  signingKey: "CHARTER_TOKEN_SIGNING_KEY",
  /** Prefix of each PostgreSQL instance's connection URL variable; see postgresUrlVariable. */
  postgresUrlPrefix: "CHARTER_POSTGRES_URL_",
  /** Prefix of each Redis instance's connection URL variable; see redisUrlVariable. */
  redisUrlPrefix: "CHARTER_REDIS_URL_",
  /** Prefix of each squid proxy's directory variable; see squidDirectoryVariable. */
  squidDirPrefix: "CHARTER_SQUID_DIR_",
  /** The squid binary Charter runs for -k parse and -k reconfigure (default /usr/sbin/squid). */
  squidProgram: "CHARTER_SQUID_BIN",
  /** The GitHub App's id and RSA private key (PEM), as the app itself reads them. */
  githubAppId: "APP_ID",
  githubPrivateKey: "PRIVATE_KEY",
  /**
   * The REST API root (GitHub Enterprise Server: https://HOST/api/v3). From the environment, not
   * the policy: a working tree's policy must not be able to send the app's signed JWT elsewhere.
   */
  githubApiUrl: "CHARTER_GITHUB_API_URL",
} as const;

export const DEFAULT_GITHUB_API_URL = "https://api.github.com";

/** ACL users a Redis instance holds besides Charter's unless its settings say otherwise. */
const DEFAULT_KNOWN_REDIS_USERS: readonly string[] = ["default"];

/** What pgaudit's object auditing can log; audited unless objectAudit.privileges says fewer. */
const DEFAULT_AUDITED: readonly string[] = ["select", "insert", "update", "delete"];

const DEFAULT_DRIFT_INTERVAL = "1h";
const DEFAULT_ISSUER = "charter";

export interface PostgresInstanceSettings {
  readonly instance: string;
  /** Databases Charter may grant in; undefined: any. */
  readonly databases: readonly string[] | undefined;
  /** pgaudit object auditing of the catalog's classified tables: the privileges (upper case) the auditor role gets; undefined: off. */
  readonly objectAudit: readonly string[] | undefined;
}

export interface RedisInstanceSettings {
  readonly instance: string;
  /** Users Charter does not manage and does not report; the provisioner's own user is always known. */
  readonly knownUsers: readonly string[];
}

export interface SquidInstanceSettings {
  readonly instance: string;
  /** http_port: the address:port the proxy listens on. */
  readonly listen: string;
  /** basic_ncsa_auth's path; undefined: Debian's. */
  readonly authProgram: string | undefined;
  /** A hosts file for squid's resolver; undefined: the system's. */
  readonly hostsFile: string | undefined;
}

/** The non-secret settings, with defaults applied. */
export interface ProvisioningSettings {
  readonly prune: boolean;
  readonly driftIntervalSeconds: number;
  readonly local: { readonly enabled: boolean; readonly issuer: string };
  readonly postgres: readonly PostgresInstanceSettings[];
  readonly redis: readonly RedisInstanceSettings[];
  readonly squid: readonly SquidInstanceSettings[];
  readonly github: { readonly enabled: boolean };
}

/** Where each configured provider's secrets are, read from the environment. Never logged or recorded. */
export interface ProviderSecrets {
  readonly localDatabasePath: string | undefined;
  readonly signingKeyPem: string | undefined;
  /** Connection URL per postgres instance; undefined when its variable is unset. */
  readonly postgresUrls: ReadonlyMap<string, string | undefined>;
  /** Connection URL per redis instance; undefined when its variable is unset. */
  readonly redisUrls: ReadonlyMap<string, string | undefined>;
  /** Charter's configuration directory per squid instance; undefined when its variable is unset. */
  readonly squidDirectories: ReadonlyMap<string, string | undefined>;
  readonly squidProgram: string | undefined;
  readonly githubAppId: string | undefined;
  readonly githubPrivateKeyPem: string | undefined;
  readonly githubApiUrl: string;
}

export function provisioningSettings(policy: CharterPolicy | undefined): ProvisioningSettings {
  const section = policy?.provisioning ?? {};
  const interval = section.driftInterval ?? DEFAULT_DRIFT_INTERVAL;
  const driftIntervalSeconds = parseDuration(interval);
  if (driftIntervalSeconds === undefined) {
    throw new CharterError("INVALID_CONFIG", `provisioning.driftInterval "${interval}" is not a duration`, { hint: "Write a whole number with s, m, h or d, e.g. 1h." });
  }
  const postgres = (section.providers?.postgres ?? []).map((p) => ({
    instance: p.instance,
    databases: p.databases,
    objectAudit: p.objectAudit === undefined ? undefined : (p.objectAudit.privileges ?? DEFAULT_AUDITED).map((a) => a.toUpperCase()),
  }));
  const redis = (section.providers?.redis ?? []).map((r) => ({ instance: r.instance, knownUsers: r.knownUsers ?? DEFAULT_KNOWN_REDIS_USERS }));
  refuseDuplicates("postgres", postgres);
  const squid = (section.providers?.squid ?? []).map((q) => ({ instance: q.instance, listen: q.listen, authProgram: q.authProgram, hostsFile: q.hostsFile }));
  refuseDuplicates("redis", redis);
  refuseDuplicates("squid", squid);
  return {
    prune: section.prune ?? false,
    driftIntervalSeconds,
    local: { enabled: section.providers?.local?.enabled ?? true, issuer: section.providers?.local?.issuer ?? DEFAULT_ISSUER },
    postgres,
    redis,
    squid,
    github: { enabled: section.providers?.github?.enabled ?? false },
  };
}

function refuseDuplicates(provider: string, instances: readonly { readonly instance: string }[]): void {
  const seen = new Set<string>();
  for (const { instance } of instances) {
    if (seen.has(instance)) {
      throw new CharterError("INVALID_CONFIG", `provisioning.providers.${provider} lists instance "${instance}" twice`, { hint: "List each instance once." });
    }
    seen.add(instance);
  }
}

/** The configured providers as the enforceability check and routing see them: names and instances only. */
export function providerDescriptors(settings: ProvisioningSettings): ProviderDescriptor[] {
  const out: ProviderDescriptor[] = [];
  if (settings.local.enabled) out.push({ name: LOCAL_PROVIDER, instance: undefined, handles: localHandles });
  for (const p of settings.postgres) out.push({ name: POSTGRES_PROVIDER, instance: p.instance, handles: postgresHandles(p.instance, p.databases) });
  for (const r of settings.redis) out.push({ name: REDIS_PROVIDER, instance: r.instance, handles: redisHandles(r.instance) });
  for (const q of settings.squid) out.push({ name: SQUID_PROVIDER, instance: q.instance, handles: squidHandles });
  if (settings.github.enabled) out.push({ name: GITHUB_PROVIDER, instance: undefined, handles: githubHandles });
  return out;
}

/** CHARTER_POSTGRES_URL_ and the instance in upper case with - as _: crm-prod → CHARTER_POSTGRES_URL_CRM_PROD. */
export function postgresUrlVariable(instance: string): string {
  return PROVISIONING_ENV.postgresUrlPrefix + instance.toUpperCase().replaceAll("-", "_");
}

/** CHARTER_REDIS_URL_ and the instance in upper case with - as _: cache-prod → CHARTER_REDIS_URL_CACHE_PROD. */
export function redisUrlVariable(instance: string): string {
  return PROVISIONING_ENV.redisUrlPrefix + instance.toUpperCase().replaceAll("-", "_");
}

/** CHARTER_SQUID_DIR_ and the instance in upper case with - as _: egress → CHARTER_SQUID_DIR_EGRESS. */
export function squidDirectoryVariable(instance: string): string {
  return PROVISIONING_ENV.squidDirPrefix + instance.toUpperCase().replaceAll("-", "_");
}

export function providerSecrets(settings: ProvisioningSettings, env: Readonly<Record<string, string | undefined>>): ProviderSecrets {
  const present = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === "" ? undefined : value;
  };
  return {
    localDatabasePath: present(PROVISIONING_ENV.localDatabase),
    signingKeyPem: present(PROVISIONING_ENV.signingKey),
    postgresUrls: new Map(settings.postgres.map((p) => [p.instance, present(postgresUrlVariable(p.instance))])),
    redisUrls: new Map(settings.redis.map((r) => [r.instance, present(redisUrlVariable(r.instance))])),
    squidDirectories: new Map(settings.squid.map((q) => [q.instance, present(squidDirectoryVariable(q.instance))])),
    squidProgram: present(PROVISIONING_ENV.squidProgram),
    githubAppId: present(PROVISIONING_ENV.githubAppId),
    githubPrivateKeyPem: present(PROVISIONING_ENV.githubPrivateKey),
    githubApiUrl: present(PROVISIONING_ENV.githubApiUrl) ?? DEFAULT_GITHUB_API_URL,
  };
}
