import { CharterError } from "../../errors.js";
import type { Permission } from "../../manifest/permission.js";
import type { DesiredAgent, DiffOptions, PlannedOperation, Provider, ProviderDiff } from "../../provision/provider.js";
import { squidHandles } from "../../provision/routing.js";
import type { ProvisioningOperation } from "../../schema-types/evidence-record.generated.js";
import { applySquid } from "./apply.js";
import { diffSquid } from "./diff.js";
import { issueLease, type SquidLease, type SquidLeaseRequest } from "./lease.js";
import { observe } from "./observe.js";
import type { SquidObserved } from "./observed.js";
import { checkSettings, type SquidSettings } from "./render.js";

export type { SquidAction } from "./diff.js";
export type { SquidLease, SquidLeaseRequest } from "./lease.js";
export type { SquidObserved } from "./observed.js";

export interface SquidProviderOptions {
  /** The name of this proxy in records (`squid@egress`). */
  readonly instance: string;
  /** Charter's directory for this proxy (CHARTER_SQUID_DIR_<INSTANCE>). */
  readonly directory: string;
  readonly listen: string;
  /** Default /usr/sbin/squid. */
  readonly program?: string;
  /** Default /usr/lib/squid/basic_ncsa_auth (Debian's path). */
  readonly authProgram?: string;
  readonly hostsFile?: string;
  readonly now?: () => number;
}

export interface SquidProvider extends Provider<SquidObserved> {
  readonly instance: string;
  /** Short-lived proxy credentials for an agent whose identity this provider manages. */
  issueLease(agentId: string, request: SquidLeaseRequest): Promise<SquidLease>;
}

const INSTANCE = /^[a-z][a-z0-9-]{0,62}$/;
const DEFAULT_SQUID_PROGRAM = "/usr/sbin/squid";
const DEFAULT_AUTH_PROGRAM = "/usr/lib/squid/basic_ncsa_auth";

export function createSquidProvider(options: SquidProviderOptions): SquidProvider {
  const instance = options.instance;
  if (!INSTANCE.test(instance)) {
    throw new CharterError("INVALID_CONFIG", `squid instance "${instance}" must be a lowercase name (letters, digits, hyphens)`);
  }
  const settings: SquidSettings = {
    listen: options.listen,
    directory: options.directory.replace(/\/+$/, ""),
    authProgram: options.authProgram ?? DEFAULT_AUTH_PROGRAM,
    hostsFile: options.hostsFile,
  };
  const problem = checkSettings(settings);
  if (problem !== undefined) {
    throw new CharterError("INVALID_CONFIG", `squid@${instance}: ${problem}`, { hint: "Correct provisioning.providers.squid in .github/charter.yml or the CHARTER_SQUID_DIR_ variable (docs/providers.md)." });
  }
  const program = options.program ?? DEFAULT_SQUID_PROGRAM;
  const now = options.now ?? Date.now;
  return {
    name: "squid",
    instance,
    handles: (p: Permission): boolean => squidHandles(p),
    observe: () => observe(instance, settings.directory, now),
    diff: (desired: readonly DesiredAgent[], observed: SquidObserved, diffOptions: DiffOptions): ProviderDiff => diffSquid(instance, settings, desired, observed, diffOptions),
    apply: (operations: readonly PlannedOperation[]): Promise<ProvisioningOperation[]> => applySquid({ instance, settings, program }, operations),
    issueLease: (agentId: string, request: SquidLeaseRequest): Promise<SquidLease> => issueLease(instance, settings.directory, agentId, request, now),
    close: () => Promise.resolve(),
  };
}
