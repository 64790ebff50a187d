import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { COMPARED_FIELDS } from "../../src/change/agent-diff.js";
import { comparePointers } from "../../src/change/change-order.js";
import type { Change, ChangeKind, ChangeSet, Risk } from "../../src/change/change-set.js";
import { AGENT_CHANGE_KINDS, GOVERNANCE_CHANGE_KINDS } from "../../src/change/change-set.js";
import { oneLine } from "../../src/change/display.js";
import { diffAgents } from "../../src/change/semantic-diff.js";
import type { CheckedAgent } from "../../src/manifest/validate.js";
import { VALID_PROMPT } from "../helpers/manifests.js";
import { validateFiles } from "../helpers/validate-text.js";

const DIR = "agents/sample-agent";
const FILE = `${DIR}/agent.yaml`;
const PROMPT = `${DIR}/prompts/system.md`;

// Not sensitive (internal only), so grants of access are "high"; one permission of each system.
const BASE = `apiVersion: charter/v1
kind: Agent
id: sample-agent
name: Sample Agent
purpose: Answers questions about orders for the support team.
status: active
environment: staging
owners:
  - user: alice
  - team: acme/support
labels:
  team: support
dataClassifications: [internal]
model:
  provider: anthropic
  name: claude-sonnet-4-5
  version: "20250929"
  parameters:
    temperature: 0.2
prompts:
  - path: prompts/system.md
    role: system
tools:
  - name: orders
    description: Read orders.
    permissions:
      - postgres:select:shop.public.orders@shop-prod
  - name: lookups
    description: Cached lookups.
    permissions:
      - redis:read:cache:orders:*@cache-prod
      - github:contents:read:acme/app
      - http:get:api.example.com/v1/orders/*
credentials:
  provider: postgres
  maxLifetime: 1h
  maxConcurrentSessions: 4
runtime:
  maxRequestsPerMinute: 120
  humanApprovalRequiredFor: [orders]
contact: "#support"
`;

const NO_PERMISSIONS = [
  ["      - postgres:select:shop.public.orders@shop-prod\n", ""],
  ["      - redis:read:cache:orders:*@cache-prod\n      - github:contents:read:acme/app\n      - http:get:api.example.com/v1/orders/*\n", ""],
  ["    permissions:\n  - name: lookups", "    permissions: []\n  - name: lookups"],
  ["    permissions:\ncredentials", "    permissions: []\ncredentials"],
] as const;
const RETIRE = [["status: active\n", "status: retired\nretirement:\n  date: 2026-01-31\n  reason: replaced by orders-v2\n"], ...NO_PERMISSIONS] as const;

type Edit = readonly [from: string, to: string];

function edit(text: string, ...edits: readonly Edit[]): string {
  let out = text;
  for (const [from, to] of edits) {
    if (!out.includes(from)) throw new Error(`fixture does not contain ${JSON.stringify(from)}`);
    out = out.replace(from, to);
  }
  return out;
}

type Files = Record<string, string>;

function agentFiles(manifest: string, extra: Files = {}, prompt = VALID_PROMPT): Files {
  return { [FILE]: manifest, [PROMPT]: prompt, ...extra };
}

/** Agents through the real validator; a fixture that does not validate is a broken test. */
async function checked(files: Files): Promise<readonly CheckedAgent[]> {
  const report = await validateFiles(files);
  expect(report.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return report.agents;
}

async function diff(base: Files | undefined, head: Files | undefined, changedPaths: readonly string[] = []): Promise<ChangeSet> {
  return diffAgents({ dirs: [DIR], base: base ? await checked(base) : [], head: head ? await checked(head) : [], headInvalid: [], changedPaths });
}

interface Expected {
  readonly kind: ChangeKind;
  readonly risk: Risk;
  readonly pointer?: string;
  readonly path?: string;
  readonly before?: unknown;
  readonly after?: unknown;
  readonly summary?: string | RegExp;
}

function shape(changes: readonly Change[], expected: readonly Expected[]): void {
  expect(changes.map((c) => c.kind)).toEqual(expected.map((e) => e.kind));
  expected.forEach((e, i) => {
    const c = changes[i];
    expect(c?.risk, `${e.kind} risk`).toBe(e.risk);
    expect(c?.agent).toBe("sample-agent");
    expect(c?.path).toBe(e.path ?? FILE);
    if ("pointer" in e) expect(c?.pointer, `${e.kind} pointer`).toBe(e.pointer);
    if ("before" in e) expect(c?.before, `${e.kind} before`).toEqual(e.before);
    if ("after" in e) expect(c?.after, `${e.kind} after`).toEqual(e.after);
    if (typeof e.summary === "string") expect(c?.summary).toBe(e.summary);
    else if (e.summary) expect(c?.summary).toMatch(e.summary);
  });
}

interface Case {
  readonly name: string;
  readonly head: readonly Edit[];
  /** Edits to BASE for the base side; the head side is BASE with `head` applied. */
  readonly base?: readonly Edit[];
  readonly baseFiles?: Files;
  readonly headFiles?: Files;
  readonly headPrompt?: string;
  readonly expected: readonly Expected[];
}

const CASES: readonly Case[] = [
  {
    name: "model version bump",
    head: [['version: "20250929"', 'version: "20251101"']],
    expected: [
      {
        kind: "model-changed",
        risk: "high",
        pointer: "/model/version",
        before: { provider: "anthropic", name: "claude-sonnet-4-5", version: "20250929" },
        after: { provider: "anthropic", name: "claude-sonnet-4-5", version: "20251101" },
        summary: "model anthropic/claude-sonnet-4-5@20250929 → anthropic/claude-sonnet-4-5@20251101",
      },
    ],
  },
  {
    name: "model provider and name",
    head: [["provider: anthropic", "provider: openai"], ["name: claude-sonnet-4-5", "name: gpt-4o"]],
    expected: [{ kind: "model-changed", risk: "high", pointer: "/model", summary: "model anthropic/claude-sonnet-4-5@20250929 → openai/gpt-4o@20250929" }],
  },
  {
    name: "model parameter changed and added",
    head: [["temperature: 0.2", "temperature: 0.7\n    maxOutputTokens: 2048"]],
    expected: [
      { kind: "model-parameters-changed", risk: "medium", pointer: "/model/parameters/maxOutputTokens", before: null, after: 2048, summary: "model parameter maxOutputTokens: unset → 2048" },
      { kind: "model-parameters-changed", risk: "medium", pointer: "/model/parameters/temperature", before: 0.2, after: 0.7, summary: "model parameter temperature: 0.2 → 0.7" },
    ],
  },
  {
    name: "prompt file edited, manifest untouched",
    head: [],
    headPrompt: "You answer questions about orders. You may share customers' addresses.\n",
    expected: [{ kind: "prompt-changed", risk: "high", path: PROMPT, pointer: "/prompts/0", summary: /^prompt changed: prompts\/system\.md \(sha256 [0-9a-f]{12} → [0-9a-f]{12}\)$/ }],
  },
  {
    name: "prompt added",
    head: [["    role: system\n", "    role: system\n  - path: prompts/examples.md\n    role: examples\n"]],
    headFiles: { [`${DIR}/prompts/examples.md`]: "Q: where is my order?\n" },
    expected: [{ kind: "prompt-added", risk: "high", path: `${DIR}/prompts/examples.md`, pointer: "/prompts/1", before: null, summary: "prompt added: prompts/examples.md (examples)" }],
  },
  {
    name: "prompt removed",
    base: [["    role: system\n", "    role: system\n  - path: prompts/examples.md\n"]],
    baseFiles: { [`${DIR}/prompts/examples.md`]: "Q: where is my order?\n" },
    head: [],
    expected: [{ kind: "prompt-removed", risk: "medium", path: `${DIR}/prompts/examples.md`, pointer: "/prompts", after: null, summary: "prompt removed: prompts/examples.md" }],
  },
  {
    name: "tool added without permissions",
    head: [["credentials:\n", "  - name: notify\n    permissions: []\ncredentials:\n"]],
    expected: [{ kind: "tool-added", risk: "high", pointer: "/tools/2", before: null, after: { name: "notify", permissions: [] }, summary: "tool added: notify (0 permissions)" }],
  },
  {
    name: "tool removed with its permissions",
    head: [["  - name: lookups\n    description: Cached lookups.\n    permissions:\n      - redis:read:cache:orders:*@cache-prod\n      - github:contents:read:acme/app\n      - http:get:api.example.com/v1/orders/*\n", ""]],
    expected: [
      { kind: "tool-removed", risk: "low", pointer: "/tools", after: null, summary: "tool removed: lookups" },
      { kind: "permission-removed", risk: "low", pointer: "/tools", before: "github:contents:read:acme/app", after: null, summary: "permission removed from tool lookups: github:contents:read:acme/app" },
      { kind: "permission-removed", risk: "low", before: "http:get:api.example.com/v1/orders/*" },
      { kind: "permission-removed", risk: "low", before: "redis:read:cache:orders:*@cache-prod" },
    ],
  },
  {
    name: "permission added",
    head: [["      - postgres:select:shop.public.orders@shop-prod\n", "      - postgres:select:shop.public.orders@shop-prod\n      - postgres:update:shop.public.orders@shop-prod\n"]],
    expected: [
      { kind: "permission-added", risk: "high", pointer: "/tools/0/permissions/1", before: null, after: "postgres:update:shop.public.orders@shop-prod", summary: "permission added to tool orders: postgres:update:shop.public.orders@shop-prod" },
    ],
  },
  {
    name: "permission removed",
    head: [["      - github:contents:read:acme/app\n", ""]],
    expected: [{ kind: "permission-removed", risk: "low", pointer: "/tools/1/permissions", before: "github:contents:read:acme/app", after: null }],
  },
  {
    name: "a postgres table swapped is an addition and a removal, never a widening",
    head: [["postgres:select:shop.public.orders@shop-prod", "postgres:select:shop.public.customers@shop-prod"]],
    expected: [
      { kind: "permission-added", risk: "high", after: "postgres:select:shop.public.customers@shop-prod" },
      { kind: "permission-removed", risk: "low", before: "postgres:select:shop.public.orders@shop-prod" },
    ],
  },
  {
    name: "redis pattern widened",
    head: [["redis:read:cache:orders:*@cache-prod", "redis:read:cache:*@cache-prod"]],
    expected: [
      {
        kind: "permission-widened",
        risk: "high",
        pointer: "/tools/1/permissions/0",
        before: "redis:read:cache:orders:*@cache-prod",
        after: "redis:read:cache:*@cache-prod",
        summary: "permission widened on tool lookups: redis:read:cache:orders:*@cache-prod → redis:read:cache:*@cache-prod",
      },
    ],
  },
  {
    name: "redis read raised to write",
    head: [["redis:read:cache:orders:*@cache-prod", "redis:write:cache:orders:*@cache-prod"]],
    expected: [{ kind: "permission-widened", risk: "high", before: "redis:read:cache:orders:*@cache-prod", after: "redis:write:cache:orders:*@cache-prod" }],
  },
  {
    name: "redis pattern narrowed",
    head: [["redis:read:cache:orders:*@cache-prod", "redis:read:cache:orders:eu:*@cache-prod"]],
    expected: [{ kind: "permission-narrowed", risk: "low", pointer: "/tools/1/permissions/0", summary: /^permission narrowed on tool lookups: / }],
  },
  {
    name: "redis on another instance is not a widening",
    head: [["redis:read:cache:orders:*@cache-prod", "redis:read:cache:*@cache-eu"]],
    expected: [
      { kind: "permission-added", risk: "high", after: "redis:read:cache:*@cache-eu" },
      { kind: "permission-removed", risk: "low", before: "redis:read:cache:orders:*@cache-prod" },
    ],
  },
  {
    name: "github read raised to write",
    head: [["github:contents:read:acme/app", "github:contents:write:acme/app"]],
    expected: [{ kind: "permission-widened", risk: "high", pointer: "/tools/1/permissions/1", before: "github:contents:read:acme/app", after: "github:contents:write:acme/app" }],
  },
  {
    name: "github write lowered to read",
    base: [["github:contents:read:acme/app", "github:contents:write:acme/app"]],
    head: [],
    expected: [{ kind: "permission-narrowed", risk: "low", before: "github:contents:write:acme/app", after: "github:contents:read:acme/app" }],
  },
  {
    name: "http path widened",
    head: [["http:get:api.example.com/v1/orders/*", "http:get:api.example.com/v1/*"]],
    expected: [{ kind: "permission-widened", risk: "high", pointer: "/tools/1/permissions/2", after: "http:get:api.example.com/v1/*" }],
  },
  {
    name: "http method changed is not a widening",
    head: [["http:get:api.example.com/v1/orders/*", "http:post:api.example.com/v1/orders/*"]],
    expected: [
      { kind: "permission-added", risk: "high" },
      { kind: "permission-removed", risk: "low" },
    ],
  },
  {
    name: "a permission moved between tools changes nothing the agent can reach",
    head: [["      - postgres:select:shop.public.orders@shop-prod\n", ""], ["      - github:contents:read:acme/app\n", "      - github:contents:read:acme/app\n      - postgres:select:shop.public.orders@shop-prod\n"], ["    permissions:\n  - name: lookups", "    permissions: []\n  - name: lookups"]],
    expected: [],
  },
  {
    name: "owners changed",
    head: [["  - user: alice\n", "  - user: bob\n"]],
    expected: [
      { kind: "owners-changed", risk: "high", pointer: "/owners", before: [{ user: "alice" }, { team: "acme/support" }], after: [{ user: "bob" }, { team: "acme/support" }], summary: "owners: +user:bob, -user:alice" },
    ],
  },
  {
    name: "owners reordered is no change",
    head: [["  - user: alice\n  - team: acme/support\n", "  - team: acme/support\n  - user: alice\n"]],
    expected: [],
  },
  {
    name: "the agent's own account changed",
    base: [['contact: "#support"', 'identities:\n  github: orders-bot[bot]\ncontact: "#support"']],
    head: [['contact: "#support"', 'identities:\n  github: orders-agent[bot]\ncontact: "#support"']],
    expected: [{ kind: "owners-changed", risk: "high", pointer: "/identities/github", before: "orders-bot[bot]", after: "orders-agent[bot]" }],
  },
  {
    name: "credential lifetime raised",
    head: [["maxLifetime: 1h", "maxLifetime: 8h"]],
    expected: [{ kind: "credential-lifetime-raised", risk: "medium", pointer: "/credentials/maxLifetime", before: "1h", after: "8h", summary: "credential lifetime raised: 1h → 8h" }],
  },
  {
    name: "credential lifetime lowered",
    head: [["maxLifetime: 1h", "maxLifetime: 15m"]],
    expected: [{ kind: "credential-lifetime-lowered", risk: "low", before: "1h", after: "15m" }],
  },
  {
    name: "credential lifetime rewritten in other units is no change",
    head: [["maxLifetime: 1h", "maxLifetime: 60m"]],
    expected: [],
  },
  {
    name: "credential provider changed",
    head: [["provider: postgres", "provider: local"]],
    expected: [{ kind: "credential-provider-changed", risk: "high", pointer: "/credentials/provider", before: "postgres", after: "local" }],
  },
  {
    name: "concurrent sessions raised",
    head: [["maxConcurrentSessions: 4", "maxConcurrentSessions: 40"]],
    expected: [{ kind: "runtime-changed", risk: "medium", pointer: "/credentials/maxConcurrentSessions", before: 4, after: 40 }],
  },
  {
    name: "data classification added and removed",
    head: [["dataClassifications: [internal]", "dataClassifications: [confidential]"]],
    expected: [
      { kind: "data-classification-added", risk: "high", pointer: "/dataClassifications/0", before: null, after: "confidential", summary: "data classification added: confidential" },
      { kind: "data-classification-removed", risk: "low", pointer: "/dataClassifications", before: "internal", after: null },
    ],
  },
  {
    name: "environment changed",
    head: [["environment: staging", "environment: production"]],
    expected: [{ kind: "environment-changed", risk: "medium", pointer: "/environment", before: "staging", after: "production", summary: "environment: staging → production" }],
  },
  {
    name: "labels changed, added",
    head: [["  team: support\n", "  team: billing\n  cost-center: cc-42\n"]],
    expected: [
      { kind: "labels-changed", risk: "medium", pointer: "/labels/cost-center", before: null, after: "cc-42", summary: "label cost-center: unset → cc-42" },
      { kind: "labels-changed", risk: "medium", pointer: "/labels/team", before: "support", after: "billing", summary: "label team: support → billing" },
    ],
  },
  {
    name: "labels removed",
    head: [["labels:\n  team: support\n", ""]],
    expected: [{ kind: "labels-changed", risk: "medium", pointer: "/labels/team", before: "support", after: null }],
  },
  {
    name: "runtime changed",
    head: [["  maxRequestsPerMinute: 120\n  humanApprovalRequiredFor: [orders]\n", "  maxRequestsPerMinute: 600\n"]],
    expected: [
      { kind: "runtime-changed", risk: "medium", pointer: "/runtime/humanApprovalRequiredFor", before: ["orders"], after: null, summary: "runtime humanApprovalRequiredFor: orders → unset" },
      { kind: "runtime-changed", risk: "medium", pointer: "/runtime/maxRequestsPerMinute", before: 120, after: 600 },
    ],
  },
  {
    name: "runtime lists reordered is no change",
    base: [["  humanApprovalRequiredFor: [orders]", "  humanApprovalRequiredFor: [orders, lookups]"]],
    head: [["  humanApprovalRequiredFor: [orders]", "  humanApprovalRequiredFor: [lookups, orders]"]],
    expected: [],
  },
  {
    name: "description only: name",
    head: [["name: Sample Agent", "name: Order Answers"]],
    expected: [{ kind: "description-only", risk: "low", pointer: "/name", before: { "/name": "Sample Agent" }, after: { "/name": "Order Answers" }, summary: "description only: name" }],
  },
  {
    name: "description only: purpose, contact, a tool's description and a prompt's role",
    head: [
      ["purpose: Answers questions", "purpose: Politely answers questions"],
      ['contact: "#support"', 'contact: "#support-oncall"'],
      ["description: Read orders.", "description: Read orders by id."],
      ["role: system", "role: instructions"],
    ],
    expected: [
      {
        kind: "description-only",
        risk: "low",
        before: { "/purpose": "Answers questions about orders for the support team.", "/contact": "#support", "/tools/0/description": "Read orders.", "/prompts/0/role": "system" },
        after: { "/purpose": "Politely answers questions about orders for the support team.", "/contact": "#support-oncall", "/tools/0/description": "Read orders by id.", "/prompts/0/role": "instructions" },
        summary: "description only: purpose, contact, tool orders description, prompt prompts/system.md role",
      },
    ],
  },
  {
    name: "a renamed agent that also changes model reports the model only",
    head: [["name: Sample Agent", "name: Order Answers"], ['version: "20250929"', 'version: "20251101"']],
    expected: [{ kind: "model-changed", risk: "high" }],
  },
  {
    name: "formatting and comments only is no change",
    head: [["kind: Agent\n", "kind: Agent   # reviewed\n"], ['version: "20250929"', "version: '20250929'"]],
    expected: [],
  },
  {
    name: "retired",
    head: RETIRE,
    expected: [
      { kind: "agent-retired", risk: "medium", pointer: "/status", before: { status: "active", retirement: null }, after: { status: "retired", retirement: { date: "2026-01-31", reason: "replaced by orders-v2" } }, summary: "agent retired on 2026-01-31: replaced by orders-v2" },
      { kind: "permission-removed", risk: "low", pointer: "/tools/0/permissions", before: "postgres:select:shop.public.orders@shop-prod" },
      { kind: "permission-removed", risk: "low", pointer: "/tools/1/permissions", before: "github:contents:read:acme/app" },
      { kind: "permission-removed", risk: "low", pointer: "/tools/1/permissions", before: "http:get:api.example.com/v1/orders/*" },
      { kind: "permission-removed", risk: "low", pointer: "/tools/1/permissions", before: "redis:read:cache:orders:*@cache-prod" },
    ],
  },
  {
    name: "retirement note edited on a retired agent is description only",
    base: RETIRE,
    head: [["status: active\n", "status: retired\nretirement:\n  date: 2026-01-31\n  reason: replaced by orders-v3\n"], ...NO_PERMISSIONS],
    expected: [{ kind: "description-only", risk: "low", pointer: "/retirement" }],
  },
  {
    name: "reactivated",
    base: RETIRE,
    head: [],
    expected: [
      { kind: "agent-reactivated", risk: "high", pointer: "/status", summary: "retired agent reactivated in staging" },
      { kind: "permission-added", risk: "high", pointer: "/tools/0/permissions/0", after: "postgres:select:shop.public.orders@shop-prod" },
      { kind: "permission-added", risk: "high", pointer: "/tools/1/permissions/0", after: "redis:read:cache:orders:*@cache-prod" },
      { kind: "permission-added", risk: "high", pointer: "/tools/1/permissions/1", after: "github:contents:read:acme/app" },
      { kind: "permission-added", risk: "high", pointer: "/tools/1/permissions/2", after: "http:get:api.example.com/v1/orders/*" },
    ],
  },
  {
    name: "permission added on an agent holding customer PII is critical",
    base: [["dataClassifications: [internal]", "dataClassifications: [customer-pii]"]],
    head: [["dataClassifications: [internal]", "dataClassifications: [customer-pii]"], ["github:contents:read:acme/app", "github:contents:read:acme/app\n      - github:issues:read:acme/app"]],
    expected: [{ kind: "permission-added", risk: "critical", after: "github:issues:read:acme/app" }],
  },
  {
    name: "widening on an agent that starts handling payment cards is critical; narrowing stays low",
    head: [
      ["dataClassifications: [internal]", "dataClassifications: [internal, payment-card]"],
      ["redis:read:cache:orders:*@cache-prod", "redis:write:cache:orders:*@cache-prod"],
      ["http:get:api.example.com/v1/orders/*", "http:get:api.example.com/v1/orders/eu/*"],
    ],
    expected: [
      { kind: "permission-widened", risk: "critical", after: "redis:write:cache:orders:*@cache-prod" },
      { kind: "permission-narrowed", risk: "low", after: "http:get:api.example.com/v1/orders/eu/*" },
      { kind: "data-classification-added", risk: "high", pointer: "/dataClassifications/1", after: "payment-card" },
    ],
  },
  {
    name: "permission removal stays low on a sensitive agent",
    base: [["dataClassifications: [internal]", "dataClassifications: [health]"]],
    head: [["dataClassifications: [internal]", "dataClassifications: [health]"], ["      - github:contents:read:acme/app\n", ""]],
    expected: [{ kind: "permission-removed", risk: "low" }],
  },
];

describe("diffAgents: one agent, base → head", () => {
  it.each(CASES)("$name", async (c) => {
    const base = agentFiles(edit(BASE, ...(c.base ?? [])), c.baseFiles);
    const head = agentFiles(edit(BASE, ...c.head), c.headFiles, c.headPrompt);
    const set = await diff(base, head);
    shape(set.changes, c.expected);
    expect(set.agents).toEqual(c.expected.length > 0 ? ["sample-agent"] : []);
    expect(set.unclassified).toEqual([]);
    const risks = c.expected.map((e) => e.risk);
    expect(set.maxRisk).toBe(["critical", "high", "medium", "low"].find((r) => risks.includes(r as Risk)) ?? "low");
  });
});

describe("diffAgents: lifecycle", () => {
  it("a new agent is compared with nothing: created, plus every prompt, tool, permission and data class it brings", async () => {
    const set = await diff(undefined, agentFiles(BASE));
    shape(set.changes, [
      { kind: "agent-created", risk: "high", before: null, summary: "new agent in staging: anthropic/claude-sonnet-4-5@20250929, 2 tools, 4 permissions" },
      { kind: "prompt-added", risk: "high", path: PROMPT, pointer: "/prompts/0" },
      { kind: "tool-added", risk: "high", pointer: "/tools/0" },
      { kind: "tool-added", risk: "high", pointer: "/tools/1" },
      { kind: "permission-added", risk: "high", after: "postgres:select:shop.public.orders@shop-prod" },
      { kind: "permission-added", risk: "high", after: "redis:read:cache:orders:*@cache-prod" },
      { kind: "permission-added", risk: "high", after: "github:contents:read:acme/app" },
      { kind: "permission-added", risk: "high", after: "http:get:api.example.com/v1/orders/*" },
      { kind: "data-classification-added", risk: "high", after: "internal" },
    ]);
    expect((set.changes[0]?.after as { id: string }).id).toBe("sample-agent");
  });

  it("a new agent with customer data gets critical permission grants", async () => {
    const set = await diff(undefined, agentFiles(edit(BASE, ["dataClassifications: [internal]", "dataClassifications: [customer-pii]"])));
    expect(set.changes.filter((c) => c.kind === "permission-added").map((c) => c.risk)).toEqual(["critical", "critical", "critical", "critical"]);
    expect(set.maxRisk).toBe("critical");
  });

  it("a deleted agent is one medium change carrying its last manifest", async () => {
    const set = await diff(agentFiles(BASE), undefined);
    shape(set.changes, [{ kind: "agent-deleted", risk: "medium", after: null, summary: "agent deleted (was active in staging)" }]);
    expect(set.changes[0]?.pointer).toBeUndefined();
    expect((set.changes[0]?.before as { id: string }).id).toBe("sample-agent");
  });

  it("an invalid head is unclassified and yields no changes for that agent", async () => {
    const base = await checked(agentFiles(BASE));
    const set = diffAgents({ dirs: [DIR], base, head: [], headInvalid: [DIR], changedPaths: [FILE] });
    expect(set).toEqual({ changes: [], agents: [], unclassified: [DIR], maxRisk: "low" });
  });

  it("an unchanged agent and a directory with no agent at either side yield nothing", async () => {
    const agents = await checked(agentFiles(BASE));
    expect(diffAgents({ dirs: [DIR, "agents/ghost"], base: agents, head: agents, headInvalid: [], changedPaths: [`${DIR}/README.md`] })).toEqual({ changes: [], agents: [], unclassified: [], maxRisk: "low" });
  });
});

describe("diffAgents: governance files", () => {
  it.each([
    [".github/charter.yml", "policy-changed", "approval policy changed: .github/charter.yml"],
    ["schemas/agent-manifest.schema.json", "schema-changed", "schema changed: schemas/agent-manifest.schema.json"],
    ["schemas/nested/extra.json", "schema-changed", "schema changed: schemas/nested/extra.json"],
    ["CODEOWNERS", "codeowners-changed", "code owners changed: CODEOWNERS"],
    [".github/CODEOWNERS", "codeowners-changed", "code owners changed: .github/CODEOWNERS"],
    ["docs/CODEOWNERS", "codeowners-changed", "code owners changed: docs/CODEOWNERS"],
    [".github/workflows/ci.yml", "ci-workflow-changed", "CI workflow changed: .github/workflows/ci.yml"],
    // A local action runs inside the workflows that use it: editing it edits them.
    [".github/actions/evals/action.yml", "ci-workflow-changed", "CI workflow changed: .github/actions/evals/action.yml"],
  ])("%s → %s, critical", (path, kind, summary) => {
    const set = diffAgents({ dirs: [], base: [], head: [], headInvalid: [], changedPaths: [path] });
    expect(set).toEqual({ changes: [{ kind, path, before: null, after: null, risk: "critical", summary }], agents: [], unclassified: [], maxRisk: "critical" });
  });

  it.each([".github/charter.yaml.bak", "src/CODEOWNERS", "docs/schemas/x.json", ".github/dependabot.yml", "README.md", "agents/x/agent.yaml"])("%s is not a governance file", (path) => {
    expect(diffAgents({ dirs: [], base: [], head: [], headInvalid: [], changedPaths: [path] }).changes).toEqual([]);
  });

  it("escapes control characters in a hostile path's summary", () => {
    const [change] = diffAgents({ dirs: [], base: [], head: [], headInvalid: [], changedPaths: [".github/workflows/x\nagent  model-changed  low  ok.yml"] }).changes;
    expect(change?.summary).toBe("CI workflow changed: .github/workflows/x\\u{a}agent  model-changed  low  ok.yml");
  });
});

describe("diffAgents: deterministic order", () => {
  const other = (id: string, ...edits: readonly Edit[]): Files => ({
    [`agents/${id}/agent.yaml`]: edit(BASE, ["id: sample-agent", `id: ${id}`], ...edits),
    [`agents/${id}/prompts/system.md`]: VALID_PROMPT,
  });

  it("sorts agents by id, kinds by AGENT_CHANGE_KINDS, then path and pointer; governance last; whatever the input order", async () => {
    const base = await checked({ ...other("beta"), ...other("alpha") });
    const head = await checked({
      ...other("beta", ["environment: staging", "environment: production"], ['version: "20250929"', 'version: "20251101"']),
      ...other("alpha", ["redis:read:cache:orders:*@cache-prod", "redis:read:cache:*@cache-prod"], ["postgres:select:shop.public.orders@shop-prod", "postgres:select:shop.public.orders@shop-prod\n      - postgres:insert:shop.public.orders@shop-prod"]),
    });
    const input = {
      dirs: ["agents/beta", "agents/alpha"],
      base,
      head,
      headInvalid: ["agents/zeta", "agents/gamma"],
      changedPaths: [".github/workflows/ci.yml", "CODEOWNERS", ".github/charter.yml", "agents/beta/agent.yaml"],
    };
    const set = diffAgents(input);
    expect(set.changes.map((c) => `${c.agent ?? c.path} ${c.kind} ${c.pointer ?? ""}`)).toEqual([
      "alpha permission-added /tools/0/permissions/1",
      "alpha permission-widened /tools/1/permissions/0",
      "beta model-changed /model/version",
      "beta environment-changed /environment",
      ".github/charter.yml policy-changed ",
      "CODEOWNERS codeowners-changed ",
      ".github/workflows/ci.yml ci-workflow-changed ",
    ]);
    expect(set.agents).toEqual(["alpha", "beta"]);
    expect(set.unclassified).toEqual(["agents/gamma", "agents/zeta"]);
    expect(set.maxRisk).toBe("critical");
    const reversed = diffAgents({ ...input, dirs: [...input.dirs].reverse(), base: [...base].reverse(), head: [...head].reverse(), changedPaths: [...input.changedPaths].reverse() });
    expect(JSON.stringify(reversed)).toBe(JSON.stringify(set));
  });

  it("compares pointers segment by segment, indices as numbers", () => {
    const pointers = ["/tools/10/permissions/0", "/tools/2/permissions/1", "/tools", "/tools/2/permissions/0", "/model"];
    expect([...pointers].sort(comparePointers)).toEqual(["/model", "/tools", "/tools/2/permissions/0", "/tools/2/permissions/1", "/tools/10/permissions/0"]);
  });

  it("no kind is both an agent kind and a governance kind", () => {
    expect(new Set([...AGENT_CHANGE_KINDS, ...GOVERNANCE_CHANGE_KINDS]).size).toBe(AGENT_CHANGE_KINDS.length + GOVERNANCE_CHANGE_KINDS.length);
  });
});

describe("summaries", () => {
  it("escape line breaks, bidirectional and tag characters, and stay short", () => {
    expect(oneLine("a\nb\u202ec\u{e0041}")).toBe("a\\u{a}b\\u{202e}c\\u{e0041}");
    expect(oneLine("x".repeat(200), 10)).toBe(`${"x".repeat(9)}…`);
  });

  it("a hostile retirement reason cannot forge an output line", async () => {
    const retire = (reason: string): Edit => ["status: active\n", `status: retired\nretirement:\n  date: 2026-01-31\n  reason: "${reason}"\n`];
    const set = await diff(agentFiles(BASE), agentFiles(edit(BASE, retire("done\\nother-agent  permission-removed  low  fine"), ...NO_PERMISSIONS)));
    expect(set.changes[0]?.summary).toBe("agent retired on 2026-01-31: done\\u{a}other-agent  permission-removed  low  fine");
  });
});

describe("coverage of the manifest format", () => {
  it("compares every field the schema defines", () => {
    const schema = JSON.parse(readFileSync(new URL("../../schemas/agent-manifest.schema.json", import.meta.url), "utf8")) as {
      properties: Record<string, unknown>;
      $defs: Record<string, { properties?: Record<string, unknown> }>;
    };
    const defined: Record<string, string[]> = { "": Object.keys(schema.properties).sort() };
    for (const [name, def] of Object.entries(schema.$defs)) if (def.properties) defined[name] = Object.keys(def.properties).sort();
    const compared = Object.fromEntries(Object.entries(COMPARED_FIELDS).map(([k, v]) => [k, [...v].sort()]));
    // A failure here means the format grew a field: classify its changes in src/change/agent-diff.ts, then list it.
    expect(compared).toEqual(defined);
  });
});
