import { Detector } from "../src/detect/detector.js";
import { manifestCatalog, type ManifestVersion } from "../src/detect/manifests-in-force.js";
import { loadRules, type RuleSet } from "../src/detect/sigma/load-rules.js";
import { resolveSettings } from "../src/detect/settings.js";
import type { AgentManifest } from "../src/schema-types/agent-manifest.generated.js";
import type { TrailEvent, TrailSourceKind, TrailSystem } from "../src/trail/event.js";
import { compare, report, round } from "./measure.js";

/**
 * The detection engine's share of "ingest to alert record": throughput with 50 Sigma rules loaded
 * (and every built-in rule and baseline) against a plain pass over the same events, and
 * per-event latency at a sustained 10,000 events/s, from the moment an event is due to the
 * moment its alerts are out. Sizes can be lowered for the smoke test.
 */
const EVENTS = Number(process.env["CHARTER_BENCH_DETECT_EVENTS"] ?? 200_000);
const SECONDS = Number(process.env["CHARTER_BENCH_DETECT_SECONDS"] ?? 10);
const RATE = 10_000;
const AGENTS = 60;
const ROUNDS = 5;

const SYSTEMS: readonly [TrailSourceKind, TrailSystem, readonly string[], readonly string[]][] = [
  ["pgaudit", "postgres", ["select", "select", "insert", "update"], ["crm.public.customers", "crm.public.orders", "finance.ledger.entries", "helpdesk.public.tickets"]],
  ["squid", "http", ["get", "post"], ["api.payments.example/v1/refunds", "api.example.com/v2/search"]],
  ["redis-acl", "redis", ["read", "write"], ["cache:customers:1", "cache:sessions:2"]],
  ["otlp", "tool", ["execute_tool"], ["crm_lookup", "refund", "summarize"]],
];

/** 60 agents with generous runtime limits, so that alerts come from the rules under test. */
export function manifests(): ManifestVersion[] {
  return Array.from({ length: AGENTS }, (_, i) => {
    const id = `agent-${i}`;
    const manifest: AgentManifest = {
      apiVersion: "charter/v1",
      kind: "Agent",
      id,
      name: id,
      purpose: "A benchmark agent.",
      status: "active",
      environment: "production",
      owners: [{ team: "acme/platform" }],
      dataClassifications: ["customer-pii"],
      model: { provider: "anthropic", name: "claude-sonnet-4-5", version: "20250929" },
      prompts: [],
      tools: [{ name: "crm_lookup", permissions: ["postgres:select:crm.public.customers@db"] }],
      credentials: { provider: "postgres", maxLifetime: "1h" },
      runtime: { maxRequestsPerMinute: 100_000, maxCostPerDayUsd: 1_000_000 },
    };
    return { agent: id, seq: i + 1, manifest };
  });
}

export function events(count: number, start: number, stepMs: number): TrailEvent[] {
  let state = 0x9e3779b9;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  return Array.from({ length: count }, (_, i) => {
    const [source, system, actions, resources] = SYSTEMS[Math.floor(next() * SYSTEMS.length)] ?? SYSTEMS[0] ?? ["pgaudit", "postgres", [], []];
    const agent = `agent-${Math.floor(next() * AGENTS)}`;
    const action = actions[Math.floor(next() * actions.length)] ?? "select";
    const resource = resources[Math.floor(next() * resources.length)] ?? "x";
    const ms = start + i * stepMs;
    const trace = Math.floor(next() * 0xffffffff).toString(16).padStart(8, "0").repeat(4);
    return {
      id: `e${i}`,
      seq: i + 1,
      source,
      sourceInstance: source,
      attested: source !== "otlp",
      sourceKey: `k${i}`,
      observedAt: new Date(ms).toISOString(),
      receivedAt: new Date(ms + 200).toISOString(),
      principal: agent,
      claimedAgent: null,
      tokenAgent: null,
      action,
      system,
      resource,
      instance: system === "postgres" ? "db" : null,
      outcome: next() < 0.97 ? "allowed" : "denied",
      errorCode: null,
      traceId: trace,
      spanId: trace.slice(0, 16),
      tool: system === "tool" ? resource : null,
      model: system === "tool" ? "claude-sonnet-4-5" : null,
      inputTokens: system === "tool" ? 1_000 : null,
      outputTokens: system === "tool" ? 200 : null,
      detail: { client_addr: `10.0.${Math.floor(next() * 255)}.${Math.floor(next() * 255)}`, statement_class: "READ" },
      agent,
      permission: system === "tool" ? null : `${system}:${action}:${resource}`,
      manifestSeq: Number(agent.slice(6)) + 1,
      manifestCommit: "0".repeat(40),
      inScope: next() < 0.999,
      localDay: "wed",
      localHour: new Date(ms).getUTCHours(),
      withinHours: true,
      dataClasses: resource.startsWith("crm") ? ["customer-pii"] : [],
      flags: [],
      hash: "",
    } satisfies TrailEvent;
  });
}

/** 45 detection rules over every kind of selection and modifier, and 5 correlations. */
export function sigmaRules(): RuleSet {
  const selections = [
    "action: delete",
    "resource|contains: payment_methods",
    "resource|startswith: hr.",
    "resource|endswith: .employees",
    "resource|re: '^finance\\.ledger\\.(payouts|salaries)$'",
    "detail.client_addr|cidr: 192.168.0.0/16",
    "inputTokens|gt: 500000",
    "tool: [export_all, drop_table, shell]",
    "principal|re|i: '^(root|admin|postgres)$'",
    "detail.statement_class: DDL",
    "flags: agent-mismatch",
    "errorCode|exists: true\n    outcome: error",
  ];
  const docs: string[] = [];
  for (let i = 0; i < 45; i++) {
    const sel = selections[i % selections.length] ?? "action: x";
    docs.push(`title: Bench rule ${i}
id: bench-${i}
name: bench_${i}
logsource: { product: charter }
level: medium
detection:
  selection:
    ${sel}
  filter:
    agent: agent-${i}
  condition: selection and not filter
`);
  }
  const corr = (i: number, body: string) => `title: Bench correlation ${i}\nid: bench-corr-${i}\ncorrelation:\n${body}`;
  docs.push(corr(0, "  type: event_count\n  rules: [bench_0]\n  group-by: [agent]\n  timespan: 5m\n  condition: { gte: 50 }\n"));
  docs.push(corr(1, "  type: value_count\n  rules: [bench_1]\n  group-by: [agent]\n  timespan: 10m\n  condition: { gte: 20, field: resource }\n"));
  docs.push(corr(2, "  type: temporal\n  rules: [bench_2, bench_3]\n  group-by: [agent]\n  timespan: 5m\n"));
  docs.push(corr(3, "  type: temporal_ordered\n  rules: [bench_4, bench_5]\n  group-by: [agent]\n  timespan: 5m\n"));
  docs.push(corr(4, "  type: event_count\n  rules: [bench_6]\n  group-by: [agent, resource]\n  timespan: 1h\n  condition: { gt: 100 }\n  generate: true\n"));
  // A correlation lives in the file of the rules it joins; a file holds at most 20 documents.
  const correlated = [...docs.slice(0, 7), ...docs.slice(45)];
  const rest = docs.slice(7, 45);
  const files = [correlated, rest.slice(0, 19), rest.slice(19)].map((group, i) => ({ path: `detection/rules/bench-${i}.yml`, bytes: new TextEncoder().encode(group.join("---\n")) }));
  const { rules, diagnostics } = loadRules(files);
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(`bench rules: ${JSON.stringify(errors[0])}`);
  if (rules.detections.length + rules.correlations.length !== 50) throw new Error("expected 50 rules");
  return rules;
}

function detector(versions: readonly ManifestVersion[], rules: RuleSet): Detector {
  return new Detector({ manifests: manifestCatalog(versions), rules, settings: resolveSettings({ version: 1, prices: [{ model: "claude-*", inputUsdPerMillionTokens: 3, outputUsdPerMillionTokens: 15 }] }) });
}

/** What any detector must do per event at least: read its time and the fields rules look at. */
function plainPass(list: readonly TrailEvent[]): number {
  let sink = 0;
  for (const e of list) sink += Date.parse(e.observedAt) + Date.parse(e.receivedAt) + (e.agent?.length ?? 0) + (e.resource?.length ?? 0) + e.action.length + (e.outcome === "denied" ? 1 : 0);
  return sink;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

export async function run(): Promise<void> {
  const versions = manifests();
  const rules = sigmaRules();
  const list = events(EVENTS, Date.parse("2026-03-04T08:00:00Z"), 10);
  let alerts = 0;
  const timing = await compare(
    ROUNDS,
    () => {
      const d = detector(versions, rules);
      for (const e of list) alerts += d.process(e).alerts.length;
    },
    () => plainPass(list),
  );
  report({
    bench: "detect/throughput",
    events: EVENTS,
    sigmaRules: 50,
    engineMs: timing.candidateMs,
    eventsPerSecond: Math.round(EVENTS / (timing.candidateMs / 1000)),
    baselineMs: timing.baselineMs,
    baselineEventsPerSecond: Math.round(EVENTS / (timing.baselineMs / 1000)),
    ratio: timing.ratio,
    alertsPerRun: Math.round(alerts / (ROUNDS + 1)),
  });

  // Sustained rate: event i is due at start + i / RATE; its latency is from then until process() returns.
  const total = Math.max(1, Math.round(RATE * SECONDS));
  const paced = events(total, Date.parse("2026-03-05T08:00:00Z"), 1000 / RATE);
  const d = detector(versions, rules);
  const latencies = new Float64Array(total);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const start = performance.now();
  for (let i = 0; i < total; ) {
    const now = performance.now();
    const due = start + (i * 1000) / RATE;
    if (now < due) {
      Atomics.wait(pause, 0, 0, Math.min(1, due - now));
      continue;
    }
    // Everything due by now is processed back to back, as a batch from ingest would be.
    while (i < total && start + (i * 1000) / RATE <= now) {
      const event = paced[i];
      if (event) d.process(event);
      latencies[i] = performance.now() - (start + (i * 1000) / RATE);
      i++;
    }
  }
  const elapsed = (performance.now() - start) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  const p99 = percentile(sorted, 0.99);
  report({
    bench: "detect/latency",
    ratePerSecond: RATE,
    events: total,
    sigmaRules: 50,
    achievedPerSecond: Math.round(total / elapsed),
    p50Ms: round(percentile(sorted, 0.5), 3),
    p99Ms: round(p99, 3),
    maxMs: round(sorted[sorted.length - 1] ?? 0, 3),
    goalP99Ms: 2_000,
    // The engine's share of the 2 s budget from ingest to alert record.
    ratio: round(Math.max(p99, 0.001) / 2_000, 6),
  });
}
