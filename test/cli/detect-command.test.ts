import { afterEach, describe, expect, it } from "vitest";
import type { Alert } from "../../src/detect/alert.js";
import type { TrailEvent } from "../../src/trail/event.js";
import { agentFiles, VALID_MANIFEST } from "../helpers/manifests.js";
import { type TempRepo, tempRepo } from "../helpers/temp-repo.js";
import { trailEvent } from "../detect/trail-events.js";
import { runCli } from "./run-cli.js";

let repo: TempRepo | undefined;
afterEach(() => repo?.remove());

const MANIFEST = `${VALID_MANIFEST}runtime:\n  maxRequestsPerMinute: 3\n`;
const RULE = `title: Orders read outside hours
id: 0b9c7e52-3a51-4d7e-9c4e-5f2f4d0d7a11
logsource: { product: charter, category: postgres }
level: high
detection:
  selection:
    resource|endswith: .orders
    withinHours: false
  condition: selection
`;

const ndjson = (events: readonly TrailEvent[]) => events.map((e) => JSON.stringify(e)).join("\n") + "\n";
const as = (o: Partial<TrailEvent>) => trailEvent({ agent: "sample-agent", principal: "charter_sample_agent", resource: "shop.public.orders", instance: "shop-prod", permission: "postgres:select:shop.public.orders@shop-prod", manifestSeq: 1, ...o });

function setup(events: readonly TrailEvent[], rule = RULE): TempRepo {
  return tempRepo({ ...agentFiles("sample-agent", MANIFEST), "detection/rules/orders.yml": rule, "events.ndjson": ndjson(events) });
}

describe("charter detect", () => {
  it("runs the built-in rules and the repository's Sigma rules over a file, exits 1 with alerts, as JSON", async () => {
    repo = setup([
      as({ seq: 1, observedAt: "2026-03-04T02:00:00Z", withinHours: false }),
      as({ seq: 2, observedAt: "2026-03-04T10:00:00Z", inScope: false, resource: "shop.public.payments", permission: "postgres:select:shop.public.payments@shop-prod" }),
      as({ seq: 3, observedAt: "2026-03-04T10:00:01Z", agent: null, principal: "svc_unknown", flags: ["unattributed"] }),
    ]);
    const { code, stdout, stderr } = await runCli(["detect", "--events", "events.ndjson", "--format", "json"], repo.root);
    expect(stderr).toBe("");
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as { events: number; alerts: Alert[]; rules: { id: string; matches: number; broad: boolean }[] };
    expect(report.events).toBe(3);
    expect(report.alerts.map((a) => [a.rule.id, a.agent])).toEqual([
      ["charter/outside-hours", "sample-agent"],
      ["0b9c7e52-3a51-4d7e-9c4e-5f2f4d0d7a11", "sample-agent"],
      ["charter/out-of-scope", "sample-agent"],
      ["charter/unattributed", null],
    ]);
    expect(report.alerts[0]?.owners).toEqual(["@alice", "@acme/support"]);
    expect(report.alerts[1]).toMatchObject({ rule: { kind: "sigma", file: "detection/rules/orders.yml" }, severity: "high" });
    expect(report.rules).toEqual([expect.objectContaining({ id: "0b9c7e52-3a51-4d7e-9c4e-5f2f4d0d7a11", matches: 1, broad: false })]);
  });

  it("reads the manifest's runtime limits from the working tree, and prints a table", async () => {
    repo = setup([1, 2, 3, 4].map((s) => as({ seq: s, observedAt: `2026-03-04T10:00:0${s}Z` })));
    const { code, stdout } = await runCli(["detect", "--events", "events.ndjson"], repo.root);
    expect(code).toBe(1);
    expect(stdout).toContain("1 alert in 4 events:");
    // customer-pii raises the rule's own medium to high.
    expect(stdout).toMatch(/high\s+charter\/rate-limit\s+sample-agent/);
    expect(stdout).toContain("sample-agent made 4 requests within 60 seconds; its manifest allows 3 per minute");
  });

  it("exits 0 when nothing fires", async () => {
    repo = setup([as({ seq: 1 })]);
    expect(await runCli(["detect", "--events", "events.ndjson"], repo.root)).toMatchObject({ code: 0, stdout: expect.stringContaining("No alerts in 1 events.") as string });
  });

  it("flags a rule that matches most events, before running it (reference traffic) and after (the file's events)", async () => {
    const everything = RULE.replace("logsource: { product: charter, category: postgres }", "logsource: { product: charter }").replace("    resource|endswith: .orders\n    withinHours: false", "    outcome: allowed");
    repo = setup(Array.from({ length: 30 }, (_, i) => as({ seq: i + 1, observedAt: new Date(Date.parse("2026-03-04T10:00:00Z") + i * 30_000).toISOString() })), everything);
    const { code, stdout, stderr } = await runCli(["detect", "--events", "events.ndjson", "--rules", "detection/rules"], repo.root);
    expect(stderr).toContain("sigma/too-broad");
    expect(code).toBe(1);
    expect(stdout).toContain("← fires on most events: narrow it");
  });

  it("refuses rules with errors, naming file, line and fix, and evaluates nothing", async () => {
    repo = setup([as({ seq: 1 })], RULE.replace("resource|endswith", "resource|base64offset"));
    const { code, stdout, stderr } = await runCli(["detect", "--events", "events.ndjson"], repo.root);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain('detection/rules/orders.yml:7:5  sigma/unsupported  modifier "base64offset" is not supported\n    fix: Supported modifiers:');
  });

  it("refuses a bad events file line by line, and events out of trail order", async () => {
    repo = setup([as({ seq: 2 }), as({ seq: 1 })]);
    repo.write({ "bad.ndjson": '{"seq": 1}\nnot json\n' });
    const bad = await runCli(["detect", "--events", "bad.ndjson"], repo.root);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("bad.ndjson:1: id must be a string");
    expect(bad.stderr).toContain("bad.ndjson:2: not a JSON object");
    const disorder = await runCli(["detect", "--events", "events.ndjson"], repo.root);
    expect(disorder.stderr).toContain("events.ndjson:2: seq 1 follows seq 2; events must be in trail order");
    const missing = await runCli(["detect", "--events", "nope.ndjson"], repo.root);
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining("cannot read the events file") as string });
    const usage = await runCli(["detect"], repo.root);
    expect(usage).toMatchObject({ code: 2, stderr: expect.stringContaining("--events FILE is required") as string });
  });
});
