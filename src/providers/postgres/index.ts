import type { Permission } from "../../manifest/permission.js";
import type { DesiredAgent, DiffOptions, PlannedOperation, Provider, ProviderDiff } from "../../provision/provider.js";
import type { ProvisioningOperation } from "../../schema-types/evidence-record.generated.js";
import { CharterError } from "../../errors.js";
import { applyPostgres } from "./apply.js";
import { openConnections } from "./connections.js";
import { diffPostgres } from "./diff.js";
import { issueLease, type Lease, type LeaseIssue, type LeaseRequest } from "./lease.js";
import { observe } from "./observe.js";
import type { AuditSettings } from "./object-audit.js";
import type { PostgresObserved } from "./observed.js";
import { roleNames } from "./role-names.js";

export type { PostgresAction } from "./diff.js";
export type { Lease, LeaseIssue, LeaseRequest } from "./lease.js";
export type { ObservedGrant, ObservedIdentity, ObservedRole, PostgresObserved } from "./observed.js";
export { provisionerSetup, renderPsqlScript, type ProvisionerSetupOptions, type ProvisionerSetupScript } from "./provisioner-setup.js";
export { identityRoleName, roleNames, type RoleNames } from "./role-names.js";

export interface PostgresProviderOptions {
  /** The permission instance this server is (`@crm-prod`). */
  readonly instance: string;
  /** postgres:// URL of the provisioner role (see docs/providers.md); its database runs cluster-wide statements. */
  readonly connectionString: string;
  /**
   * The databases Charter manages on this server. Permissions naming another database are not
   * handled (the pull request's check fails instead). Default: every database the provisioner
   * may connect to.
   */
  readonly databases?: readonly string[];
  /** Prefix of every role Charter creates; default `charter_` (`charter_managed`, `charter_agent_<id>`, `charter_lease_<random>`). */
  readonly rolePrefix?: string;
  /** Told of every lease before it is created (the action trail remembers who each lease login is). */
  readonly onLease?: (lease: LeaseIssue) => Promise<void>;
  /** pgaudit object auditing of the tables these catalog entries classify (object-audit.ts); undefined: left alone. */
  readonly objectAudit?: AuditSettings;
}

export interface PostgresProvider extends Provider<PostgresObserved> {
  readonly instance: string;
  /** A short-lived login for an agent whose identity this provider manages. */
  issueLease(agentId: string, request: LeaseRequest): Promise<Lease>;
}

const INSTANCE = /^[a-z][a-z0-9-]{0,62}$/;

export function createPostgresProvider(options: PostgresProviderOptions): PostgresProvider {
  if (!INSTANCE.test(options.instance)) {
    throw new CharterError("INVALID_CONFIG", `postgres instance "${options.instance}" must be a lowercase name (letters, digits, hyphens)`);
  }
  const names = roleNames(options.rolePrefix);
  const connections = openConnections(options.connectionString);
  const instance = options.instance;
  const databases = options.databases === undefined ? undefined : [...options.databases];
  const audit = options.objectAudit;

  return {
    name: "postgres",
    instance,
    handles(p: Permission): boolean {
      if (p.system !== "postgres" || p.instance !== instance) return false;
      if (databases === undefined) return true;
      const database = p.resource.split(".")[0];
      return database !== undefined && databases.includes(database);
    },
    observe: () => observe({ instance, names, connections, databases, audit: audit !== undefined }),
    diff: (desired: readonly DesiredAgent[], observed: PostgresObserved, diffOptions: DiffOptions): ProviderDiff =>
      diffPostgres({ instance, names, ...(audit === undefined ? {} : { audit }) }, desired, observed, diffOptions),
    apply: (operations: readonly PlannedOperation[]): Promise<ProvisioningOperation[]> => applyPostgres({ names, connections }, operations),
    issueLease: (agentId: string, request: LeaseRequest): Promise<Lease> => issueLease({ names, connections, instance, ...(options.onLease === undefined ? {} : { onIssue: options.onLease }) }, agentId, request),
    close: () => connections.close(),
  };
}
