import type { EvidenceRecord, TrailAnchorBody, TrailCoverage } from "../../schema-types/evidence-record.generated.js";
import { mdCode, mdLink, mdTable, mdText } from "./markdown.js";
import { ALERTS_PATH, pagePath, TRAIL_PATH } from "./site-paths.js";

/**
 * The action trail's page on the evidence branch: per trail (origin), the anchors and the
 * segments and checkpoints they carry, what each source had delivered when last anchored, and
 * how many events each agent had per data class. Built only from anchor records, so it shows what
 * the evidence holds, not what the trail's database says; like the rest of the site it is a view,
 * and `charter trail verify` checks the trail itself.
 */
export interface TrailSiteState {
  readonly origins: readonly TrailOriginState[];
}

export interface TrailAnchorEntry {
  /** The anchor record's seq on the evidence branch. */
  readonly seq: number;
  readonly time: string;
  readonly firstSegment: number;
  readonly lastSegment: number;
  readonly fromSeq: number;
  readonly toSeq: number;
  /** The last segment's Merkle root (hex). */
  readonly root: string;
}

export interface TrailOriginState {
  readonly origin: string;
  readonly anchors: number;
  readonly segments: number;
  /** The last event anchored (the latest anchor's toSeq). */
  readonly toSeq: number;
  /** The signed checkpoint the latest anchor carries. */
  readonly checkpoint: string;
  /** The most recent anchors, newest first. */
  readonly recent: readonly TrailAnchorEntry[];
  /** Per source and instance as of the latest anchor. */
  readonly coverage: readonly TrailCoverage[];
  /** Events per agent and data class, summed over the anchors that carry counts. */
  readonly counts: readonly { readonly agent: string | null; readonly dataClass: string | null; readonly events: number }[];
  /** Anchors written before anchor records carried counts: their events are not in `counts`. */
  readonly uncountedAnchors: number;
}

const RECENT = 20;

export const EMPTY_TRAIL_STATE: TrailSiteState = { origins: [] };

/** The state after these records (in seq order). Pure; only trail-anchor records change it. */
export function advanceTrailState(state: TrailSiteState, records: readonly EvidenceRecord[]): TrailSiteState {
  const origins = new Map(state.origins.map((o) => [o.origin, o]));
  for (const record of records) {
    if (record.kind !== "trail-anchor") continue;
    const body = record.body;
    origins.set(body.origin, advanceOrigin(origins.get(body.origin), record.seq, record.observedAt, body));
  }
  return { origins: [...origins.values()].sort((a, b) => compare(a.origin, b.origin)) };
}

function advanceOrigin(before: TrailOriginState | undefined, seq: number, time: string, body: TrailAnchorBody): TrailOriginState {
  const first = body.segments[0];
  const last = body.segments.at(-1);
  const entry: TrailAnchorEntry = {
    seq,
    time,
    firstSegment: first?.index ?? 0,
    lastSegment: last?.index ?? 0,
    fromSeq: first?.fromSeq ?? 0,
    toSeq: last?.toSeq ?? 0,
    root: last?.root ?? "",
  };
  const counts = new Map<string, { agent: string | null; dataClass: string | null; events: number }>();
  for (const c of [...(before?.counts ?? []), ...(body.counts ?? [])]) {
    const key = JSON.stringify([c.agent, c.dataClass]);
    const sum = counts.get(key);
    counts.set(key, { agent: c.agent, dataClass: c.dataClass, events: (sum?.events ?? 0) + c.events });
  }
  return {
    origin: body.origin,
    anchors: (before?.anchors ?? 0) + 1,
    segments: (before?.segments ?? 0) + body.segments.length,
    toSeq: entry.toSeq,
    checkpoint: body.checkpoint,
    recent: [entry, ...(before?.recent ?? [])].slice(0, RECENT),
    coverage: [...body.coverage].sort((a, b) => compare(`${a.source}\0${a.instance}`, `${b.source}\0${b.instance}`)),
    counts: [...counts.values()].sort((a, b) => compare(countKey(a), countKey(b))),
    uncountedAnchors: (before?.uncountedAnchors ?? 0) + (body.counts === undefined ? 1 : 0),
  };
}

/** `alertsPage`: whether an anchor carried an alert summary, so that the alerts page exists to link to. */
export function renderTrailPage(state: TrailSiteState, alertsPage: boolean): string {
  const self = TRAIL_PATH;
  const lines = [
    "# The action trail",
    "",
    "What agents did on protected resources, recorded at the infrastructure (attested) or by the agents' own telemetry",
    "(self-reported). Events are hash-chained and sealed into segments; each anchor record below carries the segments'",
    "Merkle roots and the trail's signed checkpoint, so `charter trail verify` can check the trail's events against this",
    "branch offline. This page is built from the anchor records alone.",
    ...(!alertsPage ? [] : [`The alerts raised and evaluated in the anchored events are on ${mdLink("the alerts page", self, ALERTS_PATH)}.`]),
    "",
  ];
  if (state.origins.length === 0) lines.push("_No segment anchored yet._", "");
  for (const o of state.origins) {
    lines.push(
      `## ${mdCode(o.origin)}`,
      "",
      mdTable(
        ["Fact", "Value"],
        [
          ["Anchor records", String(o.anchors)],
          ["Segments anchored", String(o.segments)],
          ["Events anchored", `1–${o.toSeq}`],
        ],
      ),
      "Latest signed checkpoint:",
      "",
      "```",
      // The checkpoint is the signer's text (origin, size, root, signature lines); fences cannot occur in it.
      o.checkpoint.replaceAll("`", "'").trimEnd(),
      "```",
      "",
      "### Segments and their checkpoints",
      "",
      mdTable(
        ["Anchor record", "Anchored at", "Segments", "Events", "Root of the last segment"],
        o.recent.map((a) => [mdLink(String(a.seq), self, pagePath(a.seq)), mdText(a.time), `${a.firstSegment}–${a.lastSegment}`, `${a.fromSeq}–${a.toSeq}`, mdCode(a.root)]),
      ),
      `The ${Math.min(o.recent.length, RECENT)} most recent anchors; every anchor record has its own page under \`pages/\`.`,
      "",
      "### Coverage per source",
      "",
      mdTable(
        ["Source", "Instance", "Attested", "Events", "Latest event"],
        o.coverage.map((c) => [mdText(c.source), mdText(c.instance), c.attested ? "yes" : "no (self-reported)", String(c.events), c.lastEventAt === null ? "never" : mdText(c.lastEventAt)]),
      ),
      "As of the latest anchor. A source that went silent or lost lines is a trail exception in the README's list.",
      "",
      "### Events per agent and data class",
      "",
      mdTable(
        ["Agent", "Data class", "Events"],
        o.counts.map((c) => [c.agent === null ? "_unattributed_" : mdText(c.agent), c.dataClass === null ? "_all_" : mdText(c.dataClass), String(c.events)]),
      ),
      ...(o.uncountedAnchors > 0 ? [`${o.uncountedAnchors} earlier anchor record(s) carry no counts; their events are not in this table.`, ""] : []),
    );
  }
  return lines.join("\n");
}

/** Unattributed first, and each agent's total (all classes) before its classes. */
function countKey(c: { readonly agent: string | null; readonly dataClass: string | null }): string {
  return `${c.agent === null ? "0" : `1${c.agent}`}\0${c.dataClass === null ? "0" : `1${c.dataClass}`}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
