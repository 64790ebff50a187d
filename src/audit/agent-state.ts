import { cellText, type Row } from "./index-schema.js";

/**
 * How an agent version's facts were learned. Only "copy" means the owners and permissions come
 * from the approved manifest itself; every other value says why they are unknown.
 */
export type ManifestSource = "copy" | "no-copy" | "unreadable" | "deleted" | "not-recorded";

/** One agent as the ledger last left it: the row of the `agents` table. */
export interface AgentState {
  readonly agent: string;
  readonly status: string;
  readonly environment: string;
  readonly owners: readonly string[];
  readonly permissions: readonly string[];
  readonly dataClasses: readonly string[];
  readonly provider: string;
  readonly manifest: ManifestSource;
  readonly manifestSha: string | null;
  readonly versionSeq: number | null;
  readonly versionHash: string | null;
  readonly versionAt: string | null;
  readonly lastChangeSeq: number | null;
  readonly lastChangeHash: string | null;
  readonly lastChangeAt: string | null;
  readonly lastApprovalSeq: number | null;
  readonly lastApprovalHash: string | null;
  readonly lastApprovers: string | null;
  readonly lastProvisioningSeq: number | null;
  readonly lastProvisioningHash: string | null;
  readonly lastProvisioningAt: string | null;
  readonly lastProvisioningOutcome: string | null;
  /** The drift record still unresolved for the agent (a later converged provisioning resolves it). */
  readonly driftSeq: number | null;
  readonly driftHash: string | null;
  readonly driftAt: string | null;
  /**
   * The data classes of the last version whose manifest could be read. A version without a
   * readable copy has unknown facts; what the agent could reach before it is still the best
   * evidence of which data a later change touches.
   */
  readonly knownDataClasses: readonly string[];
}

/** An agent the ledger has mentioned (provisioned, drifted) before recording any manifest of it. */
export function unrecordedAgent(agent: string): AgentState {
  return {
    agent,
    status: "unknown",
    environment: "unknown",
    owners: [],
    permissions: [],
    dataClasses: [],
    provider: "unknown",
    manifest: "not-recorded",
    manifestSha: null,
    versionSeq: null,
    versionHash: null,
    versionAt: null,
    lastChangeSeq: null,
    lastChangeHash: null,
    lastChangeAt: null,
    lastApprovalSeq: null,
    lastApprovalHash: null,
    lastApprovers: null,
    lastProvisioningSeq: null,
    lastProvisioningHash: null,
    lastProvisioningAt: null,
    lastProvisioningOutcome: null,
    driftSeq: null,
    driftHash: null,
    driftAt: null,
    knownDataClasses: [],
  };
}

export function agentRow(s: AgentState): Row {
  // Keys in one fixed order, so the same state is always the same text (a rebuild equals an update).
  const state: AgentState = {
    agent: s.agent,
    status: s.status,
    environment: s.environment,
    owners: s.owners,
    permissions: s.permissions,
    dataClasses: s.dataClasses,
    provider: s.provider,
    manifest: s.manifest,
    manifestSha: s.manifestSha,
    versionSeq: s.versionSeq,
    versionHash: s.versionHash,
    versionAt: s.versionAt,
    lastChangeSeq: s.lastChangeSeq,
    lastChangeHash: s.lastChangeHash,
    lastChangeAt: s.lastChangeAt,
    lastApprovalSeq: s.lastApprovalSeq,
    lastApprovalHash: s.lastApprovalHash,
    lastApprovers: s.lastApprovers,
    lastProvisioningSeq: s.lastProvisioningSeq,
    lastProvisioningHash: s.lastProvisioningHash,
    lastProvisioningAt: s.lastProvisioningAt,
    lastProvisioningOutcome: s.lastProvisioningOutcome,
    driftSeq: s.driftSeq,
    driftHash: s.driftHash,
    driftAt: s.driftAt,
    knownDataClasses: s.knownDataClasses,
  };
  return [s.agent, s.status, s.driftSeq, JSON.stringify(state)];
}

/** Reads an `agents` row back. The index wrote the state, from records that passed the chain check. */
export function agentStateOf(row: Readonly<Record<string, unknown>>): AgentState {
  return JSON.parse(cellText(row["state"])) as AgentState;
}

/** A JSON array of strings as the index stores it; anything else reads as empty. */
export function jsonList(value: unknown): string[] {
  if (typeof value !== "string") return [];
  const parsed = JSON.parse(value) as unknown;
  return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === "string") : [];
}
