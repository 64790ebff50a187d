import { type BacktestReport, backtest } from "../../detect/backtest.js";
import type { ManifestsInForce } from "../../detect/manifests-in-force.js";
import { isRuleFile, loadRules, RULE_LIMITS, type RuleFile } from "../../detect/sigma/load-rules.js";
import { DEFAULT_SETTINGS, RULES_DIR } from "../../detect/settings.js";
import type { RepoReader } from "../../manifest/repo-reader.js";
import type { TrailStore } from "../../sources/trail-store.js";
import { readTrailWindow } from "../../sources/trail-window.js";
import { markdownCell as cell } from "./check-outcome.js";

/** The window a backtest looks back over. */
const BACKTEST_DAYS = 7;
/** Events a backtest reads at most: the latest of the window when it holds more. */
const BACKTEST_MAX_EVENTS = 50_000;
/** Rules shown in the check run; a pull request changing more is told so. */
const MAX_RULE_ROWS = 50;
/** The section stays well inside GitHub's 65,535-character summary beside the policy's 60,000. */
const MAX_SECTION = 5_000;
const DAY_MS = 86_400_000;

/** The trail a pull request's rules are tried against: the app's store and the manifests ingest judges by. */
export interface BacktestSource {
  readonly store: TrailStore;
  readonly manifests: ManifestsInForce;
  /** The trail repository: only its pull requests see this trail (another repository's would learn its agents and events). */
  readonly repository: { readonly owner: string; readonly repo: string };
}

/**
 * What the rule files a pull request changes would have raised over the last seven days of the
 * trail, as a Markdown section of its check run; undefined when it changes no rule file or the
 * trail is not this repository's. Reads the rule files through the check's own (cached) reader,
 * so it makes no GitHub request of its own. A trail that cannot be read says so in the section
 * rather than failing the check: the backtest informs reviewers, it decides nothing.
 */
export async function backtestSection(source: BacktestSource, target: { readonly owner: string; readonly repo: string }, head: RepoReader, changedPaths: readonly string[], nowMs: number): Promise<string | undefined> {
  if (source.repository.owner.toLowerCase() !== target.owner.toLowerCase() || source.repository.repo.toLowerCase() !== target.repo.toLowerCase()) return undefined;
  const paths = [...new Set(changedPaths)].filter((p) => p.startsWith(RULES_DIR) && isRuleFile(p)).sort();
  if (paths.length === 0) return undefined;
  const entries = await head.read(paths, RULE_LIMITS.maxFileBytes);
  const files: RuleFile[] = [];
  for (const [path, entry] of entries) if (entry.kind === "file") files.push({ path, bytes: entry.bytes });
  // Rules with errors are left out here as at run time; the check run's annotations name them.
  const { rules } = loadRules(files);
  let out = `\n### Backtest: the changed rules over the last ${BACKTEST_DAYS} days of the trail\n\n`;
  if (rules.detections.length === 0 && rules.correlations.length === 0) return out + "No changed rule compiles (see the problems above), or the change only deletes rules: nothing to try.\n";
  let report: BacktestReport;
  let window;
  try {
    window = await readTrailWindow(source.store, { sinceMs: nowMs - BACKTEST_DAYS * DAY_MS, untilMs: nowMs, cap: BACKTEST_MAX_EVENTS });
    // Sigma rules do not read the detection settings (prices and thresholds are the built-in rules'), so the defaults serve.
    report = backtest({ manifests: source.manifests, rules, settings: DEFAULT_SETTINGS }, window.events);
  } catch (error) {
    return out + `The trail could not be read (${cell((error instanceof Error ? error.message : String(error)).split("\n", 1)[0] ?? "").slice(0, 200)}); no backtest this time. Re-run the check once the trail's database is reachable.\n`;
  }
  out += window.capped
    ? `Over the latest ${report.events} of the window's ${window.total} events: a backtest reads at most ${BACKTEST_MAX_EVENTS}, so older events of the window were not tried.\n\n`
    : `Over ${report.events} event${report.events === 1 ? "" : "s"}.\n\n`;
  out += "| Rule | File | Matches | Alerts | Agents | Sample events (trace) |\n|---|---|---|---|---|---|\n";
  for (const r of report.rules.slice(0, MAX_RULE_ROWS)) {
    const matches = r.matches === null ? "—" : `${r.matches} (${((report.events > 0 ? r.matches / report.events : 0) * 100).toFixed(1)}%)`;
    out += `| ${r.broad ? "⚠️ " : ""}\`${cell(r.id).slice(0, 80)}\` ${cell(r.title).slice(0, 80)}${r.broad ? " — **fires on most events**" : ""}${r.alerting ? "" : " (feeds a correlation)"} | \`${cell(r.file)}\` | ${matches} | ${r.alerts} | ${r.agents.slice(0, 5).map((a) => `\`${cell(a).slice(0, 60)}\``).join(", ")}${r.agents.length > 5 ? ` +${r.agents.length - 5}` : ""} | ${r.samples.map((s) => `\`${cell(s.eventId).slice(0, 40)}\`${s.traceId === null ? "" : ` (\`${s.traceId}\`)`}`).join(", ")} |\n`;
  }
  if (report.rules.length > MAX_RULE_ROWS) out += `\n…and ${report.rules.length - MAX_RULE_ROWS} more rules; run \`charter detect\` over an export of the trail to see them all.\n`;
  if (report.rules.some((r) => r.broad)) out += "\n⚠️ A rule that fires on most events buries the alerts that matter: narrow its selection before merging.\n";
  if (out.length > MAX_SECTION) out = out.slice(0, MAX_SECTION) + "\n\n…backtest truncated.\n";
  return out;
}
