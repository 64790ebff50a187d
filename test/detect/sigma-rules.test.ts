import { describe, expect, it } from "vitest";
import { Detector } from "../../src/detect/detector.js";
import { EventView } from "../../src/detect/event-fields.js";
import { manifestCatalog } from "../../src/detect/manifests-in-force.js";
import { loadRules } from "../../src/detect/sigma/load-rules.js";
import type { TrailEvent } from "../../src/trail/event.js";
import { series, trailEvent } from "./trail-events.js";

const FILE = "detection/rules/test.yml";

function load(text: string) {
  return loadRules([{ path: FILE, bytes: new TextEncoder().encode(text) }]);
}

function rule(detection: string, extra = ""): string {
  return `title: Test rule\nid: 6f1e0c2a-0000-4000-8000-00000000000a\nlogsource: { product: charter }\n${extra}detection:\n${detection}`;
}

/** Whether the one rule of `text` matches the event. */
function matches(text: string, event: TrailEvent): boolean {
  const { rules, diagnostics } = load(text);
  expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const [only] = rules.detections;
  if (!only) throw new Error("no rule compiled");
  return only.matches(new EventView().reset(event, undefined));
}

describe("Sigma selections over trail events", () => {
  const e = trailEvent({ resource: "crm.public.customers", detail: { statement_class: "READ", client_addr: "10.1.2.3" }, dataClasses: ["customer-pii", "internal"], inputTokens: 1200 });

  it.each([
    ["plain equality is case-insensitive", "  sel:\n    action: SELECT\n  condition: sel", true],
    ["cased equality is not", "  sel:\n    action|cased: SELECT\n  condition: sel", false],
    ["wildcards * and ?", "  sel:\n    resource: 'crm.*.cust?mers'\n  condition: sel", true],
    ["an escaped star is literal", "  sel:\n    resource: 'crm\\*'\n  condition: sel", false],
    ["contains", "  sel:\n    resource|contains: public.cust\n  condition: sel", true],
    ["startswith", "  sel:\n    resource|startswith: crm.\n  condition: sel", true],
    ["endswith", "  sel:\n    resource|endswith: .orders\n  condition: sel", false],
    ["a list of values is any of them", "  sel:\n    action: [insert, select]\n  condition: sel", true],
    ["all needs every value", "  sel:\n    resource|contains|all: [crm, orders]\n  condition: sel", false],
    ["all on a list field needs each value in some element", "  sel:\n    dataClasses|all: [customer-pii, internal]\n  condition: sel", true],
    ["a list field matches when any element does", "  sel:\n    dataClasses: internal\n  condition: sel", true],
    ["re, case-sensitive", "  sel:\n    resource|re: '^crm\\.public\\.(customers|orders)$'\n  condition: sel", true],
    ["re|i", "  sel:\n    action|re|i: '^SEL'\n  condition: sel", true],
    ["cidr", "  sel:\n    detail.client_addr|cidr: 10.0.0.0/8\n  condition: sel", true],
    ["cidr outside", "  sel:\n    detail.client_addr|cidr: 192.168.0.0/16\n  condition: sel", false],
    ["gte", "  sel:\n    inputTokens|gte: 1200\n  condition: sel", true],
    ["gt", "  sel:\n    inputTokens|gt: 1200\n  condition: sel", false],
    ["lt on an absent number", "  sel:\n    outputTokens|lt: 5\n  condition: sel", false],
    ["exists", "  sel:\n    tool|exists: false\n  condition: sel", true],
    ["null means absent", "  sel:\n    errorCode: null\n  condition: sel", true],
    ["booleans", "  sel:\n    inScope: true\n    withinHours: true\n  condition: sel", true],
    ["numbers", "  sel:\n    manifestSeq: 7\n  condition: sel", true],
    ["neq", "  sel:\n    outcome|neq: denied\n  condition: sel", true],
    ["fieldref", "  sel:\n    claimedAgent|fieldref: agent\n  condition: sel", false],
    ["detail fields", "  sel:\n    detail.statement_class: read\n  condition: sel", true],
    ["an inherited name is not a detail field", "  sel:\n    detail.constructor|exists: true\n  condition: sel", false],
    ["a list of mappings is any of them", "  sel:\n    - action: insert\n    - resource|endswith: customers\n  condition: sel", true],
    ["and not", "  sel:\n    action: select\n  filter:\n    agent: support-*\n  condition: sel and not filter", false],
    ["or with parentheses", "  a:\n    action: insert\n  b:\n    outcome: allowed\n  c:\n    agent: nobody\n  condition: (a or b) and not c", true],
    ["1 of a pattern", "  sel_a:\n    action: insert\n  sel_b:\n    action: select\n  condition: 1 of sel_*", true],
    ["all of a pattern", "  sel_a:\n    action: insert\n  sel_b:\n    action: select\n  condition: all of sel_*", false],
    ["all of them leaves out _helpers", "  a:\n    action: select\n  _never:\n    action: drop\n  condition: all of them", true],
  ])("%s", (_name, detection, expected) => {
    expect(matches(rule(detection), e)).toBe(expected);
  });

  it("logsource category and service narrow the rule to a system and a source", () => {
    const text = (ls: string) => `title: t\nid: x1\nlogsource: { product: charter, ${ls} }\ndetection:\n  sel:\n    action: select\n  condition: sel`;
    expect(matches(text("category: postgres"), e)).toBe(true);
    expect(matches(text("category: http"), e)).toBe(false);
    expect(matches(text("service: otlp"), e)).toBe(false);
  });
});

describe("rule files with problems", () => {
  const where = (text: string) =>
    load(text).diagnostics.map((d) => `${d.line}:${d.column} ${d.severity} ${d.rule} ${d.message}`);

  it("points at the line and column of each problem, with the rule code", () => {
    const out = where(rule("  sel:\n    resourc|contains: x\n    action|base64: y\n  condition: sel and other"));
    expect(out).toEqual([
      expect.stringMatching(/^6:5 error sigma\/unknown-field unknown field "resourc"/),
      expect.stringMatching(/^7:5 error sigma\/unsupported modifier "base64" is not supported/),
      expect.stringMatching(/^8:14 error sigma\/condition .*"other" is not a selection/),
    ]);
  });

  it("suggests the field a misspelt name was meant to be, and lists what is supported", () => {
    const [d] = load(rule("  sel:\n    resourc: x\n  condition: sel")).diagnostics;
    expect(d?.fix).toContain("Did you mean resource?");
    const [m] = load(rule("  sel:\n    resource|windash: x\n  condition: sel")).diagnostics;
    expect(m?.fix).toContain("Supported modifiers: contains, startswith, endswith");
  });

  it("refuses a backtracking regex feature at its line, naming the supported subset", () => {
    const [d] = load(rule("  sel:\n    resource|re: '(a+)\\1'\n  condition: sel")).diagnostics;
    expect(d).toMatchObject({ line: 6, rule: "sigma/regex", severity: "error" });
    expect(d?.message).toContain("backreferences are not supported");
    expect(d?.message).toContain("supported:");
  });

  it.each([
    ["a missing id", "title: t\nlogsource: { product: charter }\ndetection:\n  sel:\n    action: x\n  condition: sel", "sigma/required", "missing id"],
    ["another product's rule", "title: t\nid: a\nlogsource: { product: windows }\ndetection:\n  sel:\n    action: x\n  condition: sel", "sigma/logsource", "allowed: charter"],
    ["keyword search", "title: t\nid: a\nlogsource: { product: charter }\ndetection:\n  keywords: [mimikatz]\n  condition: keywords", "sigma/unsupported", "keywords"],
    ["a v1 aggregation", "title: t\nid: a\nlogsource: { product: charter }\ndetection:\n  sel:\n    action: x\n  condition: sel | count() > 5", "sigma/condition", "correlation rule"],
    ["uppercase keywords", "title: t\nid: a\nlogsource: { product: charter }\ndetection:\n  sel:\n    action: x\n  condition: sel AND sel", "sigma/condition", 'Write "and"'],
    ["a gt on a string", "title: t\nid: a\nlogsource: { product: charter }\ndetection:\n  sel:\n    seq|gt: many\n  condition: sel", "sigma/value", "compares numbers"],
    ["a bad CIDR block", "title: t\nid: a\nlogsource: { product: charter }\ndetection:\n  sel:\n    principal|cidr: 10.0.0.0/33\n  condition: sel", "sigma/value", "not a CIDR block"],
    ["a correlation with lt", "title: c\nid: c\ncorrelation:\n  type: event_count\n  rules: [r]\n  timespan: 5m\n  condition: { lt: 3 }\n---\ntitle: r\nid: r\nlogsource: { product: charter }\ndetection:\n  sel:\n    action: x\n  condition: sel", "sigma/unsupported", "only a count that reaches a threshold"],
    ["a correlation naming a rule of another file", "title: c\nid: c\ncorrelation:\n  type: event_count\n  rules: [elsewhere]\n  timespan: 5m\n  condition: { gte: 3 }", "sigma/reference", "its own file"],
    ["aliases", "title: c\nid: c\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  timespan: 5m\n  aliases: {}\n", "sigma/unsupported", "aliases"],
  ])("reports %s", (_name, text, code, words) => {
    const found = load(text).diagnostics.find((d) => d.rule === code);
    expect(found, JSON.stringify(load(text).diagnostics)).toBeDefined();
    expect(`${found?.message ?? ""} ${found?.fix ?? ""}`).toContain(words);
  });

  it("refuses billion-laughs aliases and prototype keys through the manifest parser's limits", () => {
    const laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + Array.from({ length: 60 }, (_, i) => `b${i}: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]`).join("\n");
    expect(load(laughs).diagnostics[0]?.rule).toMatch(/yaml\/(alias-limit|too-many-nodes)/);
    expect(load(rule("  sel:\n    __proto__: x\n  condition: sel")).diagnostics[0]?.rule).toBe("yaml/forbidden-key");
  });

  it("flags a rule that matches most of the reference traffic, at its detection line, and not a narrow one", () => {
    const broad = load(rule("  sel:\n    outcome: allowed\n  condition: sel")).diagnostics;
    expect(broad).toEqual([expect.objectContaining({ rule: "sigma/too-broad", severity: "warning", line: 4 })]);
    expect(load(rule("  sel:\n    outcome: allowed\n  filter:\n    agent: support-triage\n  condition: not filter")).diagnostics.map((d) => d.rule)).toContain("sigma/too-broad");
    expect(load(rule("  sel:\n    withinHours: false\n    dataClasses: customer-pii\n  condition: sel")).diagnostics).toEqual([]);
  });
});

describe("correlations, as events arrive", () => {
  const manifests = manifestCatalog([]);
  const run = (text: string, events: readonly TrailEvent[]) => {
    const { rules, diagnostics } = load(text);
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const detector = new Detector({ manifests, rules });
    return events.flatMap((e) => detector.process(e).alerts).filter((a) => a.rule.kind === "correlation" || a.rule.kind === "sigma");
  };
  const denied = "title: Denied select\nid: denied-select\nname: denied_select\nlogsource: { product: charter }\ndetection:\n  sel:\n    outcome: denied\n  condition: sel\n";

  it("event_count fires at the threshold within the timespan, per group, and starts over", () => {
    const text = `title: Many denials\nid: many-denials\nlevel: high\ncorrelation:\n  type: event_count\n  rules: [denied_select]\n  group-by: [agent]\n  timespan: 1m\n  condition: { gte: 3 }\n---\n${denied}`;
    const events = [
      ...series(2, "2026-03-04T10:00:00Z", 10_000, () => ({ outcome: "denied", agent: "a" })),
      ...series(1, "2026-03-04T10:00:05Z", 0, () => ({ outcome: "denied", agent: "b" })),
      ...series(1, "2026-03-04T10:01:30Z", 0, () => ({ outcome: "denied", agent: "a" })),
      ...series(3, "2026-03-04T10:05:00Z", 5_000, () => ({ outcome: "denied", agent: "a" })),
    ];
    const alerts = run(text, events);
    expect(alerts.map((a) => [a.rule.id, a.agent, a.eventCount, a.severity])).toEqual([["many-denials", "a", 3, "high"]]);
    expect(alerts[0]?.events.map((e) => e.observedAt)).toEqual(["2026-03-04T10:05:00.000Z", "2026-03-04T10:05:05.000Z", "2026-03-04T10:05:10.000Z"]);
  });

  it("a referenced rule raises no alert of its own unless generate is true", () => {
    const base = `title: c\nid: c\ncorrelation:\n  type: event_count\n  rules: [denied_select]\n  timespan: 1m\n  condition: { gte: 100 }\n`;
    const events = series(2, "2026-03-04T10:00:00Z", 1_000, () => ({ outcome: "denied" }));
    expect(run(`${base}---\n${denied}`, events)).toEqual([]);
    expect(run(`${base}  generate: true\n---\n${denied}`, events).map((a) => a.rule.id)).toEqual(["denied-select"]);
  });

  it("value_count counts distinct values of a field", () => {
    const text = `title: Many tables\nid: many-tables\ncorrelation:\n  type: value_count\n  rules: [reads]\n  group-by: [agent]\n  timespan: 10m\n  condition: { gte: 3, field: resource }\n---\ntitle: r\nid: reads\nname: reads\nlogsource: { product: charter, category: postgres }\ndetection:\n  sel:\n    action: select\n  condition: sel\n`;
    const same = series(5, "2026-03-04T10:00:00Z", 1_000, () => ({ resource: "crm.public.customers" }));
    expect(run(text, same)).toEqual([]);
    const spread = series(3, "2026-03-04T11:00:00Z", 1_000, (i) => ({ resource: ["t1", "t2", "t3"][i] ?? "t" }));
    expect(run(text, spread).map((a) => a.eventCount)).toEqual([3]);
  });

  it("temporal needs every rule within the timespan; temporal_ordered also their order", () => {
    const two = `---\ntitle: a\nid: ra\nname: ra\nlogsource: { product: charter }\ndetection:\n  sel:\n    action: login\n  condition: sel\n---\ntitle: b\nid: rb\nname: rb\nlogsource: { product: charter }\ndetection:\n  sel:\n    action: export\n  condition: sel\n`;
    const temporal = (type: string) => `title: t\nid: t\ncorrelation:\n  type: ${type}\n  rules: [ra, rb]\n  group-by: [agent]\n  timespan: 5m\n${two}`;
    const exportThenLogin = [trailEvent({ action: "export", observedAt: "2026-03-04T10:00:00Z" }), trailEvent({ action: "login", observedAt: "2026-03-04T10:01:00Z" })];
    expect(run(temporal("temporal"), exportThenLogin)).toHaveLength(1);
    expect(run(temporal("temporal_ordered"), exportThenLogin)).toHaveLength(0);
    const loginThenExport = [trailEvent({ action: "login", observedAt: "2026-03-04T10:00:00Z" }), trailEvent({ action: "export", observedAt: "2026-03-04T10:01:00Z" })];
    expect(run(temporal("temporal_ordered"), loginThenExport)).toHaveLength(1);
    const tooFarApart = [trailEvent({ action: "login", observedAt: "2026-03-04T10:00:00Z" }), trailEvent({ action: "export", observedAt: "2026-03-04T10:06:00Z" })];
    expect(run(temporal("temporal"), tooFarApart)).toHaveLength(0);
  });

  it("keeps a bounded number of groups whatever the attacker-chosen group-by values", () => {
    const text = `title: c\nid: c\ncorrelation:\n  type: event_count\n  rules: [reads]\n  group-by: [resource]\n  timespan: 1h\n  condition: { gte: 2 }\n---\ntitle: r\nid: reads\nname: reads\nlogsource: { product: charter }\ndetection:\n  sel:\n    action: select\n  condition: sel\n`;
    const { rules } = load(text);
    const detector = new Detector({ manifests, rules });
    for (const e of series(12_000, "2026-03-04T10:00:00Z", 10, (i) => ({ resource: `t${i}` }))) detector.process(e);
    const groups = detector.snapshot().rules["sigma:detection/rules/test.yml#c"] as unknown[];
    expect(groups.length).toBeLessThanOrEqual(10_000);
  });
});
