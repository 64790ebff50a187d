import { CharterError } from "../errors.js";
import { parseDuration } from "../manifest/duration.js";
import { type Permission, parsePermission } from "../manifest/permission.js";
import type { CheckedAgent } from "../manifest/validate.js";
import type { DesiredAgent } from "./provider.js";
import { LOCAL_PROVIDER, type ProviderDescriptor, providerKey } from "./routing.js";

/** A permission of an active agent that no configured provider enforces. */
export interface UnroutedPermission {
  readonly agent: string;
  readonly permission: string;
}

export interface DesiredState {
  /** The commit whose manifests this state was computed from. */
  readonly commit: string;
  /** Every agent that has a manifest, active or retired, sorted. */
  readonly agents: readonly string[];
  /** The agents whose manifest says status: retired. */
  readonly retired: ReadonlySet<string>;
  /** What each provider (by providerKey) should hold. */
  readonly byProvider: ReadonlyMap<string, readonly DesiredAgent[]>;
  /**
   * Permissions nobody can enforce. The pull request check refuses them (see enforceability.ts);
   * if one reaches a sync anyway (configuration changed after the merge), the sync escalates it
   * rather than provisioning the rest as if all were well.
   */
  readonly unrouted: readonly UnroutedPermission[];
}

/**
 * Turns validated manifests into what each provider should hold.
 *
 * Every provider is told about every agent, so that it can tell an agent it must deprovision
 * from an orphan whose manifest is gone (only pruned on request):
 * - a retired agent is retired everywhere: it keeps nothing, whatever its manifest still lists;
 * - the local registry holds an identity for every active agent: its token is the agent's
 *   identity towards tool gateways, even when it carries no permission;
 * - any other provider holds an identity only for an active agent with at least one permission
 *   it enforces; for the rest the agent is passed as retired there, since nothing is approved
 *   there (for example after its last grant on that server was removed).
 *
 * `agents` must be every manifest at `commit`, not only those a change touched: an identity
 * whose agent is missing here counts as orphaned (and is removed when pruning).
 *
 * The manifests must have passed validation; a permission or lifetime that does not parse is
 * refused here too, because provisioning must never guess.
 */
export function desiredState(agents: readonly CheckedAgent[], commit: string, providers: readonly ProviderDescriptor[]): DesiredState {
  const byProvider = new Map<string, DesiredAgent[]>(providers.map((p) => [providerKey(p), []]));
  const unrouted: UnroutedPermission[] = [];
  const sorted = [...agents].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  for (const agent of sorted) {
    const { manifest } = agent;
    const maxLifetimeSeconds = parseDuration(manifest.credentials.maxLifetime);
    if (maxLifetimeSeconds === undefined) {
      throw new CharterError("INVALID_CONFIG", `${agent.file}: credentials.maxLifetime "${manifest.credentials.maxLifetime}" is not a duration`, {
        hint: "Run charter validate and fix the manifest before provisioning.",
      });
    }
    const retired = manifest.status === "retired";
    const permissions = retired ? [] : manifestPermissions(agent);
    for (const permission of permissions) {
      if (!providers.some((p) => p.handles(permission))) unrouted.push({ agent: agent.id, permission: permission.raw });
    }
    for (const provider of providers) {
      const handled = permissions.filter((p) => provider.handles(p));
      const holdsIdentity = !retired && (provider.name === LOCAL_PROVIDER || handled.length > 0);
      byProvider.get(providerKey(provider))?.push({
        id: agent.id,
        status: holdsIdentity ? "active" : "retired",
        commit,
        manifestSha256: agent.manifestSha256,
        permissions: holdsIdentity ? handled : [],
        maxLifetimeSeconds,
        maxConcurrentSessions: manifest.credentials.maxConcurrentSessions,
      });
    }
  }
  return { commit, agents: sorted.map((a) => a.id), retired: new Set(sorted.filter((a) => a.manifest.status === "retired").map((a) => a.id)), byProvider, unrouted };
}

/** Every distinct permission of an agent's tools, in manifest order. */
function manifestPermissions(agent: Pick<CheckedAgent, "file" | "manifest">): Permission[] {
  const seen = new Map<string, Permission>();
  for (const tool of agent.manifest.tools) {
    for (const raw of tool.permissions) {
      if (seen.has(raw)) continue;
      const parsed = parsePermission(raw);
      if (!parsed.ok) {
        throw new CharterError("INVALID_CONFIG", `${agent.file}: permission "${raw}" does not parse: ${parsed.reason}`, {
          hint: "Run charter validate and fix the manifest before provisioning.",
        });
      }
      seen.set(raw, parsed.permission);
    }
  }
  return [...seen.values()];
}
