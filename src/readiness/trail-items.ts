import type { ItemDefinition } from "./checklist-items.js";
import type { ReadinessFacts } from "./facts.js";
import { command, type Failure, type ItemResult, statusOf } from "./result.js";

/**
 * Queryable: the auditor's seed question (customer data touched outside allowed hours in the
 * period, how many times, by which agents) answered on the store the deployment really runs,
 * timed when the report is made, against the budget.
 */
export function queryableItem(def: ItemDefinition, facts: ReadinessFacts): ItemResult {
  const base = { ...def, children: [] };
  if (facts.trail === null) return { ...base, status: "not-applicable", checked: 0, summary: "No action trail is configured: there is no store to query.", failures: [], links: [] };
  const q = facts.trail.seedQuery;
  const ms = Math.round(q.ms * 10) / 10;
  const failures: Failure[] =
    q.ms <= q.budgetMs
      ? []
      : [{ subject: `the seed query on ${facts.trail.location}`, reason: `took ${ms} ms, over its budget of ${q.budgetMs} ms`, fix: "Run the trail on PostgreSQL (DATABASE_URL) or a faster disk, and check the rollups are current (docs/operations.md); the budget is --query-budget.", links: [command(q.command)] }];
  return {
    ...base,
    status: failures.length === 0 ? "pass" : "fail",
    checked: 1,
    summary: `The seed query answered in ${ms} ms (budget ${q.budgetMs} ms): ${q.total} event${q.total === 1 ? "" : "s"} by ${q.agents} agent${q.agents === 1 ? "" : "s"}.`,
    failures,
    links: [command(q.command, "the same question, its answer and its population")],
    measured: { ms, budgetMs: q.budgetMs },
  };
}

/**
 * Completeness: no attested source went silent beyond its limit or lost lines within the period.
 * A silent or gapped infrastructure log means the trail may lack actions, so the other items'
 * answers would rest on a partial record.
 */
export function completenessItem(def: ItemDefinition, facts: ReadinessFacts): ItemResult {
  const base = { ...def, children: [] };
  if (facts.trail === null) return { ...base, status: "not-applicable", checked: 0, summary: "No action trail is configured: there are no sources to check.", failures: [], links: [] };
  const attested = facts.trail.sources.filter((s) => s.attested);
  const failures: Failure[] = [];
  for (const s of attested) {
    const name = `${s.source}/${s.instance}`;
    const links = [{ kind: "source" as const, ref: name }, command("charter trail status")];
    const silentFrom = s.quietSinceMs === null ? null : s.quietSinceMs + s.silentAfterSeconds * 1000;
    const silentInPeriod = s.state === "silent" && (silentFrom === null || silentFrom < facts.period.untilMs);
    if (silentInPeriod) {
      failures.push({
        subject: `source ${name}`,
        reason: s.lastReceivedAt === null ? `configured but nothing was ever received (limit ${s.silentAfterSeconds} s)` : `nothing received since ${s.lastReceivedAt}, longer than its limit of ${s.silentAfterSeconds} s`,
        fix: "Restart or reconnect the source's follower (the app's log follower, poller or ingest token), then backfill the missed log with charter trail ingest.",
        links,
      });
    }
    for (const g of s.gapsInPeriod) {
      failures.push({ subject: `source ${name}`, reason: `${g.kind === "gap" ? "lost lines" : "went silent"} at ${g.at}: ${g.detail}`, fix: "Backfill the missing part of the log with charter trail ingest (lines already stored are not added twice) and find why it was lost.", links });
    }
  }
  return {
    ...base,
    status: statusOf(attested.length, failures),
    checked: attested.length,
    summary: attested.length === 0 ? "The trail has no attested source: nothing infrastructure-side to check for silence (the enforcement item names what is missing)." : `${attested.length} attested source${attested.length === 1 ? "" : "s"}; ${failures.length === 0 ? "none silent or gapped in the period" : `${new Set(failures.map((f) => f.subject)).size} silent or gapped`}.`,
    failures,
    links: [command("charter trail status")],
  };
}
