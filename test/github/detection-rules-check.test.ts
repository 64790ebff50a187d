import { afterEach, describe, expect, it } from "vitest";
import { ownAgents } from "../helpers/agents-fixture.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

let fx: AppFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const RULE = `title: Customer data read outside allowed hours
id: 3d0b1c6e-6f0e-4f55-9a77-2c1a9c0e5b10
logsource: { product: charter }
level: high
detection:
  selection:
    dataClasses: customer-pii
    withinHours: false
  condition: selection
`;

function charterRun(f: AppFixture, sha: string) {
  const runs = f.sim.checkRunsFor(f.repo, sha).filter((run) => run.name === "Charter");
  const run = runs[runs.length - 1];
  if (!run) throw new Error("no Charter check run");
  return run;
}

describe("a pull request that changes detection rules", () => {
  it("is a governance change: critical, judged by the governance rule, validated without error", async () => {
    fx = await startCharter(ownAgents());
    const { sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "pii-rule", title: "Alert on off-hours PII", body: "", files: { "detection/rules/pii-off-hours.yml": RULE } });
    const run = charterRun(fx, sha);
    expect(run.conclusion).toBe("action_required");
    expect(run.output.summary).toContain("| governance | detection-changed | critical |");
    expect(run.output.summary).toContain("Governance files changed (detection/rules/pii-off-hours.yml)");
    expect(run.output.annotations).toEqual([]);
    expect(fx.sim.rejected).toEqual([]);
  });

  it("fails with an annotation on the line of each problem, saying what is supported", async () => {
    fx = await startCharter(ownAgents());
    const broken = RULE.replace("    withinHours: false", "    withinHours: false\n    resource|base64: secret\n    detail.query|re: '(a)\\1'");
    const { sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "broken-rule", title: "Rule", body: "", files: { "detection/rules/broken.yml": broken, "detection/settings.yml": "version: 1\ndeniedBurst: { count: 1 }\n" } });
    const run = charterRun(fx, sha);
    expect(run.conclusion).toBe("failure");
    expect(run.output.annotations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: "detection/rules/broken.yml", start_line: 9, annotation_level: "failure", title: "Charter sigma/unsupported" }),
        expect.objectContaining({ path: "detection/rules/broken.yml", start_line: 10, annotation_level: "failure", title: "Charter sigma/regex" }),
        expect.objectContaining({ path: "detection/settings.yml", start_line: 2, annotation_level: "failure", title: "Charter schema/range" }),
      ]),
    );
    const unsupported = run.output.annotations.find((a) => a.title === "Charter sigma/unsupported");
    expect(unsupported?.raw_details).toContain("Supported modifiers: contains, startswith");
  });

  it("flags, as a warning on the rule, a rule that would fire on most events", async () => {
    fx = await startCharter(ownAgents());
    const broad = RULE.replace("    dataClasses: customer-pii\n    withinHours: false", "    outcome: allowed");
    const { sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "broad-rule", title: "Rule", body: "", files: { "detection/rules/broad.yml": broad } });
    const run = charterRun(fx, sha);
    expect(run.conclusion).toBe("action_required");
    expect(run.output.annotations).toEqual([expect.objectContaining({ path: "detection/rules/broad.yml", start_line: 5, annotation_level: "warning", title: "Charter sigma/too-broad" })]);
  });
});
