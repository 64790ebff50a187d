import { CharterError } from "../errors.js";
import { postgresUrlVariable, PROVISIONING_ENV, redisUrlVariable, squidDirectoryVariable, type ProviderSecrets, type ProvisioningSettings } from "../provision/config.js";
import type { Provider } from "../provision/provider.js";
import { createLocalProvider } from "./local/index.js";
import type { ResourceCatalog } from "../trail/resource-catalog.js";
import { createPostgresProvider } from "./postgres/index.js";
import { createRedisProvider } from "./redis/index.js";
import { createSquidProvider } from "./squid/index.js";

/**
 * How a caller uses the providers: "write" syncs; "read" only observes (plan, drift) and creates
 * nothing, so a mistyped registry path never becomes a new, empty registry. Reading, a local
 * registry that does not exist is an error, or with `missing: "empty"` read as empty (in memory).
 */
export type ProviderAccess = "read" | "write";

export interface OpenOptions {
  readonly access: ProviderAccess;
  readonly missing?: "error" | "empty";
  readonly now?: () => Date;
  /**
   * The resource catalog in force. Object auditing (a postgres instance's objectAudit) is set up
   * only by a caller that passes it: without it, every grant Charter made to the auditor role
   * would look unclassified.
   */
  readonly catalog?: ResourceCatalog;
}

/**
 * Opens the configured providers: the adapter between configuration (the policy's provisioning
 * section and the environment's secrets) and the pure engine, which only ever sees Provider
 * objects. It lives beside the providers, not in src/provision, so that the engine never
 * depends on a database driver. The caller closes what it gets (see closeProviders).
 */
export function openProviders(settings: ProvisioningSettings, secrets: ProviderSecrets, options: OpenOptions): Provider[] {
  const opened: Provider[] = [];
  try {
    if (settings.local.enabled) {
      if (secrets.localDatabasePath === undefined) {
        throw new CharterError("MISSING_SECRET", `${PROVISIONING_ENV.localDatabase} is not set`, {
          hint: `Set ${PROVISIONING_ENV.localDatabase} to the path of the local registry's SQLite file, or disable provisioning.providers.local in .github/charter.yml.`,
        });
      }
      const access = options.access === "write" ? "write" : (options.missing ?? "error") === "error" ? "read" : "read-or-empty";
      opened.push(createLocalProvider({ databasePath: secrets.localDatabasePath, access, ...(options.now === undefined ? {} : { now: options.now }) }));
    }
    for (const { instance, databases, objectAudit } of settings.postgres) {
      const url = secrets.postgresUrls.get(instance);
      if (url === undefined) {
        throw new CharterError("MISSING_SECRET", `${postgresUrlVariable(instance)} is not set`, {
          hint: `Set ${postgresUrlVariable(instance)} to the provisioner role's postgres:// URL for instance ${instance} (docs/providers.md).`,
        });
      }
      const audit =
        objectAudit === undefined || options.catalog === undefined
          ? undefined
          : { entries: options.catalog.entries.filter((e) => e.system === "postgres" && (e.instance === undefined || e.instance === instance)), privileges: objectAudit };
      opened.push(createPostgresProvider({ instance, connectionString: url, ...(databases === undefined ? {} : { databases }), ...(audit === undefined ? {} : { objectAudit: audit }) }));
    }
    for (const { instance, knownUsers } of settings.redis) {
      const url = secrets.redisUrls.get(instance);
      if (url === undefined) {
        throw new CharterError("MISSING_SECRET", `${redisUrlVariable(instance)} is not set`, {
          hint: `Set ${redisUrlVariable(instance)} to the provisioner's redis:// URL for instance ${instance} (docs/providers.md).`,
        });
      }
      opened.push(createRedisProvider({ instance, url, knownUsers }));
    }
    for (const { instance, listen, authProgram, hostsFile } of settings.squid) {
      const directory = secrets.squidDirectories.get(instance);
      if (directory === undefined) {
        throw new CharterError("MISSING_SECRET", `${squidDirectoryVariable(instance)} is not set`, {
          hint: `Set ${squidDirectoryVariable(instance)} to the directory Charter keeps squid@${instance}'s configuration in (docs/providers.md).`,
        });
      }
      opened.push(
        createSquidProvider({
          instance,
          directory,
          listen,
          ...(secrets.squidProgram === undefined ? {} : { program: secrets.squidProgram }),
          ...(authProgram === undefined ? {} : { authProgram }),
          ...(hostsFile === undefined ? {} : { hostsFile }),
          ...(options.now === undefined ? {} : { now: () => (options.now as () => Date)().getTime() }),
        }),
      );
    }
    return opened;
  } catch (error) {
    // The configuration error is what the caller must see; a failure to close is secondary.
    closeProviders(opened).catch(() => undefined);
    throw error;
  }
}

/** Closes every provider, even when one fails to close; the first failure is rethrown afterwards. */
export async function closeProviders(providers: readonly Provider[]): Promise<void> {
  const results = await Promise.allSettled(providers.map((p) => p.close()));
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}
