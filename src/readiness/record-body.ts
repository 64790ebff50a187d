import { canonicalBytes } from "../evidence/canonical-json.js";
import { readinessFactsHash } from "../evidence/readiness-check.js";
import { recordHash } from "../evidence/record.js";
import type { ReadinessBody, ReadinessFrozenFacts, ReadinessItem } from "../schema-types/evidence-record.generated.js";
import { providerDescriptors, type ProvisioningSettings } from "../provision/config.js";
import { evaluateReadiness } from "./evaluate.js";
import type { LedgerFacts, ReadinessFacts, VerificationProblem } from "./facts.js";
import type { ItemResult, ReadinessReport } from "./result.js";

/**
 * A readiness report as an evidence record: the results bounded so that a period with a
 * million unattributed principals still writes a record GitHub accepts, and the facts frozen
 * that the ledger cannot give again later (what the trail and the alert store held, how long
 * the seed query took). Everything else (agents, changes, exceptions) is recomputed from the
 * ledger records before the readiness record, which is what makes the record checkable.
 */

/** Failures listed per item; the rest are counted. */
const FAILURES_PER_ITEM = 20;
const LINKS_PER_FAILURE = 8;
const TEXT = 1000;
const LIMITS = { principals: 500, sharedBindings: 100, bindingAgents: 20, sources: 200, gaps: 10, alerts: 500, problems: 20, providers: 200, databases: 200 } as const;

export type FrozenProvider = ReadinessFrozenFacts["providers"][number];

/** The parts of the facts a list or text of may be cut; an item resting on one is compared as recorded. */
type FrozenPart = "ledger.verification" | "trail.principals" | "trail.sharedBindings" | "trail.sources" | "trail.verification" | "alerts.alerts";

const DEPENDS: Readonly<Record<string, readonly FrozenPart[]>> = {
  inventory: ["trail.principals"],
  identities: ["trail.principals", "trail.sharedBindings"],
  enforcement: ["trail.sources"],
  integrity: ["ledger.verification", "trail.verification"],
  queryable: [],
  "change-management": [],
  alerting: ["alerts.alerts"],
  completeness: ["trail.sources"],
};

/** The providers a policy configures, as the record keeps them: names and what they govern, never a URL or secret. */
export function frozenProviders(settings: ProvisioningSettings): FrozenProvider[] {
  return [
    ...(settings.local.enabled ? [{ name: "local" as const }] : []),
    ...settings.postgres.map((p) => ({ name: "postgres" as const, instance: p.instance, ...(p.databases === undefined ? {} : { databases: [...p.databases] }) })),
    ...settings.redis.map((r) => ({ name: "redis" as const, instance: r.instance })),
    ...settings.squid.map((q) => ({ name: "squid" as const, instance: q.instance })),
    ...(settings.github.enabled ? [{ name: "github" as const }] : []),
  ];
}

/** The descriptors the enforcement item judges by, rebuilt from the frozen providers (what decides which permission each handles). */
function providersOf(frozen: readonly FrozenProvider[]): LedgerFacts["providers"] {
  const instance = (p: FrozenProvider): string => p.instance ?? "";
  return providerDescriptors({
    prune: false,
    driftIntervalSeconds: 0,
    local: { enabled: frozen.some((p) => p.name === "local"), issuer: "" },
    postgres: frozen.filter((p) => p.name === "postgres").map((p) => ({ instance: instance(p), databases: p.databases, objectAudit: undefined })),
    redis: frozen.filter((p) => p.name === "redis").map((p) => ({ instance: instance(p), knownUsers: [] })),
    squid: frozen.filter((p) => p.name === "squid").map((p) => ({ instance: instance(p), listen: "", authProgram: undefined, hostsFile: undefined })),
    github: { enabled: frozen.some((p) => p.name === "github") },
  });
}

class Bounds {
  readonly cut = new Set<FrozenPart>();
  list<T>(part: FrozenPart, items: readonly T[], max: number): T[] {
    if (items.length > max) this.cut.add(part);
    return items.slice(0, max);
  }
  text(part: FrozenPart, value: string, max = 300): string {
    if (value.length > max) this.cut.add(part);
    return value.slice(0, max);
  }
}

function problems(b: Bounds, part: FrozenPart, list: readonly VerificationProblem[]): VerificationProblem[] {
  return b.list(part, list, LIMITS.problems).map((p) => ({ code: b.text(part, p.code, 100), message: b.text(part, p.message, TEXT), ...(p.seq === undefined ? {} : { seq: p.seq }), ...(p.path === undefined ? {} : { path: b.text(part, p.path) }) }));
}

/** The facts as the record keeps them, and which parts were cut to keep it bounded. */
function freeze(facts: ReadinessFacts, providers: readonly FrozenProvider[]): ReadinessFrozenFacts {
  const b = new Bounds();
  const v = facts.ledger.verification;
  const t = facts.trail;
  const a = facts.alerts;
  const frozen: Omit<ReadinessFrozenFacts, "truncated"> = {
    ledger: { branch: facts.ledger.branch, commit: facts.ledger.commit, verification: { ok: v.ok, keySource: v.keySource, signed: v.signed, witnessesRequired: v.witnessesRequired, witnessed: v.witnessed, problems: problems(b, "ledger.verification", v.problems) } },
    providers: providers.slice(0, LIMITS.providers).map((p) => ({ ...p, ...(p.databases === undefined ? {} : { databases: p.databases.slice(0, LIMITS.databases) }) })),
    trail:
      t === null
        ? null
        : {
            location: t.location.slice(0, 500),
            events: t.events,
            principals: b.list("trail.principals", t.principals, LIMITS.principals).map((p) => ({ principal: b.text("trail.principals", p.principal), agent: p.agent === null ? null : b.text("trail.principals", p.agent), events: p.events, firstSeq: p.firstSeq })),
            sharedBindings: b.list("trail.sharedBindings", t.sharedBindings, LIMITS.sharedBindings).map((s) => ({ principal: b.text("trail.sharedBindings", s.principal), agents: b.list("trail.sharedBindings", s.agents, LIMITS.bindingAgents).map((x) => b.text("trail.sharedBindings", x)) })),
            sources: b.list("trail.sources", t.sources, LIMITS.sources).map((s) => ({
              source: b.text("trail.sources", s.source, 200),
              instance: b.text("trail.sources", s.instance, 200),
              attested: s.attested,
              state: s.state.slice(0, 40),
              events: s.events,
              lastReceivedAt: s.lastReceivedAt,
              quietSinceMs: s.quietSinceMs,
              silentAfterSeconds: s.silentAfterSeconds,
              gapsInPeriod: b.list("trail.sources", s.gapsInPeriod, LIMITS.gaps).map((g) => ({ kind: g.kind, at: g.at, detail: b.text("trail.sources", g.detail, 500) })),
            })),
            verification: t.verification === null ? null : { ok: t.verification.ok, events: t.verification.events, sealedThrough: t.verification.sealedThrough, anchoredThrough: t.verification.anchoredThrough, problems: problems(b, "trail.verification", t.verification.problems) },
            seedQuery: { command: t.seedQuery.command.slice(0, TEXT), microseconds: Math.round(t.seedQuery.ms * 1000), budgetMs: t.seedQuery.budgetMs, total: t.seedQuery.total, agents: t.seedQuery.agents },
          },
    alerts:
      a === null
        ? null
        : {
            location: a.location.slice(0, 500),
            respondWithinMs: a.respondWithinMs,
            nowMs: a.nowMs,
            alerts: b.list("alerts.alerts", a.alerts, LIMITS.alerts).map((x) => ({
              id: x.id.slice(0, 100),
              rule: b.text("alerts.alerts", x.rule, 200),
              agent: x.agent === null ? null : b.text("alerts.alerts", x.agent),
              principal: b.text("alerts.alerts", x.principal),
              firedAt: x.firedAt,
              firedMs: x.firedMs,
              status: x.status,
              firstResponse: x.firstResponse === null ? null : { at: x.firstResponse.at, ms: x.firstResponse.ms, to: x.firstResponse.to, by: b.text("alerts.alerts", x.firstResponse.by) },
              reason: x.reason === null ? null : b.text("alerts.alerts", x.reason, TEXT),
            })),
          },
  };
  return { ...frozen, truncated: [...b.cut].sort() };
}

/** What the ledger records before the readiness record say, recomputed by whoever checks it. */
export type LedgerDerived = Pick<LedgerFacts, "indexRefused" | "agents" | "changes" | "exceptions" | "tipHash">;

/** The facts a readiness record stands for: its frozen facts with the ledger-derived ones. */
function thawFacts(body: ReadinessBody, ledger: LedgerDerived): ReadinessFacts {
  const f = body.facts;
  const sinceMs = body.period.since === null ? null : Date.parse(body.period.since);
  const untilMs = Date.parse(body.period.until);
  return {
    period: { sinceMs, untilMs },
    periodArgs: periodArgs(sinceMs, untilMs),
    ledger: { ...ledger, branch: f.ledger.branch, commit: f.ledger.commit, size: body.ledgerSize, providers: providersOf(f.providers), verification: f.ledger.verification, retroDays: body.retroDays },
    trail: f.trail === null ? null : { ...f.trail, seedQuery: { ...f.trail.seedQuery, ms: f.trail.seedQuery.microseconds / 1000 } },
    alerts: f.alerts,
  };
}

/** The period as charter's options spell it, for the commands a report links to. */
export function periodArgs(sinceMs: number | null, untilMs: number): string {
  return [...(sinceMs === null ? [] : [`--since ${new Date(sinceMs).toISOString()}`]), `--until ${new Date(untilMs).toISOString()}`].join(" ");
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** One item's result as a record holds it: failures and texts bounded, figures as decimal strings. */
function boundItem(item: ItemResult): ReadinessItem {
  const link = (l: ItemResult["links"][number]): ReadinessItem["links"][number] => ({ kind: l.kind, ref: clip(l.ref, TEXT), ...(l.note === undefined ? {} : { note: clip(l.note, 500) }) });
  return {
    id: clip(item.id, 100),
    title: clip(item.title, 500),
    criteria: item.criteria.slice(0, 10).map((c) => clip(c, 20)),
    status: item.status,
    checked: item.checked,
    summary: clip(item.summary, 2000),
    failures: item.failures.slice(0, FAILURES_PER_ITEM).map((f) => ({ subject: clip(f.subject, TEXT), reason: clip(f.reason, TEXT), fix: clip(f.fix, TEXT), links: f.links.slice(0, LINKS_PER_FAILURE).map(link) })),
    failuresOmitted: Math.max(0, item.failures.length - FAILURES_PER_ITEM),
    links: item.links.slice(0, LINKS_PER_FAILURE).map(link),
    children: item.children.slice(0, 50).map(boundItem),
    ...(item.measured === undefined ? {} : { measured: Object.fromEntries(Object.entries(item.measured).slice(0, 10).map(([k, n]) => [k.slice(0, 40), String(n)])) }),
  };
}

/**
 * The body of a readiness record for these facts, and the report it states. The report is
 * evaluated on the facts as the record keeps them (the seed query's time in whole
 * microseconds), so that re-evaluating the record gives back exactly what it says.
 */
export function readinessBody(facts: ReadinessFacts, o: { readonly repository: ReadinessBody["repository"]; readonly providers: readonly FrozenProvider[] }): { body: ReadinessBody; report: ReadinessReport } {
  const frozen = freeze(facts, o.providers);
  const kept: ReadinessFacts = { ...facts, trail: facts.trail === null ? null : { ...facts.trail, seedQuery: { ...facts.trail.seedQuery, ms: Math.round(facts.trail.seedQuery.ms * 1000) / 1000 } } };
  const report = evaluateReadiness(kept);
  const body: ReadinessBody = {
    repository: o.repository,
    period: report.period,
    status: report.status,
    items: report.items.map(boundItem),
    ledgerSize: facts.ledger.size,
    retroDays: facts.ledger.retroDays,
    facts: frozen,
    factsSha256: readinessFactsHash(frozen),
  };
  return { body, report };
}

/** What re-evaluating a record found: per item, recomputed and equal, recomputed and different, or kept as recorded. */
export interface ReplayedReadiness {
  readonly report: ReadinessReport;
  /** Items whose recomputation differs from what the record states, with what differs. */
  readonly disagreements: readonly { readonly item: string; readonly recorded: string; readonly recomputed: string }[];
  /** Items that rest on facts the record had to cut: shown as recorded, not recomputed. */
  readonly asRecorded: readonly string[];
}

function itemResultOf(item: ReadinessItem): ItemResult {
  const more = item.failuresOmitted === 0 ? [] : [{ subject: `${item.failuresOmitted} more`, reason: `the record lists the first ${FAILURES_PER_ITEM} failures of an item and counts the rest`, fix: "Run charter readiness on the live stores for the same period to list them all.", links: [] }];
  return {
    id: item.id,
    title: item.title,
    criteria: item.criteria,
    status: item.status,
    checked: item.checked,
    summary: item.summary,
    failures: [...item.failures, ...more],
    links: item.links,
    children: item.children.map(itemResultOf),
    ...(item.measured === undefined ? {} : { measured: Object.fromEntries(Object.entries(item.measured).map(([k, v]) => [k, Number(v)])) }),
  };
}

function outline(item: ReadinessItem): string {
  return `${item.status}, ${item.checked} checked, ${item.failures.length + item.failuresOmitted} failures`;
}

/**
 * Re-evaluates a readiness record on its frozen facts and the ledger-derived facts recomputed
 * from the records before it, and compares item by item with what it states. Pure.
 */
export function replayReadiness(body: ReadinessBody, ledger: LedgerDerived): ReplayedReadiness {
  const recomputed = evaluateReadiness(thawFacts(body, ledger));
  const cut = new Set(body.facts.truncated);
  const disagreements: { item: string; recorded: string; recomputed: string }[] = [];
  const asRecorded: string[] = [];
  const items: ItemResult[] = [];
  const recorded = new Map(body.items.map((i) => [i.id, i]));
  for (const fresh of recomputed.items) {
    const stated = recorded.get(fresh.id);
    const rests = (DEPENDS[fresh.id] ?? []).some((p) => cut.has(p));
    if (stated !== undefined && rests) {
      asRecorded.push(fresh.id);
      items.push(itemResultOf(stated));
      continue;
    }
    items.push(fresh);
    const bounded = boundItem(fresh);
    if (stated === undefined) disagreements.push({ item: fresh.id, recorded: "absent", recomputed: outline(bounded) });
    else if (recordHash(canonicalBytes(stated)) !== recordHash(canonicalBytes(bounded))) {
      disagreements.push({ item: fresh.id, recorded: outline(stated), recomputed: outline(bounded) + (outline(stated) === outline(bounded) ? " (the texts or links differ)" : "") });
    }
  }
  for (const id of recorded.keys()) if (!recomputed.items.some((i) => i.id === id)) disagreements.push({ item: id, recorded: outline(recorded.get(id) as ReadinessItem), recomputed: "absent" });
  const status = items.some((i) => i.status === "fail") ? "fail" : "pass";
  if (status !== body.status) disagreements.push({ item: "status", recorded: body.status, recomputed: status });
  return { report: { period: body.period, status, items }, disagreements, asRecorded };
}
