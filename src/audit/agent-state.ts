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
  return [
    s.agent, s.status, s.environment, JSON.stringify(s.owners), JSON.stringify(s.permissions), JSON.stringify(s.dataClasses), s.provider,
    s.manifest, s.manifestSha, s.versionSeq, s.versionHash, s.versionAt, s.lastChangeSeq, s.lastChangeHash, s.lastChangeAt,
    s.lastApprovalSeq, s.lastApprovalHash, s.lastApprovers, s.lastProvisioningSeq, s.lastProvisioningHash, s.lastProvisioningAt,
    s.lastProvisioningOutcome, s.driftSeq, s.driftHash, s.driftAt, JSON.stringify(s.knownDataClasses),
  ];
}

/** Reads an `agents` row back; the stores return integers as numbers (PostgreSQL's BIGINT as text). */
export function agentStateOf(row: Readonly<Record<string, unknown>>): AgentState {
  const str = (key: string): string => cellText(row[key]);
  const opt = (key: string): string | null => (row[key] === null || row[key] === undefined ? null : cellText(row[key]));
  const int = (key: string): number | null => (row[key] === null || row[key] === undefined ? null : Number(row[key]));
  return {
    agent: str("agent"),
    status: str("status"),
    environment: str("environment"),
    owners: jsonList(row["owners"]),
    permissions: jsonList(row["permissions"]),
    dataClasses: jsonList(row["data_classes"]),
    provider: str("provider"),
    manifest: str("manifest") as ManifestSource,
    manifestSha: opt("manifest_sha"),
    versionSeq: int("version_seq"),
    versionHash: opt("version_hash"),
    versionAt: opt("version_at"),
    lastChangeSeq: int("last_change_seq"),
    lastChangeHash: opt("last_change_hash"),
    lastChangeAt: opt("last_change_at"),
    lastApprovalSeq: int("last_approval_seq"),
    lastApprovalHash: opt("last_approval_hash"),
    lastApprovers: opt("last_approvers"),
    lastProvisioningSeq: int("last_provisioning_seq"),
    lastProvisioningHash: opt("last_provisioning_hash"),
    lastProvisioningAt: opt("last_provisioning_at"),
    lastProvisioningOutcome: opt("last_provisioning_outcome"),
    driftSeq: int("drift_seq"),
    driftHash: opt("drift_hash"),
    driftAt: opt("drift_at"),
    knownDataClasses: jsonList(row["known_data_classes"]),
  };
}

/** A JSON array of strings as the index stores it; anything else reads as empty. */
export function jsonList(value: unknown): string[] {
  if (typeof value !== "string") return [];
  const parsed = JSON.parse(value) as unknown;
  return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === "string") : [];
}
