import fc from "fast-check";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { Detector } from "../../src/detect/detector.js";
import { EventView } from "../../src/detect/event-fields.js";
import { manifestCatalog } from "../../src/detect/manifests-in-force.js";
import { parseEventLine } from "../../src/detect/read-events.js";
import { compileRegex } from "../../src/detect/regex/linear-regex.js";
import { loadRules } from "../../src/detect/sigma/load-rules.js";
import { REFERENCE_EVENTS } from "../../src/detect/sigma/reference-traffic.js";
import type { TrailEvent } from "../../src/trail/event.js";

// A run longer than this is treated as a hang (runaway expansion), not as slowness.
const HANG = { timeout: 20_000, markInterruptAsFailure: true };
const FILE = "detection/rules/fuzz.yml";

const FIELDS = ["action", "resource", "agent", "outcome", "principal", "detail.status", "dataClasses", "flags", "seq", "localHour", "inScope", "withinHours", "traceId", "nosuchfield", "manifest.labels.team"];
const MODIFIERS = ["", "|contains", "|startswith", "|endswith", "|re", "|re|i", "|cidr", "|gt", "|gte", "|lt", "|lte", "|exists", "|cased", "|neq", "|all", "|contains|all", "|fieldref", "|base64", "|windash"];
const value = fc.oneof(fc.string({ maxLength: 12 }), fc.stringMatching(/^[a-z()|*+?.\\[\]{}^$0-9-]{0,16}$/), fc.integer({ min: -5, max: 5000 }), fc.boolean(), fc.constant(null), fc.constantFrom("10.0.0.0/8", "::1/128", "*", "?"));
const anyItem = fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom(...MODIFIERS), fc.oneof(value, fc.array(value, { maxLength: 4 })));
// Mostly well-formed items, so that the evaluator is reached and not only the error paths.
const goodItem = fc.oneof(
  fc.tuple(fc.constantFrom("action", "resource", "agent", "principal", "detail.status", "dataClasses", "flags"), fc.constantFrom("", "|contains", "|startswith", "|endswith", "|cased", "|neq", "|contains|all"), fc.oneof(fc.string({ maxLength: 8 }), fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 3 }))),
  fc.tuple(fc.constantFrom("resource", "action", "principal"), fc.constantFrom("|re", "|re|i"), fc.constantFrom("^a+$", "(a+)+$", "x|y", "[a-z]{2,5}\\d", "(?i)sel.*")),
  fc.tuple(fc.constantFrom("seq", "localHour", "inputTokens"), fc.constantFrom("|gt", "|gte", "|lt", "|lte"), fc.integer({ min: 0, max: 100 })),
  fc.tuple(fc.constantFrom("principal"), fc.constant("|cidr"), fc.constantFrom("10.0.0.0/8", "::/0")),
  fc.tuple(fc.constantFrom("tool", "traceId"), fc.constant("|exists"), fc.boolean()),
);
const item = fc.oneof({ arbitrary: goodItem, weight: 6 }, { arbitrary: anyItem, weight: 1 });
const selection = fc.oneof({ arbitrary: fc.array(item, { minLength: 1, maxLength: 3 }).map((items) => Object.fromEntries(items.map(([f, m, v]) => [f + m, v]))), weight: 9 }, { arbitrary: fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }), weight: 1 });
const words = fc.array(fc.constantFrom("sel_a", "sel_b", "filter", "and", "or", "not", "(", ")", "1 of", "all of", "sel_*", "them", "|", "AND"), { minLength: 1, maxLength: 10 });

const rule = fc.record({
  title: fc.oneof({ arbitrary: fc.string({ minLength: 1, maxLength: 10 }), weight: 9 }, { arbitrary: fc.constant(""), weight: 1 }),
  id: fc.constantFrom("r1", "r2", "r1", "r2", "bad id!"),
  name: fc.constantFrom("r1", "r2", undefined),
  level: fc.constantFrom("low", "high", "critical", "bogus", undefined),
  logsource: fc.constantFrom({ product: "charter" }, { product: "charter" }, { product: "windows" }, { product: "charter", category: "postgres" }, undefined),
  detection: fc.record({ sel_a: selection, sel_b: selection, filter: selection, condition: fc.oneof({ arbitrary: fc.constantFrom("sel_a", "sel_a and not filter", "1 of sel_*", "all of them", "(sel_a or sel_b) and not filter"), weight: 5 }, { arbitrary: words.map((w) => w.join(" ")), weight: 1 }) }),
});
const correlation = fc.record({
  title: fc.constant("c"),
  id: fc.constant("c1"),
  correlation: fc.record({
    type: fc.constantFrom("event_count", "value_count", "temporal", "temporal_ordered", "value_sum"),
    rules: fc.constantFrom(["r1"], ["r1", "r2"], ["missing"], "r1"),
    "group-by": fc.constantFrom(["agent"], ["resource", "agent"], [], ["nope"]),
    timespan: fc.constantFrom("30s", "5m", "1h", "8d", "soon"),
    condition: fc.constantFrom({ gte: 2 }, { gt: 0 }, { gte: 3, field: "resource" }, { lt: 2 }, undefined),
  }),
});

const event = fc
  .record({
    action: fc.constantFrom("select", "insert", "execute_tool", "approve", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!"),
    resource: fc.oneof(fc.string({ maxLength: 40 }), fc.constant(null), fc.constant("a".repeat(2000) + "!")),
    agent: fc.constantFrom("a", "b", null),
    outcome: fc.constantFrom("allowed", "denied", "error"),
    principal: fc.oneof(fc.constantFrom("10.1.2.3", "::ffff:10.0.0.1", "fe80::1%eth0"), fc.string({ maxLength: 20 })),
    detail: fc.dictionary(fc.constantFrom("status", "__proto__", "constructor"), fc.string({ maxLength: 10 }), { maxKeys: 3 }),
    dataClasses: fc.array(fc.constantFrom("customer-pii", "financial"), { maxLength: 2 }),
    offset: fc.integer({ min: 0, max: 3_600_000 }),
  })
  .map(({ offset, ...o }): TrailEvent => ({ ...(REFERENCE_EVENTS[0] as TrailEvent), ...o, detail: { ...o.detail }, seq: 1, id: `e${offset}`, observedAt: new Date(Date.parse("2026-03-04T10:00:00Z") + offset).toISOString() }));

describe("the Sigma subset never throws or hangs", () => {
  it("on arbitrary bytes as a rule file", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const { diagnostics } = loadRules([{ path: FILE, bytes }]);
        for (const d of diagnostics) expect(d.line).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 200, ...HANG },
    );
  });

  it("on random rules (valid or not) evaluated over random events, each line of every problem positioned", () => {
    let compiled = 0;
    fc.assert(
      fc.property(fc.array(fc.oneof(rule, correlation), { minLength: 1, maxLength: 3 }), fc.array(event, { maxLength: 20 }), (docs, events) => {
        const text = docs.map((d) => stringify(d)).join("---\n");
        const { rules, diagnostics } = loadRules([{ path: FILE, bytes: new TextEncoder().encode(text) }]);
        for (const d of diagnostics) {
          expect(d.line).toBeGreaterThanOrEqual(1);
          expect(d.rule).toMatch(/^[a-z]+\/[a-z-]+$/);
          expect(d.fix.length).toBeGreaterThan(0);
        }
        compiled += rules.detections.length;
        const view = new EventView();
        for (const r of rules.detections) for (const e of events) expect(typeof r.matches(view.reset(e, undefined))).toBe("boolean");
        const detector = new Detector({ manifests: manifestCatalog([]), rules });
        events.forEach((e, i) => detector.process({ ...e, seq: i + 1 }));
        detector.finish();
      }),
      { numRuns: 300, ...HANG },
    );
    // The generator must reach the evaluator, not only the error paths.
    expect(compiled).toBeGreaterThan(10);
  });

  it("on random regular expressions over hostile input: compiled or refused, and linear when run", () => {
    const input = "a".repeat(3000) + "!";
    fc.assert(
      fc.property(fc.stringMatching(/^[a()|*+?.\\[\]{}^$0-9,:=!<>dws-]{0,30}$/), (pattern) => {
        const compiled = compileRegex(pattern);
        if (!compiled.ok) {
          expect(compiled.message.length).toBeGreaterThan(0);
          return;
        }
        const run = compiled.regex.testCounted(input);
        expect(run.steps).toBeLessThanOrEqual((input.length + 1) * compiled.regex.size * 2);
      }),
      { numRuns: 500, ...HANG },
    );
  });

  it("on arbitrary lines as trail events: parsed or refused with the field, never a throw", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), event.map((e) => JSON.stringify({ ...e, extra: undefined }))), (line) => {
        const parsed = parseEventLine(line);
        if (!parsed.ok) expect(parsed.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 500, ...HANG },
    );
  });
});
