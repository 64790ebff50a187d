import type { Detector } from "./detector.js";
import type { RuleSet } from "./sigma/load-rules.js";
import { BROAD_SHARE } from "./sigma/reference-traffic.js";

/** How broad one Sigma detection rule turned out to be over a stream of events. */
export interface RuleHits {
  readonly id: string;
  readonly title: string;
  readonly file: string;
  /** False for a rule that only feeds a correlation: its matches are not alerts. */
  readonly alerting: boolean;
  readonly matches: number;
  /** Share of the stream's events the rule matched. */
  readonly share: number;
  /** An alerting rule that matched most of a stream long enough to tell. */
  readonly broad: boolean;
}

/** Below this many events a rule's share says little, so it is not flagged as broad. */
const MIN_EVENTS_FOR_SHARE = 20;

/**
 * Each detection rule's matches over the `events` a detector has processed: what `charter detect`
 * prints under the alerts and what a pull request's backtest shows, judged by the same bar.
 */
export function ruleHits(rules: RuleSet, detector: Detector, events: number): RuleHits[] {
  const matches = detector.ruleMatches();
  return rules.detections.map((r) => {
    const n = matches.get(r.key) ?? 0;
    const share = events === 0 ? 0 : n / events;
    const alerting = rules.alerting.has(r.key);
    return { id: r.id, title: r.title, file: r.file, alerting, matches: n, share, broad: alerting && events >= MIN_EVENTS_FOR_SHARE && share > BROAD_SHARE };
  });
}
