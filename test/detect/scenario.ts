import type { ManifestVersion } from "../../src/detect/manifests-in-force.js";
import type { AgentManifest } from "../../src/schema-types/agent-manifest.generated.js";
import { covers, parsePermission, type Permission } from "../../src/manifest/permission.js";
import type { TrailEvent, TrailSourceKind, TrailSystem, Weekday } from "../../src/trail/event.js";

/**
 * A labelled scenario: 24 agents' normal traffic over 30 days, generated from a seed, stamped as
 * the trail's ingest stamps it (permission, scope under the manifest version in force, local
 * hour and allowed hours in the agent's time zone with DST, data classes from a catalog), plus
 * injected anomalies of every kind detection knows, each labelled with the events it consists
 * of. Detection never sees the labels; the tests compare its alerts with them.
 */
export type AnomalyKind =
  | "out-of-scope"
  | "outside-hours"
  | "retired-agent"
  | "unattributed"
  | "rate-limit"
  | "cost-limit"
  | "approval-missing"
  | "denied-burst"
  | "first-seen"
  | "volume";

export interface Injected {
  readonly kind: AnomalyKind;
  readonly agent: string | null;
  readonly eventIds: readonly string[];
}

export interface Scenario {
  readonly manifests: readonly ManifestVersion[];
  readonly events: readonly TrailEvent[];
  readonly injected: readonly Injected[];
  readonly agents: readonly string[];
}

const START = Date.parse("2026-03-02T00:00:00Z");
const DAYS = 30;
const DAY = 86_400_000;
const CATALOG: Readonly<Record<string, readonly string[]>> = {
  "crm.public.customers": ["customer-pii"],
  "crm.public.orders": ["customer-pii", "financial"],
  "crm.public.payment_methods": ["payment-card"],
  "helpdesk.public.tickets": ["customer-pii"],
  "finance.ledger.entries": ["financial"],
  "finance.ledger.payouts": ["financial"],
  "hr.public.employees": ["employee-pii"],
  "analytics.events.page_views": ["internal"],
  "api.payments.example/v1/refunds": ["financial"],
  "cache:customers:*": ["customer-pii"],
};

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    // mulberry32
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ToolSpec {
  readonly name: string;
  readonly permissions: readonly string[];
}

interface AgentSpec {
  readonly id: string;
  readonly tz: string | null;
  readonly tools: readonly ToolSpec[];
  /** Granted but never used by normal traffic: first-seen's injections use these. */
  readonly unused: string;
  /** A tool used on few days only. */
  readonly rareTool: ToolSpec;
  readonly approvalTool: string | null;
  readonly tasksPerDay: number;
  readonly maxRpm: number;
  readonly maxCost: number;
  readonly classes: AgentManifest["dataClassifications"];
}

const TABLE_SETS: readonly (readonly string[])[] = [
  ["crm.public.customers", "crm.public.orders"],
  ["helpdesk.public.tickets", "crm.public.customers"],
  ["finance.ledger.entries", "finance.ledger.payouts"],
  ["analytics.events.page_views"],
  ["hr.public.employees"],
];

function agentSpecs(random: () => number): AgentSpec[] {
  const zones = [null, "UTC", "Europe/Berlin", "America/New_York"];
  const out: AgentSpec[] = [];
  for (let i = 0; i < 24; i++) {
    const id = `agent-${String(i + 1).padStart(2, "0")}`;
    const tables = TABLE_SETS[i % TABLE_SETS.length] ?? [];
    const db = `db${i % 3}`;
    const tools: ToolSpec[] = [
      { name: "lookup", permissions: tables.map((t) => `postgres:select:${t}@${db}`) },
      { name: "update_record", permissions: [`postgres:update:${tables[0] ?? ""}@${db}`] },
      { name: "cache_read", permissions: [`redis:read:cache:customers:*@cache-prod`] },
    ];
    if (i % 4 === 0) tools.push({ name: "refund", permissions: ["http:post:api.payments.example/v1/refunds"] });
    const rareTool = { name: "weekly_report", permissions: [`postgres:select:analytics.events.page_views@${db}`] };
    const unused = `postgres:delete:${tables[0] ?? ""}@${db}`;
    out.push({
      id,
      tz: zones[i % zones.length] ?? null,
      tools,
      unused,
      rareTool,
      approvalTool: i % 4 === 0 ? "refund" : i % 5 === 1 ? "update_record" : null,
      tasksPerDay: 30 + Math.floor(random() * 60),
      maxRpm: 60 + Math.floor(random() * 4) * 60,
      maxCost: 20 + Math.floor(random() * 5) * 20,
      classes: ["customer-pii", "financial", "internal", "employee-pii", "payment-card"],
    });
  }
  return out;
}

function manifestOf(spec: AgentSpec, extraTools: readonly ToolSpec[] = [], status: "active" | "retired" = "active"): AgentManifest {
  const tools = status === "retired" ? [] : [...spec.tools, spec.rareTool, ...extraTools, { name: "maintenance", permissions: [spec.unused] }];
  return {
    apiVersion: "charter/v1",
    kind: "Agent",
    id: spec.id,
    name: spec.id,
    purpose: "A scenario agent for detection tests.",
    status,
    environment: "production",
    owners: [{ team: `acme/team-${spec.id.slice(-2)}` }, { user: `owner-${spec.id.slice(-2)}` }],
    dataClassifications: spec.classes,
    model: { provider: "anthropic", name: "claude-sonnet-4-5", version: "20250929" },
    prompts: [],
    tools: tools.map((t) => ({ name: t.name, permissions: [...t.permissions] })),
    credentials: { provider: "postgres", maxLifetime: "1h" },
    runtime: {
      ...(spec.tz ? { allowedHours: { timezone: spec.tz, days: ["mon", "tue", "wed", "thu", "fri"] as Weekday[], start: "08:00", end: "18:00" } } : {}),
      maxRequestsPerMinute: spec.maxRpm,
      maxCostPerDayUsd: spec.maxCost,
      ...(spec.approvalTool ? { humanApprovalRequiredFor: [spec.approvalTool] } : {}),
    },
    ...(status === "retired" ? { retirement: { date: "2026-03-12", reason: "replaced" } } : {}),
  };
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsets = new Map<string, number>();
const WEEKDAYS: readonly Weekday[] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/**
 * Local weekday, hour and minute in a time zone. The zone's offset is looked up once per UTC
 * hour through Intl (offsets change only on hour boundaries in the zones used here), which keeps
 * generating a month of traffic fast.
 */
function local(ms: number, tz: string): { day: Weekday; hour: number; minute: number } {
  const hourIndex = Math.floor(ms / 3_600_000);
  const key = `${tz}|${hourIndex}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    let f = formatters.get(tz);
    if (!f) {
      f = new Intl.DateTimeFormat("en-US", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
      formatters.set(tz, f);
    }
    const at = hourIndex * 3_600_000;
    const parts = f.formatToParts(new Date(at));
    const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
    offset = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute")) - at;
    offsets.set(key, offset);
  }
  const d = new Date(ms + offset);
  return { day: WEEKDAYS[d.getUTCDay()] ?? "mon", hour: d.getUTCHours(), minute: d.getUTCMinutes() };
}

const NO_HOURS = { day: null, hour: null, within: null } as const;

function withinHours(ms: number, manifest: AgentManifest): { day: Weekday | null; hour: number | null; within: boolean | null } {
  const hours = manifest.runtime?.allowedHours;
  if (!hours) return NO_HOURS;
  const l = local(ms, hours.timezone);
  const minutes = l.hour * 60 + l.minute;
  const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  return { day: l.day, hour: l.hour, within: hours.days.includes(l.day) && minutes >= toMinutes(hours.start) && minutes < toMinutes(hours.end) };
}

interface Version {
  readonly seq: number;
  readonly from: number;
  readonly manifest: AgentManifest;
}

/** Builds events as ingest would stamp them. Event ids are assigned later, in arrival order. */
class Stamper {
  private n = 0;
  readonly raw: (Omit<TrailEvent, "seq" | "id"> & { key: number })[] = [];

  private readonly scopes = new Map<string, Map<Version, boolean>>();
  private readonly grants = new Map<Version, Permission[]>();

  constructor(private readonly versions: ReadonlyMap<string, readonly Version[]>) {}

  private granted(version: Version): Permission[] {
    let list = this.grants.get(version);
    if (!list) {
      list = version.manifest.tools.flatMap((t) => t.permissions).flatMap((raw) => {
        const p = parsePermission(raw);
        return p.ok ? [p.permission] : [];
      });
      this.grants.set(version, list);
    }
    return list;
  }

  private inForce(agent: string, ms: number): Version | undefined {
    let found: Version | undefined;
    for (const v of this.versions.get(agent) ?? []) if (v.from <= ms) found = v;
    return found;
  }

  add(e: {
    ms: number;
    delayMs: number;
    agent: string | null;
    principal: string;
    source: TrailSourceKind;
    system: TrailSystem | null;
    action: string;
    resource: string | null;
    instance?: string | null;
    outcome?: TrailEvent["outcome"];
    traceId: string | null;
    tool?: string | null;
    model?: string | null;
    inputTokens?: number | null;
    outputTokens?: number | null;
    detail?: Record<string, string>;
    inScope?: boolean | null;
  }): number {
    const key = this.n++;
    const version = e.agent === null ? undefined : this.inForce(e.agent, e.ms);
    const instance = e.instance ?? null;
    const permission = e.system !== null && e.system !== "tool" && e.resource !== null ? `${e.system}:${e.action}:${e.resource}${instance ? `@${instance}` : ""}` : null;
    let inScope: boolean | null = e.inScope ?? null;
    if (permission !== null && version && e.inScope === undefined) {
      let scope = this.scopes.get(permission)?.get(version);
      if (scope === undefined) {
        const wanted = parsePermission(permission);
        scope = wanted.ok && this.granted(version).some((g) => covers(g, wanted.permission));
        const byVersion = this.scopes.get(permission) ?? new Map<Version, boolean>();
        byVersion.set(version, scope);
        this.scopes.set(permission, byVersion);
      }
      inScope = scope;
    }
    const hours = version ? withinHours(e.ms, version.manifest) : { day: null, hour: null, within: null };
    const classKey = e.resource === null ? "" : e.resource.startsWith("cache:customers:") ? "cache:customers:*" : e.resource;
    this.raw.push({
      key,
      source: e.source,
      sourceInstance: instance ?? e.source,
      attested: e.source !== "otlp",
      sourceKey: `k${key}`,
      observedAt: new Date(e.ms).toISOString(),
      receivedAt: new Date(e.ms + e.delayMs).toISOString(),
      principal: e.principal,
      claimedAgent: e.source === "otlp" ? e.agent : null,
      tokenAgent: e.source === "otlp" ? e.agent : null,
      action: e.action,
      system: e.system,
      resource: e.resource,
      instance,
      outcome: e.outcome ?? "allowed",
      errorCode: e.outcome === "denied" ? "42501" : e.outcome === "error" ? "57014" : null,
      traceId: e.traceId,
      spanId: e.traceId === null ? null : e.traceId.slice(0, 16),
      tool: e.tool ?? null,
      model: e.model ?? null,
      inputTokens: e.inputTokens ?? null,
      outputTokens: e.outputTokens ?? null,
      detail: e.detail ?? {},
      agent: e.agent,
      permission,
      manifestSeq: version?.seq ?? null,
      manifestCommit: version ? version.seq.toString(16).padStart(40, "0") : null,
      inScope,
      localDay: hours.day,
      localHour: hours.hour,
      withinHours: hours.within,
      dataClasses: CATALOG[classKey] ?? [],
      flags: e.agent === null ? ["unattributed"] : [],
      hash: "",
    });
    return key;
  }
}

export interface ScenarioOptions {
  readonly seed: number;
  /** Leave the anomalies out: only normal traffic. */
  readonly normalOnly?: boolean;
}

export function buildScenario(options: ScenarioOptions): Scenario {
  const random = rng(options.seed);
  const specs = agentSpecs(random);
  const retired = specs[23] as AgentSpec;
  const changed = specs[2] as AgentSpec;
  const newTool: ToolSpec = { name: "ledger_export", permissions: ["postgres:select:finance.ledger.payouts@db2"] };
  const versions = new Map<string, Version[]>();
  let seq = 0;
  for (const spec of specs) versions.set(spec.id, [{ seq: ++seq, from: 0, manifest: manifestOf(spec) }]);
  versions.get(retired.id)?.push({ seq: ++seq, from: START + 10 * DAY, manifest: manifestOf(retired, [], "retired") });
  versions.get(changed.id)?.push({ seq: seq + 1, from: START + 15 * DAY, manifest: manifestOf(changed, [newTool]) });
  const stamper = new Stamper(versions);
  const hex8 = () => Math.floor(random() * 0x100000000).toString(16).padStart(8, "0");
  const trace = () => hex8() + hex8() + hex8() + hex8();
  const principalOf = (agent: string) => `charter_${agent.replaceAll("-", "_")}`;

  /** One task: an approval when needed, the tool span, its statements, a model call. */
  const task = (spec: AgentSpec, ms: number, tool: ToolSpec, opts: { approve?: "yes" | "no" | "refused"; tokens?: number } = {}): number[] => {
    const keys: number[] = [];
    const t = trace();
    if (spec.approvalTool === tool.name && opts.approve !== "no") {
      keys.push(stamper.add({ ms, delayMs: 400, agent: spec.id, principal: "approvals-service", source: "events", system: "tool", action: "approve", resource: tool.name, tool: tool.name, traceId: t, outcome: opts.approve === "refused" ? "denied" : "allowed", detail: { approver: "dana" } }));
    }
    keys.push(stamper.add({ ms: ms + 1_000, delayMs: 5_000, agent: spec.id, principal: spec.id, source: "otlp", system: "tool", action: "execute_tool", resource: tool.name, tool: tool.name, traceId: t, inScope: true }));
    const statements = 1 + Math.floor(random() * 3);
    for (let s = 0; s < statements; s++) {
      const permission = tool.permissions[Math.floor(random() * tool.permissions.length)] ?? "";
      keys.push(infra(spec, ms + 1_200 + s * 150, permission, t));
    }
    const input = opts.tokens ?? 1_500 + Math.floor(random() * 2_000);
    keys.push(stamper.add({ ms: ms + 3_000, delayMs: 5_000, agent: spec.id, principal: spec.id, source: "otlp", system: null, action: "chat", resource: null, traceId: t, model: "claude-sonnet-4-5-20250929", inputTokens: input, outputTokens: Math.floor(input / 4) }));
    return keys;
  };
  const infra = (spec: AgentSpec, ms: number, permission: string, t: string | null, outcome: TrailEvent["outcome"] = "allowed", inScope?: boolean): number => {
    const p = parsePermission(permission);
    if (!p.ok) throw new Error(`scenario permission ${permission}: ${p.reason}`);
    const { system, action, resource, instance } = p.permission;
    const source: TrailSourceKind = system === "postgres" ? "pgaudit" : system === "redis" ? "redis-acl" : "squid";
    const concrete = system === "redis" ? resource.replace("*", String(1000 + Math.floor(random() * 9000))) : resource;
    return stamper.add({ ms, delayMs: 300 + Math.floor(random() * 1_500), agent: spec.id, principal: principalOf(spec.id), source, system, action, resource: concrete, instance: instance ?? null, traceId: t, outcome, ...(inScope === undefined ? {} : { inScope }) });
  };
  /** A time within the agent's allowed hours on a day (10 minutes inside the edges), or undefined on a day off. */
  const workTime = (spec: AgentSpec, day: number, manifest: AgentManifest): number | undefined => {
    for (let tries = 0; tries < 200; tries++) {
      const ms = START + day * DAY + Math.floor(random() * DAY);
      if (!spec.tz) return ms;
      const a = withinHours(ms, manifest);
      const b = withinHours(ms + 10 * 60_000, manifest);
      const c = withinHours(ms - 10 * 60_000, manifest);
      if (a.within && b.within && c.within) return ms;
    }
    return undefined;
  };

  for (const spec of specs) {
    const manifest = manifestOf(spec);
    for (let day = 0; day < DAYS; day++) {
      if (spec === retired && day >= 10) break;
      const tasks = Math.round(spec.tasksPerDay * (0.75 + random() * 0.5));
      for (let k = 0; k < tasks; k++) {
        const ms = workTime(spec, day, manifest);
        if (ms === undefined) break;
        const tools = spec === changed && day >= 16 ? [...spec.tools, newTool] : spec.tools;
        task(spec, ms, tools[Math.floor(random() * tools.length)] ?? spec.tools[0] ?? newTool);
      }
      const ms = workTime(spec, day, manifest);
      // A weekly job: Wednesdays, now and then skipped.
      if (ms !== undefined && day % 7 === 2 && random() < 0.8) task(spec, ms, spec.rareTool);
      // An ordinary refusal now and then (an expired lease): in scope, one at a time.
      if (ms !== undefined && random() < 0.3) infra(spec, ms + 7_000, spec.tools[0]?.permissions[0] ?? "", null, "denied");
      if (ms !== undefined && random() < 0.3) infra(spec, ms + 9_000, spec.tools[0]?.permissions[0] ?? "", null, "error");
    }
  }

  const injectedKeys: { kind: AnomalyKind; agent: string | null; keys: number[] }[] = [];
  if (!options.normalOnly) {
    // Day 0 is Monday 2 March 2026; injections fall on weekdays so that only their own rule applies.
    const at = (day: number, hour: number, minute = 0) => START + day * DAY + hour * 3_600_000 + minute * 60_000;
    const s = (i: number) => specs[i] as AgentSpec;
    const inject = (kind: AnomalyKind, agent: string | null, keys: number[]) => injectedKeys.push({ kind, agent, keys });
    const noon = (spec: AgentSpec, day: number) => workTime(spec, day, manifestOf(spec)) ?? at(day, 12);

    inject("out-of-scope", s(1).id, [infra(s(1), noon(s(1), 17), "postgres:select:crm.public.payment_methods@db1", null)]);
    inject("out-of-scope", s(6).id, [infra(s(6), noon(s(6), 21), "postgres:select:hr.public.employees@db0", null, "denied")]);
    inject("out-of-scope", s(9).id, [infra(s(9), noon(s(9), 24), "http:post:api.payments.example/v1/refunds", null)]);
    // 02:30 local on a Wednesday (day 16 is 2026-03-18) for UTC and Berlin agents.
    inject("outside-hours", s(1).id, [infra(s(1), at(16, 2, 30), s(1).tools[0]?.permissions[0] ?? "", null)]);
    inject("outside-hours", s(2).id, [infra(s(2), at(22, 1, 30), s(2).tools[0]?.permissions[0] ?? "", null)]);
    inject("retired-agent", retired.id, [infra(retired, at(22, 11), retired.tools[0]?.permissions[0] ?? "", null)]);
    inject("unattributed", null, [stamper.add({ ms: at(18, 10), delayMs: 500, agent: null, principal: "svc_legacy", source: "pgaudit", system: "postgres", action: "select", resource: "crm.public.customers", instance: "db0", traceId: null })]);
    inject("unattributed", null, [stamper.add({ ms: at(25, 15), delayMs: 500, agent: null, principal: "mystery-proxy-user", source: "squid", system: "http", action: "get", resource: "api.example.com/v2/export", traceId: null })]);
    {
      const spec = s(5);
      const start = noon(spec, 22);
      const keys: number[] = [];
      for (let k = 0; k < spec.maxRpm + 80; k++) keys.push(infra(spec, start + Math.floor((k * 50_000) / (spec.maxRpm + 80)), spec.tools[0]?.permissions[0] ?? "", null));
      inject("rate-limit", spec.id, keys);
    }
    {
      const spec = s(7);
      const start = noon(spec, 21);
      const keys: number[] = [];
      // Tokens for well over the day's budget at $3 / $15 per million.
      const calls = 20;
      const tokens = Math.ceil(((spec.maxCost * 1.5) / calls / (3 + 15 / 4)) * 1_000_000);
      for (let k = 0; k < calls; k++) keys.push(...task(spec, start + k * 6_000, spec.tools[0] ?? newTool, { tokens }));
      inject("cost-limit", spec.id, keys);
    }
    {
      const spec = s(0);
      const refund = spec.tools.find((t) => t.name === "refund") ?? newTool;
      inject("approval-missing", spec.id, task(spec, noon(spec, 18), refund, { approve: "no" }));
      inject("approval-missing", spec.id, task(spec, noon(spec, 23), refund, { approve: "refused" }));
    }
    {
      const spec = s(10);
      const start = noon(spec, 17);
      const keys: number[] = [];
      for (let k = 0; k < 8; k++) keys.push(infra(spec, start + k * 2_500, spec.tools[0]?.permissions[0] ?? "", null, "denied"));
      inject("denied-burst", spec.id, keys);
    }
    for (const [i, day] of [[3, 18], [11, 22], [14, 25]] as const) inject("first-seen", s(i).id, [infra(s(i), noon(s(i), day), s(i).unused, null)]);
    for (const [i, day] of [[12, 24], [17, 25]] as const) {
      const spec = s(i);
      const keys: number[] = [];
      for (let k = 0; k < spec.tasksPerDay * 5; k++) {
        const ms = workTime(spec, day, manifestOf(spec));
        if (ms !== undefined) keys.push(...task(spec, ms, spec.tools[k % spec.tools.length] ?? newTool));
      }
      inject("volume", spec.id, keys);
    }
  }

  // The trail's order is arrival order: receivedAt, ties broken by creation.
  const sorted = [...stamper.raw].sort((a, b) => (a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : a.key - b.key));
  const idOf = new Map<number, string>();
  const events: TrailEvent[] = sorted.map((e, i) => {
    const { key, ...rest } = e;
    const id = `ev-${String(key).padStart(7, "0")}`;
    idOf.set(key, id);
    return { ...rest, id, seq: i + 1 };
  });
  const manifests: ManifestVersion[] = [...versions].flatMap(([agent, list]) => list.map((v) => ({ agent, seq: v.seq, manifest: v.manifest })));
  return {
    manifests,
    events,
    injected: injectedKeys.map((j) => ({ kind: j.kind, agent: j.agent, eventIds: j.keys.map((k) => idOf.get(k) ?? "") })),
    agents: specs.map((s) => s.id),
  };
}

/** Prices for the scenario's model, as detection/settings.yml would give them. */
export const SCENARIO_PRICES = [{ model: "claude-sonnet-4-5*", inputUsdPerMillionTokens: 3, outputUsdPerMillionTokens: 15 }];
