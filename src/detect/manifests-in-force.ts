import type { AgentManifest } from "../schema-types/agent-manifest.generated.js";

/**
 * The approved manifests detection judges events against, by agent and change record. The
 * trail stamps each event with the change record in force (manifestSeq); runtime limits and
 * lifecycle come from that very version, so an event is judged by what was approved when it
 * happened, not by what is approved now.
 */
export interface ManifestsInForce {
  /** The manifest in force for the agent at change record seq (the latest one when seq is null). */
  at(agent: string, seq: number | null): AgentManifest | undefined;
}

export interface ManifestVersion {
  readonly agent: string;
  /** The change record that approved this version; 0 for a manifest read from a working tree. */
  readonly seq: number;
  readonly manifest: AgentManifest;
}

/**
 * Manifests from a list of versions. A version stays in force until the agent's next one, so a
 * seq between two of the agent's change records (records of other agents come between) finds
 * the earlier version.
 */
export function manifestCatalog(versions: readonly ManifestVersion[]): ManifestsInForce {
  const byAgent = new Map<string, ManifestVersion[]>();
  for (const v of versions) {
    const list = byAgent.get(v.agent) ?? [];
    list.push(v);
    byAgent.set(v.agent, list);
  }
  for (const list of byAgent.values()) list.sort((a, b) => a.seq - b.seq);
  return {
    at(agent, seq) {
      const list = byAgent.get(agent);
      if (!list || list.length === 0) return undefined;
      if (seq === null) return list[list.length - 1]?.manifest;
      let found: AgentManifest | undefined;
      for (const v of list) {
        if (v.seq > seq) break;
        found = v.manifest;
      }
      return found;
    },
  };
}

/** "@login" for a user, "@org/team" for a team, as the trail and the evidence name owners. */
export function ownerHandles(manifest: AgentManifest | undefined): string[] {
  return (manifest?.owners ?? []).map((o) => (o.user !== undefined ? `@${o.user}` : `@${o.team ?? ""}`));
}

/**
 * Manifests added as the ledger is read, change record by change record (live detection): the
 * same lookup as manifestCatalog, kept current without rebuilding it on every refresh.
 */
export class ManifestHistory implements ManifestsInForce {
  readonly #byAgent = new Map<string, ManifestVersion[]>();

  /** Adds a version; versions of one agent arrive in seq order (the ledger's), others are sorted in. */
  add(version: ManifestVersion): void {
    const list = this.#byAgent.get(version.agent) ?? [];
    list.push(version);
    if (list.length > 1 && (list[list.length - 2]?.seq ?? 0) > version.seq) list.sort((a, b) => a.seq - b.seq);
    this.#byAgent.set(version.agent, list);
  }

  at(agent: string, seq: number | null): AgentManifest | undefined {
    const list = this.#byAgent.get(agent);
    if (!list || list.length === 0) return undefined;
    if (seq === null) return list[list.length - 1]?.manifest;
    let found: AgentManifest | undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const v = list[i] as ManifestVersion;
      if (v.seq <= seq) {
        found = v.manifest;
        break;
      }
    }
    return found;
  }
}
