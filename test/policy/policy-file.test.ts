import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AGENT_CHANGE_KINDS, GOVERNANCE_CHANGE_KINDS } from "../../src/change/change-set.js";
import { DEFAULT_POLICY } from "../../src/policy/default-policy.js";
import { parsePolicy } from "../../src/policy/load-policy.js";

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

describe("the policy file", () => {
  it("accepts a complete policy", () => {
    const result = parsePolicy(
      encode(`version: 1
rules:
  - name: Security reviews expansions
    when: { changes: [permission-added, permission-widened], dataClassifications: [customer-pii], minRisk: high }
    require:
      approvals: 1
      from: { teams: [acme/security] }
      checks: [{ name: evals, workflow: .github/workflows/evals.yml }, { name: scan, app: snyk }, { name: lint, app: 4242 }]
      sections: [Rollback plan, Testing]
governance:
  require: { approvals: 2, from: { permission: admin } }
emergency:
  label: emergency
  require: { approvals: 1, from: { owners: true } }
  retroReviewDays: 2
`),
    );
    expect(result).toMatchObject({ ok: true, problems: [] });
  });

  it.each([
    ["a bare name", "checks: [evals]", "it names no source"],
    ["an entry without a source", "checks: [{ name: evals }]", "it names no source"],
    ["two sources", "checks: [{ name: evals, app: ci, workflow: .github/workflows/evals.yml }]", "it names both an app and a workflow; a check has one source"],
    ["GitHub Actions as an app", "checks: [{ name: evals, app: github-actions }]", "it names GitHub Actions as its app, which any workflow posts as"],
    ["GitHub Actions' app id", "checks: [{ name: evals, app: 15368 }]", "it names GitHub Actions as its app, which any workflow posts as"],
  ])("keeps a policy whose required check has %s, and reports that check on its line with the fix", (_name, checks, problem) => {
    const text = `version: 1\nrules:\n  - name: Tested\n    require:\n      approvals: 0\n      ${checks}\n`;
    const result = parsePolicy(encode(text));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.problems).toEqual([
      expect.objectContaining({ file: ".github/charter.yml", line: 6, rule: "policy/check-without-source", severity: "error", message: `required check "evals" cannot be satisfied: ${problem}` }),
    ]);
    expect(result.problems[0]?.fix).toContain('{ name: "evals", workflow: .github/workflows/<file>.yml }');
  });

  it("refuses a workflow that is not a file under .github/workflows", () => {
    const result = parsePolicy(encode("version: 1\nrules:\n  - name: Tested\n    require: { checks: [{ name: evals, workflow: ../evil.yml }] }\n"));
    expect(result.ok).toBe(false);
  });

  it.each([
    ["an unknown key with the allowed ones", "version: 1\nrulez: []\n", "schema/unknown-key", 2, /allowed: version, rules, separationOfDuties, governance, emergency/],
    ["an unknown change kind", "version: 1\nrules:\n  - name: x\n    when: { changes: [model-swapped] }\n    require: {}\n", "schema/enum", 4, /allowed: "agent-created"/],
    ["a wrong version", "version: 2\n", "schema/const", 1, /must be 1/],
    ["a duplicate key", "version: 1\nversion: 1\n", "yaml/duplicate-key", 2, /unique/],
  ])("refuses %s, with its line", (_name, text, rule, line, message) => {
    const result = parsePolicy(encode(text));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics[0]).toMatchObject({ file: ".github/charter.yml", rule, line });
    expect(result.diagnostics[0]?.message).toMatch(message);
  });

  it("lists exactly the change kinds the classifier produces", () => {
    const schema = JSON.parse(readFileSync(new URL("../../schemas/charter-policy.schema.json", import.meta.url), "utf8")) as {
      $defs: { selector: { properties: { changes: { items: { enum: string[] } } } } };
    };
    expect(schema.$defs.selector.properties.changes.items.enum).toEqual(AGENT_CHANGE_KINDS);
  });

  it("lists the same change kinds as the evidence record schema, so every classified change can be recorded", () => {
    const schema = JSON.parse(readFileSync(new URL("../../schemas/evidence-record.schema.json", import.meta.url), "utf8")) as {
      $defs: { change: { properties: { kind: { enum: string[] } } } };
    };
    expect(schema.$defs.change.properties.kind.enum).toEqual([...AGENT_CHANGE_KINDS, ...GOVERNANCE_CHANGE_KINDS]);
  });

  it("ships a default policy that its own schema accepts", () => {
    // JSON is YAML, so the default can be fed through the same parser.
    expect(parsePolicy(encode(JSON.stringify(DEFAULT_POLICY))).ok).toBe(true);
  });
});
