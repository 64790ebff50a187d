import { performance } from "node:perf_hooks";
import { CharterError } from "../errors.js";
import type { AlertFact, PrincipalSeen, SharedBinding, SourceFact, TrailFacts } from "../readiness/facts.js";
import type { TrailVerifyReport } from "../trail/verify-trail.js";
import { ALERT_LOG_SOURCE_NAME } from "./alert-log.js";
import type { AlertStore } from "./alert-store.js";
import { offHoursOrAll } from "./trail-queries.js";
import { statusRows } from "./trail-status.js";
import type { TrailStore } from "./trail-store.js";

/** The most alerts one report reads; a larger period is refused rather than judged on part of it. */
const MAX_ALERTS = 100_000;

export interface TrailFactsOptions {
  readonly sinceMs: number | null;
  readonly untilMs: number;
  readonly nowMs: number;
  readonly periodArgs: string;
  readonly seedClass: string;
  readonly queryBudgetMs: number;
  /** The silence limit of a source that configures none. */
  readonly silentAfterMs: number;
  /**
   * The trail verified against the anchors on the evidence branch and the alert store against
   * the log: from a clone for the CLI, through the API for the app.
   */
  readonly verify: () => Promise<TrailVerifyReport>;
}

/**
 * What the trail says for a readiness report: who acted in the period and as which agent,
 * principals bound to two agents at once, every source's state and gaps, the verification, and
 * the seed query timed on this very store. Shared by charter readiness and the app's scheduled
 * readiness record.
 */
export async function readinessTrailFacts(store: TrailStore, o: TrailFactsOptions): Promise<TrailFacts> {
  const fromMs = o.sinceMs ?? 0;
  const window = [fromMs, o.untilMs];
  const principals: PrincipalSeen[] = [];
  // The alert log's records are Charter's own (an alert raised, a person's evaluation of it), not
  // actions on a protected resource: their principals are not identities the inventory judges.
  const alertLog = (await store.nameId("source", ALERT_LOG_SOURCE_NAME)) ?? -1;
  const rows = await store.select("SELECT principal, agent, count(*) AS n, min(seq) AS first FROM events WHERE observed_ms >= ? AND observed_ms < ? AND source <> ? GROUP BY principal, agent ORDER BY min(seq)", [...window, alertLog]);
  const agents = await store.namesOf("agent", rows.flatMap((r) => (r["agent"] === null ? [] : [Number(r["agent"])])));
  const principalNames = await store.namesOf("principal", rows.map((r) => Number(r["principal"])));
  for (const r of rows) {
    const agentId = r["agent"] === null ? null : Number(r["agent"]);
    const principalId = Number(r["principal"]);
    const agent = agentId === null ? null : (agents.get(agentId) ?? `#${agentId}`);
    principals.push({ principal: principalNames.get(principalId) ?? `#${principalId}`, agent, events: Number(r["n"]), firstSeq: Number(r["first"]) });
  }
  const gaps = (await store.gaps()).filter((g) => g.detectedMs >= fromMs && g.detectedMs < o.untilMs);
  const sources: SourceFact[] = (await statusRows(store, o.nowMs, o.silentAfterMs)).map((s) => ({
    source: s.source,
    instance: s.instance,
    attested: s.attested,
    state: s.state,
    events: s.events,
    lastReceivedAt: s.lastReceivedAt,
    quietSinceMs: s.quietSince === null ? null : Date.parse(s.quietSince),
    silentAfterSeconds: s.silentAfterSeconds,
    gapsInPeriod: gaps.filter((g) => g.source === s.source && g.instance === s.instance).map((g) => ({ kind: g.kind, at: new Date(g.detectedMs).toISOString(), detail: g.detail })),
  }));
  const verified = await o.verify();
  const started = performance.now();
  const answer = await offHoursOrAll(store, { dataClass: o.seedClass, outsideHours: true, ...(o.sinceMs === null ? {} : { since: o.sinceMs }), until: o.untilMs });
  const ms = performance.now() - started;
  const events = Number((await store.select("SELECT count(*) AS n FROM events WHERE observed_ms >= ? AND observed_ms < ?", window))[0]?.["n"] ?? 0);
  return {
    location: store.location,
    events,
    principals,
    sharedBindings: sharedBindings(await store.bindings()),
    sources,
    verification: { ok: verified.ok, events: verified.events, sealedThrough: verified.sealedThrough, anchoredThrough: verified.anchoredThrough, problems: verified.problems },
    seedQuery: { command: `charter audit actions --data-class ${o.seedClass} --outside-hours ${o.periodArgs} --by-agent`.replace(/ {2,}/g, " "), ms, budgetMs: o.queryBudgetMs, total: answer.total, agents: answer.byAgent.length },
  };
}

/** Principals bound to different agents over overlapping times. */
function sharedBindings(bindings: readonly { principal: string; instance: string | null; agent: string; fromMs: number; untilMs: number | null }[]): SharedBinding[] {
  const byPrincipal = new Map<string, typeof bindings>();
  for (const b of bindings) byPrincipal.set(b.principal, [...(byPrincipal.get(b.principal) ?? []), b]);
  const out: SharedBinding[] = [];
  for (const [principal, list] of byPrincipal) {
    const agents = new Set<string>();
    for (const a of list) {
      for (const b of list) {
        if (a.agent === b.agent) continue;
        const overlap = a.fromMs < (b.untilMs ?? Infinity) && b.fromMs < (a.untilMs ?? Infinity) && (a.instance === null || b.instance === null || a.instance === b.instance);
        if (overlap) agents.add(a.agent).add(b.agent);
      }
    }
    if (agents.size > 1) out.push({ principal, agents: [...agents].sort() });
  }
  return out.sort((a, b) => a.principal.localeCompare(b.principal));
}

/** The alerts fired in the period, each with its first evaluation, oldest first. */
export async function readinessAlertFacts(store: AlertStore, o: { readonly sinceMs: number | null; readonly untilMs: number }): Promise<AlertFact[]> {
  const listed = await store.list({ limit: MAX_ALERTS + 1, ...(o.sinceMs === null ? {} : { sinceMs: o.sinceMs }) });
  if (listed.length > MAX_ALERTS) throw new CharterError("LIMIT_EXCEEDED", `more than ${MAX_ALERTS} alerts fired since ${o.sinceMs === null ? "the beginning" : new Date(o.sinceMs).toISOString()}`, { hint: "Report a shorter period with --since." });
  const out: AlertFact[] = [];
  for (const s of listed) {
    const firedMs = Date.parse(s.alert.firedAt);
    if (!(firedMs < o.untilMs)) continue;
    const first = (await store.history(s.alert.id))[0];
    out.push({
      id: s.alert.id,
      rule: s.alert.rule.id,
      agent: s.alert.agent,
      principal: s.alert.principal,
      firedAt: s.alert.firedAt,
      firedMs,
      status: s.status,
      firstResponse: first === undefined ? null : { at: first.at, ms: Date.parse(first.at), to: first.to, by: first.by },
      reason: s.reason,
    });
  }
  return out.reverse();
}
