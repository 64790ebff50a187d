import type { ChangeRecord, EvidenceRecord } from "../schema-types/evidence-record.generated.js";
import { type AgentState, agentRow, type ManifestSource, unrecordedAgent } from "./agent-state.js";
import { manifestPathOf } from "../evidence/manifest-path.js";
import type { Row, TableName } from "./index-schema.js";
import { instantOf } from "../evidence/instant.js";
import type { ManifestFacts } from "./manifest-facts.js";
import { type RenderedFormat, renderedRow } from "./report-format.js";
import { changesReport } from "./reports.js";
import type { AnchorEntry } from "../trail/ledger-anchors.js";

/** A record as read from the branch: its seq, the SHA-256 of its stored bytes, and its content. */
export interface IndexedRecord {
  readonly seq: number;
  readonly hash: string;
  readonly record: EvidenceRecord;
}

/** A manifest copy as read from the branch: its facts, or why there are none. */
export type ManifestCopy = ManifestFacts | "absent" | "unreadable";

/** Rows to insert, by table; the `agents` rows are upserts holding each touched agent's final state. */
export type IndexRows = Map<TableName, Row[]>;

/** The manifest copies a record carries (by SHA-256): what must be read to index its agents. */
export function manifestCopiesOf(record: EvidenceRecord): string[] {
  if (record.kind !== "change") return [];
  const copies = new Set(record.body.copies);
  const out: string[] = [];
  for (const agent of record.body.changes.agents) {
    const path = manifestPathOf(record, agent);
    const sha = path === undefined ? undefined : record.body.files.hashes[path];
    if (sha !== undefined && copies.has(sha)) out.push(sha);
  }
  return out;
}

/**
 * Turns records, in log order, into index rows. `agents` is the state of every agent before the
 * first record (read from the index) and is updated in place, so consecutive batches continue
 * where the previous one stopped. `manifests` holds the manifest copies the records list, parsed. Nothing here does I/O: the same records and
 * manifests always give the same rows, which is what makes a rebuild equal to an incremental
 * update.
 */
export function indexRows(records: readonly IndexedRecord[], agents: Map<string, AgentState>, manifests: ReadonlyMap<string, ManifestCopy>): IndexRows {
  const rows = new Map<TableName, Row[]>();
  const touched = new Set<string>();
  const add = (table: TableName, row: Row): void => {
    let list = rows.get(table);
    if (!list) rows.set(table, (list = []));
    list.push(row);
  };
  const update = (agent: string, change: (s: AgentState) => AgentState): void => {
    agents.set(agent, change(agents.get(agent) ?? unrecordedAgent(agent)));
    touched.add(agent);
  };

  for (const { seq, hash, record } of records) {
    const observedMs = instantOf(record.observedAt);
    add("records", [seq, hash, record.kind, record.observedAt, observedMs]);
    switch (record.kind) {
      case "genesis":
        break;
      case "change":
        indexChange({ seq, hash, record }, observedMs, agents, manifests, add, update);
        break;
      case "exception": {
        const b = record.body;
        add("exceptions", [seq, hash, b.kind, record.observedAt, observedMs, b.pullRequest?.number ?? null, b.reason, b.agents.join(" "), b.commits.join(" "), b.issue]);
        for (const agent of new Set(b.agents)) add("exception_agents", [agent, observedMs ?? 0, seq]);
        break;
      }
      case "retro-approval": {
        const b = record.body;
        add("retro_approvals", [b.emergency.seq, seq, hash, b.outcome, unique(b.approvals.map((a) => a.reviewer)).join(" "), record.observedAt]);
        break;
      }
      case "provisioning": {
        const b = record.body;
        add("provisioning", [seq, hash, b.source, b.after?.seq ?? null, b.outcome, b.agents.join(" "), record.observedAt]);
        for (const agent of new Set(b.agents)) {
          update(agent, (s) => ({
            ...s,
            lastProvisioningSeq: seq,
            lastProvisioningHash: hash,
            lastProvisioningAt: record.observedAt,
            lastProvisioningOutcome: b.outcome,
            // A converged run made the systems match the approved state again: earlier drift is resolved.
            ...(b.outcome === "converged" ? { driftSeq: null, driftHash: null, driftAt: null } : {}),
          }));
        }
        break;
      }
      case "drift": {
        const b = record.body;
        const findings = b.findings.map((f) => `${f.agent}: ${f.kind}${f.instance === undefined ? "" : ` on ${f.instance}`} (${f.provider})`);
        const named = unique(b.findings.map((f) => f.agent));
        // "*": a finding about every agent on a provider (a grant to PUBLIC, or to the marker role
        // every identity belongs to). It drifts every agent known so far, not one called "*".
        const drifted = named.includes("*") ? unique([...named.filter((a) => a !== "*"), ...agents.keys()]) : named;
        add("drift", [seq, hash, record.observedAt, observedMs, drifted.join(" "), findings.join("; ")]);
        for (const agent of drifted) update(agent, (s) => ({ ...s, driftSeq: seq, driftHash: hash, driftAt: record.observedAt }));
        break;
      }
      case "access-review":
        add("access_reviews", [seq, hash, record.body.asOf, record.body.agents.length, record.observedAt]);
        break;
      case "trail-anchor": {
        const { segments, checkpoint, alerts } = record.body;
        const anchor: AnchorEntry = { segments, checkpoint, ...(alerts === undefined ? {} : { alerts }) };
        add("trail_anchors", [record.body.origin, seq, hash, JSON.stringify(anchor)]);
        break;
      }
    }
  }
  for (const agent of [...touched].sort()) {
    const state = agents.get(agent);
    if (state) add("agents", agentRow(state));
  }
  return rows;
}

function indexChange(
  { seq, hash, record }: { seq: number; hash: string; record: ChangeRecord },
  observedMs: number | null,
  agents: ReadonlyMap<string, AgentState>,
  manifests: ReadonlyMap<string, ManifestCopy>,
  add: (table: TableName, row: Row) => void,
  update: (agent: string, change: (s: AgentState) => AgentState) => void,
): void {
  const b = record.body;
  // GitHub's merge time is when the change took effect. A record whose time cannot be read
  // (it was never written by Charter) falls back to the writer's clock rather than vanishing
  // from every time-bounded query.
  const mergedMs = instantOf(b.mergedAt) ?? observedMs ?? 0;
  const approvers = unique(b.approvals.map((a) => a.reviewer));
  const kinds = unique(b.changes.changes.map((c) => c.kind));
  const deleted = new Set(b.changes.changes.filter((c) => c.kind === "agent-deleted" && c.agent !== undefined).map((c) => c.agent));
  const copies = new Set(b.copies);
  const tested = b.checks.length === 0 ? "none" : b.checks.every((c) => c.conclusion === "success") ? "passed" : "failed";
  const dataClasses = new Set<string>();

  for (const agent of unique(b.changes.agents)) {
    const before = agents.get(agent);
    const path = manifestPathOf(record, agent);
    const sha = path === undefined ? null : (b.files.hashes[path] ?? null);
    let source: ManifestSource;
    let facts: ManifestFacts | null = null;
    if (deleted.has(agent) && sha === null) source = "deleted";
    else if (sha === null) source = "not-recorded";
    else if (!copies.has(sha)) source = "no-copy";
    else {
      const copy = manifests.get(sha) ?? "absent";
      source = copy === "absent" ? "no-copy" : copy === "unreadable" ? "unreadable" : "copy";
      facts = typeof copy === "object" ? copy : null;
    }
    const status = source === "deleted" ? "deleted" : (facts?.status ?? "unknown");
    const version = {
      status,
      environment: facts?.environment ?? "unknown",
      owners: facts?.owners ?? [],
      permissions: facts?.permissions ?? [],
      dataClasses: facts?.dataClasses ?? [],
      provider: facts?.provider ?? "unknown",
    };
    // A change touches the data the agent could reach before it and after it: removing an
    // agent's access to customer data is a change to customer-data access too.
    for (const c of [...(before?.knownDataClasses ?? []), ...version.dataClasses]) dataClasses.add(c);
    add("agent_versions", [
      agent, mergedMs, seq, hash, b.mergedAt, sha, source, version.status, version.environment, JSON.stringify(version.owners),
      JSON.stringify(version.permissions), JSON.stringify(version.dataClasses), version.provider,
    ]);
    add("change_agents", [agent, mergedMs, seq]);
    update(agent, (s) => ({
      ...s,
      ...version,
      manifest: source,
      manifestSha: sha,
      knownDataClasses: facts !== null || source === "deleted" ? version.dataClasses : s.knownDataClasses,
      versionSeq: seq,
      versionHash: hash,
      versionAt: b.mergedAt,
      lastChangeSeq: seq,
      lastChangeHash: hash,
      lastChangeAt: b.mergedAt,
      ...(b.decision === "approved" ? { lastApprovalSeq: seq, lastApprovalHash: hash, lastApprovers: approvers.join(" ") } : {}),
    }));
  }
  const classes = [...dataClasses].sort();
  // Keys in ChangeEntry's order, always the same: the same record gives the same text.
  const entry = {
    seq,
    hash,
    pullRequest: b.pullRequest.number,
    title: b.pullRequest.title,
    url: b.pullRequest.url,
    author: b.author,
    mergedBy: b.mergedBy,
    mergedAt: b.mergedAt,
    mergedMs,
    decision: b.decision,
    emergency: b.emergency.active,
    emergencyReason: b.emergency.reason,
    maxRisk: b.changes.maxRisk,
    agents: unique(b.changes.agents).join(" "),
    kinds: kinds.join(" "),
    dataClasses: classes.join(" "),
    approvers: approvers.join(" "),
    checks: b.checks.map((c) => `${c.name}:${c.conclusion ?? "none"}`).join(" "),
    tested,
  };
  const rendered = b.emergency.active ? undefined : changesReport([{ ...entry, retro: null }], 0, 0);
  const row = rendered?.rows[0];
  const line = (format: RenderedFormat): string | null => (rendered === undefined || row === undefined ? null : renderedRow(rendered.columns, row, format));
  add("changes", [seq, hash, mergedMs, b.decision, b.emergency.active ? 1 : 0, JSON.stringify(entry), line("csv"), line("json")]);
  for (const kind of kinds) add("change_kinds", [kind, mergedMs, seq]);
  for (const c of classes) add("change_data_classes", [c, mergedMs, seq]);
  const seen = new Set<string>();
  for (const a of b.approvals) {
    const key = `${a.reviewer}\n${a.via}`;
    if (seen.has(key)) continue;
    seen.add(key);
    add("approvals", [a.reviewer, mergedMs, seq, a.via, a.submittedAt]);
  }
  const checkNames = new Set<string>();
  for (const c of b.checks) {
    if (checkNames.has(c.name)) continue;
    checkNames.add(c.name);
    add("checks", [seq, c.name, c.app, c.conclusion, c.completedAt]);
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
