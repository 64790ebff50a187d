import type { TrailAnchorBody } from "../schema-types/evidence-record.generated.js";
import type { AnchoredAlertSummary } from "./alert-summary.js";
import type { AnchoredCheckpoint, AnchoredSegment } from "./verify-trail.js";

/** What a trail's verification needs of the ledger: every segment anchored for the trail's origin, each anchor's checkpoint and alert summary. */
export interface LedgerAnchors {
  readonly segments: AnchoredSegment[];
  readonly checkpoints: AnchoredCheckpoint[];
  /** Anchors written before summaries existed carry none; there is nothing of theirs to check. */
  readonly alertSummaries: AnchoredAlertSummary[];
  /**
   * Records that are not canonical JSON: Charter never writes one, so each is an edit of the
   * branch, and skipping it quietly would drop whatever anchor it held from the check.
   */
  readonly unreadable: number[];
}

/** The part of an anchor record's body the verification reads. */
export type AnchorEntry = Pick<TrailAnchorBody, "segments" | "checkpoint" | "alerts">;

/**
 * The anchors of one origin from its anchor records in ledger order, however they were found (by
 * reading every record of a clone, or from the audit index that read each record once): one rule,
 * so that both give the verification the same input.
 */
export function collectAnchors(entries: Iterable<{ readonly seq: number; readonly body: AnchorEntry }>, unreadable: readonly number[] = []): LedgerAnchors {
  const segments: AnchoredSegment[] = [];
  const checkpoints: AnchoredCheckpoint[] = [];
  const alertSummaries: AnchoredAlertSummary[] = [];
  for (const { seq, body } of entries) {
    for (const s of body.segments) segments.push({ ...s, anchorSeq: seq });
    checkpoints.push({ anchorSeq: seq, note: body.checkpoint });
    const first = body.segments[0];
    const last = body.segments.at(-1);
    if (body.alerts !== undefined && first !== undefined && last !== undefined) alertSummaries.push({ anchorSeq: seq, fromSeq: first.fromSeq, toSeq: last.toSeq, alerts: body.alerts });
  }
  return { segments, checkpoints, alertSummaries, unreadable: [...unreadable] };
}
