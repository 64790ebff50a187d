import { CharterError } from "../../errors.js";
import type { Permission } from "../../manifest/permission.js";
import type { DesiredAgent, DiffOptions, PlannedOperation, Provider, ProviderDiff } from "../../provision/provider.js";
import { redisHandles } from "../../provision/routing.js";
import type { ProvisioningOperation } from "../../schema-types/evidence-record.generated.js";
import { applyRedis } from "./apply.js";
import { openConnection } from "./connection.js";
import { diffRedis } from "./diff.js";
import { issueLease, type RedisLease, type RedisLeaseRequest } from "./lease.js";
import { observe } from "./observe.js";
import type { RedisObserved } from "./observed.js";
import { type CommandTable, parseCommandTable } from "./rules.js";

export type { RedisAction } from "./diff.js";
export type { RedisLease, RedisLeaseRequest } from "./lease.js";
export type { ObservedConnection, ObservedUser, RedisObserved } from "./observed.js";
export { agentUserName, METADATA, USER_PREFIX } from "./names.js";
export { provisionerRules } from "./provisioner-rules.js";

export interface RedisProviderOptions {
  /** The permission instance this server is (`@cache-prod`). */
  readonly instance: string;
  /** redis:// URL of the provisioner's ACL user (see docs/providers.md). */
  readonly url: string;
  /** ACL users Charter does not manage and does not report. Default: none. */
  readonly knownUsers?: readonly string[];
}

export interface RedisProvider extends Provider<RedisObserved> {
  readonly instance: string;
  /** A short-lived password for an agent whose ACL user this provider manages. */
  issueLease(agentId: string, request: RedisLeaseRequest): Promise<RedisLease>;
}

const INSTANCE = /^[a-z][a-z0-9-]{0,62}$/;

export function createRedisProvider(options: RedisProviderOptions): RedisProvider {
  if (!INSTANCE.test(options.instance)) {
    throw new CharterError("INVALID_CONFIG", `redis instance "${options.instance}" must be a lowercase name (letters, digits, hyphens)`);
  }
  const instance = options.instance;
  const connection = openConnection(instance, options.url);
  const knownUsers = [...(options.knownUsers ?? [])];
  const handles = redisHandles(instance);
  let table: Promise<CommandTable> | undefined;
  const commandTable = (): Promise<CommandTable> => {
    table ??= connection.call("COMMAND").then(parseCommandTable);
    table.catch(() => {
      table = undefined;
    });
    return table;
  };

  return {
    name: "redis",
    instance,
    handles: (p: Permission): boolean => handles(p),
    observe: () => observe({ instance, connection, commandTable }),
    diff: (desired: readonly DesiredAgent[], observed: RedisObserved, diffOptions: DiffOptions): ProviderDiff => diffRedis({ instance, knownUsers }, desired, observed, diffOptions),
    apply: (operations: readonly PlannedOperation[]): Promise<ProvisioningOperation[]> => applyRedis(connection, operations),
    issueLease: (agentId: string, request: RedisLeaseRequest): Promise<RedisLease> => issueLease(connection, instance, agentId, request),
    close: () => connection.close(),
  };
}
