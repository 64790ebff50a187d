import type { TrailEvent } from "../trail/event.js";
import type { Alert } from "./alert.js";
import { Detector } from "./detector.js";
import type { ManifestsInForce } from "./manifests-in-force.js";
import { ruleHits } from "./rule-hits.js";
import type { RuleSet } from "./sigma/load-rules.js";
import type { ResolvedSettings } from "./settings.js";

/** Sample events shown per rule: enough to look a few up, few enough for a check run. */
const BACKTEST_SAMPLES = 5;

/** What one rule would have done over the events. */
export interface RuleBacktest {
  readonly id: string;
  readonly title: string;
  readonly file: string;
  readonly kind: "detection" | "correlation";
  /** Events the rule matched; null for a correlation, which matches groups rather than events. */
  readonly matches: number | null;
  /** False for a detection rule that only feeds a correlation. */
  readonly alerting: boolean;
  readonly alerts: number;
  /** Agents (or, for an identity no manifest owns, principals) its alerts name, sorted. */
  readonly agents: readonly string[];
  /** The first events of its first alerts: event id and trace id. */
  readonly samples: readonly { readonly eventId: string; readonly traceId: string | null }[];
  /** An alerting rule that matched most of the events. */
  readonly broad: boolean;
}

export interface BacktestReport {
  readonly events: number;
  readonly rules: readonly RuleBacktest[];
}

export interface BacktestInput {
  readonly manifests: ManifestsInForce;
  /** The rules to try: a pull request's changed rule files, loaded on their own. */
  readonly rules: RuleSet;
  readonly settings: ResolvedSettings;
}

/**
 * Runs the detection engine that live ingest and `charter detect` run over a finite stream of
 * trail events (in seq order) and reports, per rule of `input.rules`, what it would have raised.
 * The built-in rules run too (the engine always runs them) but their alerts are not the
 * question and are left out.
 */
export function backtest(input: BacktestInput, events: Iterable<TrailEvent>): BacktestReport {
  const detector = new Detector({ manifests: input.manifests, rules: input.rules, settings: input.settings });
  const byRule = new Map<string, Alert[]>();
  const collect = (alerts: readonly Alert[]): void => {
    for (const a of alerts) {
      if (a.rule.kind !== "sigma" && a.rule.kind !== "correlation") continue;
      const key = ruleKey(a.rule.file ?? "", a.rule.id);
      const list = byRule.get(key) ?? [];
      list.push(a);
      byRule.set(key, list);
    }
  };
  let count = 0;
  for (const event of events) {
    count++;
    collect(detector.process(event).alerts);
  }
  collect(detector.finish().alerts);

  const summary = (file: string, id: string): Pick<RuleBacktest, "alerts" | "agents" | "samples"> => {
    const alerts = byRule.get(ruleKey(file, id)) ?? [];
    const agents = [...new Set(alerts.map((a) => a.agent ?? a.principal))].sort();
    const samples = alerts.flatMap((a) => a.events.slice(0, 1)).slice(0, BACKTEST_SAMPLES).map((e) => ({ eventId: e.id, traceId: e.traceId }));
    return { alerts: alerts.length, agents, samples };
  };
  const rules: RuleBacktest[] = ruleHits(input.rules, detector, count).map((r) => ({ id: r.id, title: r.title, file: r.file, kind: "detection", matches: r.matches, alerting: r.alerting, broad: r.broad, ...summary(r.file, r.id) }));
  for (const c of input.rules.correlations) rules.push({ id: c.id, title: c.title, file: c.file, kind: "correlation", matches: null, alerting: true, broad: false, ...summary(c.file, c.id) });
  rules.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { events: count, rules };
}

function ruleKey(file: string, id: string): string {
  return `${file}\n${id}`;
}
