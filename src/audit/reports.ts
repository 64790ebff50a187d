import type { AgentState } from "./agent-state.js";
import { isoOf } from "../evidence/instant.js";
import type { AgentAtAnswer, AgentVersion, ChangeEntry, ExceptionEntry, RecordRef } from "./queries.js";
import type { Report, ReportColumn } from "./report-format.js";

/** How a line names a record: its seq and the first 12 hex digits of its SHA-256. */
function recordLabel(ref: RecordRef | null): string {
  return ref === null ? "" : `${ref.seq} ${ref.hash.slice(0, 12)}`;
}

const col = (key: string, header: string, brief = true): ReportColumn => ({ key, header, brief });

const DAY_MS = 86_400_000;

/** An emergency change's retro-review status, judged at `now`. */
function retroStatus(change: ChangeEntry, now: number, retroDays: number): string {
  if (!change.emergency) return "";
  if (change.retro?.outcome === "completed") return `completed (${recordLabel(change.retro)})`;
  if (change.retro !== null) return `overdue (${recordLabel(change.retro)})`;
  const due = change.mergedMs + retroDays * DAY_MS;
  return due <= now ? `overdue (none by ${isoOf(due).slice(0, 10)})` : `open (due ${isoOf(due).slice(0, 10)})`;
}

export function changesReport(changes: readonly ChangeEntry[], now: number, retroDays: number): Report {
  return {
    title: "Changes",
    columns: [
      col("record", "record"),
      col("merged_at", "merged at"),
      col("pull_request", "PR"),
      col("title", "title", false),
      col("agents", "agents"),
      col("kinds", "changes"),
      col("data_classes", "data classes"),
      col("decision", "decision"),
      col("approvers", "approved by"),
      col("tested", "tested"),
      col("checks", "checks", false),
      col("emergency", "emergency"),
      col("retro_review", "retro-review"),
      col("max_risk", "risk", false),
      col("author", "author", false),
      col("merged_by", "merged by", false),
      col("url", "url", false),
      col("seq", "seq", false),
      col("sha256", "sha256", false),
      col("retro_seq", "retro seq", false),
      col("retro_sha256", "retro sha256", false),
    ],
    rows: changes.map((c) => ({
      record: recordLabel(c),
      merged_at: c.mergedAt,
      pull_request: c.pullRequest,
      title: c.title,
      agents: c.agents,
      kinds: c.kinds,
      data_classes: c.dataClasses,
      decision: c.decision,
      approvers: c.approvers,
      tested: c.tested,
      checks: c.checks,
      emergency: c.emergency ? (c.emergencyReason ?? "yes") : "",
      retro_review: retroStatus(c, now, retroDays),
      max_risk: c.maxRisk,
      author: c.author,
      merged_by: c.mergedBy,
      url: c.url,
      seq: c.seq,
      sha256: c.hash,
      retro_seq: c.retro?.seq ?? null,
      retro_sha256: c.retro?.hash ?? null,
    })),
  };
}

/** Time travel as rows of field and value, so every format can carry it. */
export function agentAtReport(answer: AgentAtAnswer): Report {
  const v = answer.version;
  const rows: [string, string][] = [["agent", answer.agent], ["at", answer.at]];
  if (v === null) {
    rows.push(["in force", "nothing: no change to this agent had merged by then"]);
  } else {
    rows.push(
      ["record", recordLabel(v)],
      ["record sha256", v.hash],
      ["in force since", `${v.effectiveAt} (merge time of the record's pull request)`],
      ["manifest", manifestNote(v.manifest, v.manifestSha)],
      ["status", v.status],
      ["environment", v.environment],
      ["owners", v.owners.join(" ")],
      ["permissions", v.permissions.join(" ")],
      ["data classes", v.dataClasses.join(" ")],
      ["credential provider", v.provider],
    );
  }
  if (answer.next !== null) rows.push([v === null ? "first recorded" : "replaced by", `${recordLabel(answer.next)} at ${answer.next.effectiveAt} (status ${answer.next.status})`]);
  for (const e of answer.exceptions) rows.push(["exception", `${recordLabel(e)} ${e.kind} observed ${e.observedAt}: the agent may not have matched its manifest`]);
  return { title: `Agent ${answer.agent} at ${answer.at}`, columns: [col("field", "field"), col("value", "value")], rows: rows.map(([field, value]) => ({ field, value })) };
}

function manifestNote(source: string, sha: string | null): string {
  switch (source) {
    case "copy":
      return `approved copy sha256 ${sha ?? ""} on the evidence branch`;
    case "no-copy":
      return `sha256 ${sha ?? ""} recorded, but no copy is stored on the evidence branch: owners and permissions unknown`;
    case "unreadable":
      return `the stored copy (sha256 ${sha ?? ""}) is missing its content or cannot be parsed: owners and permissions unknown`;
    case "deleted":
      return "the agent was deleted by this change";
    default:
      return "the record names no manifest for this agent: owners and permissions unknown";
  }
}

/** The access an agent's approved manifest grants, and who answers for it: both access reviews open with it. */
const ACCESS_COLUMNS = [
  col("agent", "agent"),
  col("status", "status"),
  col("owners", "owners"),
  col("permissions", "permissions"),
  col("data_classes", "data classes"),
  col("provider", "provider"),
];


export function accessReviewReport(agents: readonly AgentState[]): Report {
  return {
    title: "Access review (CC6.2)",
    columns: [
      ...ACCESS_COLUMNS,
      col("last_change", "last change"),
      col("last_change_at", "changed at"),
      col("last_approval", "last approval"),
      col("approvers", "approved by"),
      col("last_sync", "last sync"),
      col("last_sync_outcome", "sync outcome"),
      col("drift", "drift"),
      col("manifest", "manifest", false),
      col("manifest_sha256", "manifest sha256", false),
      col("last_sync_at", "synced at", false),
    ],
    // Each row written out as one literal: spreading the shared access cells into it made
    // building the rows cost more than reading and parsing the agents (measured, 2,000 agents).
    rows: agents.map((a) => ({
      agent: a.agent,
      status: a.status,
      owners: a.owners.join(" "),
      permissions: a.permissions.join(" "),
      data_classes: a.dataClasses.join(" "),
      provider: a.provider,
      last_change: recordLabel(ref(a.lastChangeSeq, a.lastChangeHash)),
      last_change_at: a.lastChangeAt,
      last_approval: recordLabel(ref(a.lastApprovalSeq, a.lastApprovalHash)),
      approvers: a.lastApprovers,
      last_sync: recordLabel(ref(a.lastProvisioningSeq, a.lastProvisioningHash)),
      last_sync_outcome: a.lastProvisioningOutcome,
      drift: a.driftSeq === null ? "none" : `unresolved (${recordLabel(ref(a.driftSeq, a.driftHash))})`,
      manifest: a.manifest,
      manifest_sha256: a.manifestSha,
      last_sync_at: a.lastProvisioningAt,
    })),
  };
}

/**
 * The access review as of a past moment: the approved facts of every agent then, each with the
 * change record that put them in force. Sync and drift are not re-judged in the past: the
 * access-review and drift records of that time are the evidence for those.
 */
export function accessReviewAtReport(versions: readonly AgentVersion[], at: string): Report {
  return {
    title: `Access review (CC6.2) as of ${at}: approved state`,
    columns: [
      ...ACCESS_COLUMNS,
      col("record", "record"),
      col("in_force_since", "in force since"),
      col("manifest", "manifest", false),
      col("manifest_sha256", "manifest sha256", false),
      col("seq", "seq", false),
      col("sha256", "sha256", false),
    ],
    rows: versions.map((v) => ({
      agent: v.agent,
      status: v.status,
      owners: v.owners.join(" "),
      permissions: v.permissions.join(" "),
      data_classes: v.dataClasses.join(" "),
      provider: v.provider,
      record: recordLabel(v),
      in_force_since: v.effectiveAt,
      manifest: v.manifest,
      manifest_sha256: v.manifestSha,
      seq: v.seq,
      sha256: v.hash,
    })),
  };
}

export function exceptionsReport(entries: readonly ExceptionEntry[]): Report {
  return {
    title: "Exceptions",
    columns: [
      col("type", "type"),
      col("record", "record"),
      col("at", "at"),
      col("agents", "agents"),
      col("pull_request", "PR"),
      col("detail", "detail"),
      col("related", "related record"),
      col("seq", "seq", false),
      col("sha256", "sha256", false),
      col("related_sha256", "related sha256", false),
    ],
    rows: entries.map((e) => ({
      type: e.type,
      record: recordLabel(e),
      at: e.at,
      agents: e.agents,
      pull_request: e.pullRequest,
      detail: e.detail,
      related: recordLabel(e.related),
      seq: e.seq,
      sha256: e.hash,
      related_sha256: e.related?.hash ?? null,
    })),
  };
}

function ref(seq: number | null, hash: string | null): RecordRef | null {
  return seq === null || hash === null ? null : { seq, hash };
}
