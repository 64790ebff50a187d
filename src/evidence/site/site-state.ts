import { CharterError } from "../../errors.js";
import type { EvidenceRecord } from "../../schema-types/evidence-record.generated.js";
import { advanceAlertsState, type AlertsSiteState, EMPTY_ALERTS_STATE } from "./alerts-page.js";
import { advanceTrailState, EMPTY_TRAIL_STATE, type TrailSiteState } from "./trail-page.js";

/**
 * What the README index needs to know about the whole log, kept in site.json so that an append
 * rewrites the index without reading every record. It is a convenience for browsing, not
 * evidence: `charter verify` never reads it, and it can be rebuilt from the records.
 */
export interface SiteState {
  readonly version: 1;
  readonly counts: Readonly<Record<string, number>>;
  /** The most recent records, newest first. */
  readonly latest: readonly SiteEntry[];
  /** Emergency changes with no completed retro-approval yet. */
  readonly awaitingRetroReview: readonly SiteEntry[];
  /** The most recent exception records, newest first. */
  readonly exceptions: readonly SiteEntry[];
  /** Months (YYYY-MM) that have a population file, ascending. */
  readonly populationMonths: readonly string[];
  readonly controls: ControlsStatus | null;
  /** The action trail's anchors (trail-page.ts); absent in a site.json written before the trail page existed. */
  readonly trail: TrailSiteState;
  /** The alert summaries of the anchors (alerts-page.ts); absent in a site.json written before the alerts page existed. */
  readonly alerts: AlertsSiteState;
}

export interface SiteEntry {
  readonly seq: number;
  readonly kind: string;
  readonly title: string;
  /** GitHub's time for changes (merged_at); the writer's clock otherwise. */
  readonly time: string;
  readonly outcome: string;
  readonly pullRequest: number | null;
  readonly issue: number | null;
}

/** Whether the settings that make the ledger trustworthy are switched on, as last observed. */
export interface ControlsStatus {
  readonly checkedAt: string;
  readonly defaultBranch: string;
  /** Whether merging into the default branch requires the Charter check; null when it could not be read. */
  readonly checkRequired: boolean | null;
  readonly evidenceBranch: string;
  /** Whether the evidence branch refuses force-pushes and deletion; null when it could not be read. */
  readonly evidenceProtected: boolean | null;
  /** One sentence per finding, for the README and the warning issue. */
  readonly notes: readonly string[];
}

const LATEST = 20;

const EMPTY_SITE_STATE: SiteState = { version: 1, counts: {}, latest: [], awaitingRetroReview: [], exceptions: [], populationMonths: [], controls: null, trail: EMPTY_TRAIL_STATE, alerts: EMPTY_ALERTS_STATE };

export function parseSiteState(text: string | null): SiteState {
  if (text === null) return EMPTY_SITE_STATE;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CharterError("INVALID_RECORD", "site.json on the evidence branch is not JSON", { hint: "It is rebuilt from the records; remove it in a commit to the evidence branch and the next append rewrites it." });
  }
  const state = value as Partial<SiteState> | null;
  if (state?.version !== 1 || !Array.isArray(state.latest) || typeof state.counts !== "object") {
    throw new CharterError("INVALID_RECORD", "site.json on the evidence branch has an unknown format", { hint: "It is rebuilt from the records; remove it and the next append rewrites it." });
  }
  return { ...EMPTY_SITE_STATE, ...state };
}

function entryOf(record: EvidenceRecord): SiteEntry {
  const base = { seq: record.seq, kind: record.kind, time: record.observedAt, pullRequest: null, issue: null };
  switch (record.kind) {
    case "genesis":
      return { ...base, title: `Log started for ${record.body.repository.fullName}`, outcome: "" };
    case "change":
      return {
        ...base,
        title: record.body.pullRequest.title,
        time: record.body.mergedAt,
        outcome: record.body.emergency.active ? `${record.body.decision} (emergency)` : record.body.decision,
        pullRequest: record.body.pullRequest.number,
      };
    case "exception":
      return { ...base, title: record.body.reason, outcome: record.body.kind, pullRequest: record.body.pullRequest?.number ?? null, issue: record.body.issue };
    case "retro-approval":
      return { ...base, title: `Retro-review of record ${record.body.emergency.seq}`, outcome: record.body.outcome, issue: record.body.issue };
    case "provisioning":
      return { ...base, title: `Provisioning of ${record.body.agents.length} agent(s) at ${record.body.commit.slice(0, 12)}`, outcome: record.body.outcome };
    case "drift":
      return { ...base, title: `Drift: ${record.body.findings.length} finding(s)`, outcome: "drift", issue: record.body.issues[0] ?? null };
    case "access-review":
      return { ...base, title: `Access review of ${record.body.agents.length} agent(s)`, outcome: "snapshot" };
    case "trail-anchor": {
      const segments = record.body.segments;
      const first = segments[0];
      const last = segments.at(-1);
      return { ...base, title: `Action trail anchored: segment${segments.length === 1 ? "" : "s"} ${first?.index ?? 0}–${last?.index ?? 0}, events ${first?.fromSeq ?? 0}–${last?.toSeq ?? 0}`, outcome: "anchored" };
    }
    case "trail-exception":
      return { ...base, title: `Action trail source ${record.body.source}/${record.body.instance}: ${record.body.detail}`, outcome: record.body.kind === "silent" ? "source silent" : "events lost" };
    case "readiness":
      return { ...base, title: `SOC 2 readiness to ${record.body.period.until}: ${record.body.items.filter((i) => i.status === "fail").length} of ${record.body.items.length} items fail`, outcome: record.body.status };
  }
}

/** The state after appending `records` (in seq order). Pure. */
export function advanceSiteState(state: SiteState, records: readonly EvidenceRecord[], months: readonly string[], controls: ControlsStatus | null): SiteState {
  const counts: Record<string, number> = { ...state.counts };
  let latest = [...state.latest];
  let awaiting = [...state.awaitingRetroReview];
  let exceptions = [...state.exceptions];
  for (const record of records) {
    counts[record.kind] = (counts[record.kind] ?? 0) + 1;
    const entry = entryOf(record);
    latest = [entry, ...latest].slice(0, LATEST);
    if (record.kind === "change" && record.body.emergency.active) awaiting = [...awaiting, entry];
    if (record.kind === "retro-approval" && record.body.outcome === "completed") {
      awaiting = awaiting.filter((e) => e.seq !== record.body.emergency.seq);
    }
    if (record.kind === "exception" || record.kind === "trail-exception") exceptions = [entry, ...exceptions].slice(0, LATEST);
  }
  const populationMonths = [...new Set([...state.populationMonths, ...months])].sort();
  return { version: 1, counts, latest, awaitingRetroReview: awaiting, exceptions, populationMonths, controls: controls ?? state.controls, trail: advanceTrailState(state.trail, records), alerts: advanceAlertsState(state.alerts, records) };
}
