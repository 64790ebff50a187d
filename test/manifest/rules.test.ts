import { describe, expect, it } from "vitest";
import type { RuleCode } from "../../src/manifest/diagnostic.js";
import { agentFiles, lineOf, mutate, VALID_MANIFEST } from "../helpers/manifests.js";
import { validateFiles } from "../helpers/validate-text.js";

const FILE = "agents/sample-agent/agent.yaml";

interface Case {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly rule: RuleCode;
  /** Text on the line the diagnostic must point at, and the column where it must start. */
  readonly at: string;
  readonly column?: number;
  readonly message?: RegExp;
}

// One row per rule that a manifest's own content can break. Each mutates the valid fixture once.
const CASES: readonly Case[] = [
  { name: "unknown top-level key", from: "kind: Agent\n", to: "kind: Agent\nowner: bob\n", rule: "schema/unknown-key", at: "owner: bob", column: 1, message: /unknown key "owner"; allowed: apiVersion, kind, id/ },
  { name: "unknown nested key", from: "  provider: anthropic\n", to: "  provider: anthropic\n  colour: blue\n", rule: "schema/unknown-key", at: "colour", column: 3, message: /in model; allowed: provider, name, version, parameters/ },
  { name: "missing required key", from: "environment: production\n", to: "", rule: "schema/required", at: "apiVersion", column: 1, message: /missing required key "environment"/ },
  { name: "missing nested key", from: "  maxLifetime: 1h\n", to: "", rule: "schema/required", at: "credentials:", column: 1, message: /"maxLifetime" in credentials/ },
  { name: "wrong apiVersion", from: "apiVersion: charter/v1", to: "apiVersion: charter/v9", rule: "schema/const", at: "apiVersion", column: 13, message: /must be "charter\/v1"/ },
  { name: "bad enum", from: "status: active", to: "status: paused", rule: "schema/enum", at: "status:", column: 9, message: /allowed: "active", "retired"/ },
  { name: "bad id pattern", from: "id: sample-agent", to: "id: Sample_Agent", rule: "schema/pattern", at: "id:", column: 5, message: /DNS label/ },
  { name: "wrong type", from: "name: Sample Agent", to: "name: [Sample]", rule: "schema/type", at: "name:", column: 7, message: /name must be a string/ },
  { name: "owner with both user and team", from: "  - user: alice\n", to: "  - user: alice\n    team: acme/x\n", rule: "schema/owner-shape", at: "user: alice", column: 5 },
  { name: "no owners", from: "owners:\n  - user: alice\n  - team: acme/support\n", to: "owners: []\n", rule: "schema/length", at: "owners:", column: 9 },
  { name: "bad date", from: "  maxLifetime: 1h\n", to: "  maxLifetime: 1h\nretirement:\n  date: 2026-13-45\n  reason: replaced by v2\n", rule: "schema/format", at: "date:", column: 9 },
  { name: "id does not match directory", from: "id: sample-agent", to: "id: other-agent", rule: "manifest/location", at: "id:", column: 5, message: /does not match its directory "sample-agent"/ },
  { name: "model version latest", from: 'version: "20250929"', to: "version: latest", rule: "model/unpinned", at: "version:", column: 12 },
  { name: "model version range", from: 'version: "20250929"', to: 'version: "^1.2"', rule: "model/unpinned", at: "version:", column: 12, message: /range/ },
  { name: "model name alias", from: "name: claude-sonnet-4-5", to: "name: claude-sonnet-latest", rule: "model/unpinned", at: "claude-sonnet-latest", column: 9 },
  { name: "unparseable permission", from: "postgres:select:shop.public.orders@shop-prod", to: "postgres:select:orders", rule: "permission/invalid", at: "postgres:select:orders", column: 9, message: /database\.schema\.table/ },
  { name: "unknown system", from: "postgres:select:shop.public.orders@shop-prod", to: "mongo:find:orders", rule: "permission/invalid", at: "mongo", column: 9, message: /unknown system "mongo"/ },
  { name: "wildcard over a schema", from: "postgres:select:shop.public.orders@shop-prod", to: "postgres:select:shop.public.*@shop-prod", rule: "permission/wildcard", at: "shop.public.*", column: 9 },
  { name: "wildcard over every repository", from: "postgres:select:shop.public.orders@shop-prod", to: "github:contents:write:acme/*", rule: "permission/wildcard", at: "acme/*", column: 9 },
  { name: "wildcard over a whole host", from: "postgres:select:shop.public.orders@shop-prod", to: "http:get:api.example.com/*", rule: "permission/wildcard", at: "api.example.com", column: 9 },
  { name: "every redis key", from: "postgres:select:shop.public.orders@shop-prod", to: "redis:read:*", rule: "permission/wildcard", at: "redis:read", column: 9 },
  { name: "retired agent with permissions", from: "status: active\n", to: "status: retired\nretirement:\n  date: 2026-01-31\n  reason: replaced by v2\n", rule: "lifecycle/retired-with-permissions", at: "postgres:select", column: 9 },
  { name: "retired without retirement block", from: "status: active", to: "status: retired", rule: "lifecycle/retirement-missing", at: "status:", column: 9 },
  { name: "active with retirement block", from: "  maxLifetime: 1h\n", to: "  maxLifetime: 1h\nretirement:\n  date: 2026-01-31\n  reason: replaced by v2\n", rule: "lifecycle/retirement-unexpected", at: "retirement:", column: 1 },
  { name: "duplicate tool", from: "credentials:\n", to: "  - name: orders\n    permissions: []\ncredentials:\n", rule: "tool/duplicate-name", at: "  - name: orders\n    permissions: []", column: 11 },
  { name: "human approval for unknown tool", from: "  maxLifetime: 1h\n", to: "  maxLifetime: 1h\nruntime:\n  humanApprovalRequiredFor: [refunds]\n", rule: "runtime/unknown-tool", at: "humanApprovalRequiredFor", column: 30 },
  { name: "credential lifetime too long", from: "maxLifetime: 1h", to: "maxLifetime: 30d", rule: "credentials/lifetime-too-long", at: "maxLifetime", column: 16 },
  { name: "prompt path escaping", from: "path: prompts/system.md", to: "path: ../other/prompts/system.md", rule: "prompt/outside-directory", at: "path:", column: 11 },
  { name: "secret in manifest", from: "  maxLifetime: 1h\n", to: "  maxLifetime: 1h\ncontact: ghp_0123456789abcdefghijklmnopqrstuvwxyzAB\n", rule: "secret/detected", at: "ghp_", column: 10 },
];

describe("manifest rules", () => {
  it.each(CASES)("$name → $rule at the offending node", async ({ from, to, rule, at, column, message }) => {
    const text = mutate(VALID_MANIFEST, from, to);
    const { diagnostics, ok } = await validateFiles(agentFiles("sample-agent", text));
    expect(ok).toBe(false);
    const found = diagnostics.filter((d) => d.rule === rule);
    expect(found, JSON.stringify(diagnostics, null, 2)).toHaveLength(1);
    const expected = lineOf(text, at);
    expect(found[0]).toMatchObject({ file: FILE, line: expected.line, severity: "error" });
    if (column !== undefined) expect(found[0]?.column).toBe(column);
    if (message) expect(found[0]?.message).toMatch(message);
    expect(found[0]?.fix.length).toBeGreaterThan(10);
  });

  it("reports a schema problem and an unrelated lint finding together", async () => {
    let text = mutate(VALID_MANIFEST, "environment: production", "environment: prod");
    text = mutate(text, "maxLifetime: 1h", "maxLifetime: 30d");
    const { diagnostics } = await validateFiles(agentFiles("sample-agent", text));
    expect(diagnostics.map((d) => d.rule).sort()).toEqual(["credentials/lifetime-too-long", "schema/enum"]);
  });

  it("never echoes a secret it found", async () => {
    const secret = "AKIAABCDEFGHIJKLMNOP";
    const text = mutate(VALID_MANIFEST, "Sample Agent", `Sample Agent ${secret}`);
    const { diagnostics } = await validateFiles(agentFiles("sample-agent", text));
    expect(diagnostics.map((d) => d.rule)).toEqual(["secret/detected"]);
    expect(JSON.stringify(diagnostics)).not.toContain(secret);
    expect(JSON.stringify(diagnostics)).not.toContain("ABCDEFGHIJ");
  });
});
