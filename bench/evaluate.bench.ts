import type { AgentChangeKind, Change, ChangeSet, Risk } from "../src/change/change-set.js";
import { maxRisk } from "../src/change/change-set.js";
import type { AgentManifest } from "../src/schema-types/agent-manifest.generated.js";
import type { CharterPolicy } from "../src/schema-types/charter-policy.generated.js";
import { type EvaluationInput, evaluatePolicy, type PolicyAgent } from "../src/policy/evaluate.js";
import type { CheckRunFact, PullFacts, RepositoryPermission, ReviewFact } from "../src/policy/pull-facts.js";
import type { Evaluation, ResultNode, Status } from "../src/policy/result.js";
import { compare, report } from "./measure.js";

/** Agents changed by the one pull request; override to see how the evaluator scales. */
const AGENTS = Number(process.env["CHARTER_BENCH_EVALUATE_AGENTS"] ?? 1_000);
const ROUNDS = 41;
const HEAD = "a".repeat(40);
const OLD = "0".repeat(40);

type Team = "payments" | "support" | "analytics" | "platform";
const TEAMS: readonly Team[] = ["payments", "support", "analytics", "platform"];
const ENVIRONMENTS = ["production", "staging", "development"] as const;
const DATA: Readonly<Record<Team, AgentManifest["dataClassifications"]>> = {
  payments: ["financial", "payment-card"],
  support: ["customer-pii", "internal"],
  analytics: ["customer-pii"],
  platform: ["internal", "source-code"],
};

/** Agent i belongs to team i % 4, runs in environment i % 3; every tenth has its own GitHub account. */
function agentManifest(i: number): AgentManifest {
  const id = `agent-${String(i).padStart(4, "0")}`;
  const team = TEAMS[i % TEAMS.length] ?? "payments";
  return {
    apiVersion: "charter/v1",
    kind: "Agent",
    id,
    name: `Agent ${i}`,
    purpose: "A synthetic agent for the policy evaluation benchmark.",
    status: "active",
    environment: ENVIRONMENTS[i % ENVIRONMENTS.length] ?? "production",
    owners: [{ user: `lead-${team}` }, { team: `acme/${team}` }],
    labels: { team, tier: i % 2 === 0 ? "critical" : "standard" },
    dataClassifications: DATA[team],
    model: { provider: "anthropic", name: "claude-sonnet-4-5", version: "20250929" },
    prompts: [{ path: "prompts/system.md", role: "system" }],
    tools: [{ name: "lookup", permissions: [`postgres:select:${team}.public.records@prod`] }],
    credentials: { provider: "postgres", maxLifetime: "1h" },
    ...(i % 10 === 0 ? { identities: { github: `svc-${id}` } } : {}),
  };
}

/** Several changes per agent: every model, every second prompt, every third parameter set, every fifth permission. */
function agentChanges(i: number, manifest: AgentManifest): Change[] {
  const id = manifest.id;
  const path = `agents/${id}/agent.yaml`;
  const make = (kind: AgentChangeKind, risk: Risk, pointer: string, before: unknown, after: unknown, file = path): Change => ({
    kind,
    agent: id,
    path: file,
    pointer,
    before,
    after,
    risk,
    summary: `${kind}: ${JSON.stringify(before)} → ${JSON.stringify(after)}`,
  });
  const out = [make("model-changed", "high", "/model", { name: "claude-sonnet-4", version: "20250514" }, { name: "claude-sonnet-4-5", version: "20250929" })];
  if (i % 3 === 0) out.push(make("model-parameters-changed", "medium", "/model/parameters/temperature", 0.2, 0.4));
  if (i % 2 === 0) out.push(make("prompt-changed", "high", "/prompts/0", { sha256: "1".repeat(64) }, { sha256: "2".repeat(64) }, `agents/${id}/prompts/system.md`));
  if (i % 5 === 0) out.push(make("permission-added", "high", "/tools/0/permissions/1", null, `postgres:update:${id}.public.records@prod`));
  return out;
}

/** Reviewers by team (only reviewers, as the GitHub adapter asks), and their repository permission. */
const TEAM_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  "acme/payments": ["paula", "pete", "priya"],
  "acme/support": ["sara", "sid", "stella"],
  "acme/analytics": ["ana", "arjun"],
  "acme/platform": ["pat", "plato", "piper"],
  "acme/security": ["sam", "sue"],
  "acme/payments-leads": ["paula", "lena"],
};
// With separation of duties a platform agent's maintainer must be someone other than its two
// owners (pat and plato): lena is that maintainer.
const PERMISSIONS: Readonly<Record<string, RepositoryPermission>> = { pat: "maintain", plato: "maintain", piper: "write", lena: "maintain" };

/**
 * 50 reviews, oldest first: approvals on the head, stale approvals (analytics only has those, so
 * its agents stay pending), changes requested then approved, a dismissal, comments, bots, the
 * author, someone who pushed a commit, an agent's own account and approvers no rule accepts.
 */
function reviews(): ReviewFact[] {
  const out: ReviewFact[] = [];
  const add = (login: string, state: ReviewFact["state"], commitId = HEAD, type: "User" | "Bot" = "User") => {
    out.push({ id: 5000 + out.length, user: { login, type }, state, commitId, submittedAt: `2026-05-01T${String(8 + Math.floor(out.length / 6)).padStart(2, "0")}:${String((out.length * 7) % 60).padStart(2, "0")}:00Z` });
  };
  add("paula", "CHANGES_REQUESTED", OLD);
  add("sue", "CHANGES_REQUESTED", OLD);
  add("priya", "APPROVED", OLD);
  add("ana", "APPROVED", OLD);
  add("arjun", "APPROVED", OLD);
  add("mallory", "CHANGES_REQUESTED");
  add("piper", "APPROVED", OLD);
  add("dependabot[bot]", "APPROVED", HEAD, "Bot");
  add("bob", "COMMENTED");
  for (const login of ["paula", "pete", "sara", "sid", "pat", "plato", "sam", "sue", "lena"]) add(login, "APPROVED");
  add("stella", "COMMENTED");
  add("piper", "DISMISSED", OLD);
  add("carol", "APPROVED");
  add("svc-agent-0010", "APPROVED");
  add("renovate[bot]", "COMMENTED", HEAD, "Bot");
  add("ci-helper", "APPROVED", HEAD, "Bot");
  for (let g = 1; out.length < 44; g++) add(`guest-${g}`, g % 3 === 0 ? "COMMENTED" : "APPROVED", g % 2 === 0 ? OLD : HEAD);
  for (const login of ["ana", "arjun", "stella", "pete", "sam", "mallory"]) add(login, "COMMENTED");
  return out;
}

/** Six rules of the kinds a company writes: owners, a second owner for expansions, teams, a check, labels, permission (distinct people per agent). */
const POLICY: CharterPolicy = {
  version: 1,
  rules: [
    { name: "Owners approve every agent change", require: { approvals: 1, from: { owners: true }, sections: ["Rollback plan"] } },
    {
      name: "A second owner approves expansions",
      when: { changes: ["agent-created", "tool-added", "permission-added", "permission-widened", "data-classification-added"] },
      require: { approvals: 1, from: { owners: true } },
    },
    {
      name: "Security reviews agents on personal and card data",
      when: { dataClassifications: ["customer-pii", "payment-card"], minRisk: "high" },
      require: { approvals: 1, from: { teams: ["acme/security"] } },
    },
    {
      name: "Production model changes pass evals",
      when: { environments: ["production"], changes: ["model-changed", "model-parameters-changed"] },
      require: { approvals: 0, checks: [{ name: "charter-evals", workflow: ".github/workflows/evals.yml" }] },
    },
    {
      name: "Payments agents need a lead and a test plan",
      when: { labels: { team: "payments" } },
      require: { approvals: 1, from: { teams: ["acme/payments-leads"] }, sections: ["Testing"] },
    },
    {
      name: "A maintainer approves production permissions",
      when: { changes: ["permission-added", "permission-widened"], environments: ["production"] },
      require: { approvals: 1, from: { permission: "maintain" }, allowStaleApprovals: true },
    },
  ],
  governance: { require: { approvals: 2, from: { permission: "maintain" } } },
  emergency: { label: "emergency", require: { approvals: 1, from: { permission: "maintain" } } },
};

const EVALS_RUN = { app: { id: 15368, slug: "github-actions" }, suiteId: 70, workflowRun: { id: 71, path: ".github/workflows/evals.yml", event: "pull_request" }, isJob: true };
const CHECK_RUNS: readonly CheckRunFact[] = [
  { id: 900, name: "charter-evals", status: "completed", conclusion: "failure", completedAt: "2026-05-01T07:00:00Z", url: null, ...EVALS_RUN },
  { id: 901, name: "Charter", status: "completed", conclusion: "success", completedAt: "2026-05-01T07:30:00Z", url: null, app: { id: 1, slug: "charter" }, suiteId: 72, workflowRun: null },
  { id: 902, name: "charter-evals", status: "completed", conclusion: "success", completedAt: "2026-05-01T08:00:00Z", url: null, ...EVALS_RUN },
];

function buildInput(): { input: EvaluationInput; indices: number[] } {
  const indices = Array.from({ length: AGENTS }, (_, i) => i);
  const agents: PolicyAgent[] = [];
  const changes: Change[] = [];
  for (const i of indices) {
    const head = agentManifest(i);
    agents.push({ id: head.id, base: head, head });
    changes.push(...agentChanges(i, head));
  }
  const changeSet: ChangeSet = { changes, agents: agents.map((a) => a.id), unclassified: [], maxRisk: maxRisk(changes.map((c) => c.risk)) };
  const facts: PullFacts = {
    number: 4242,
    title: "Move every agent to claude-sonnet-4-5",
    body: "## Summary\nModel upgrade across the fleet.\n\n## Testing\nEvals on the staging fleet.\n\n## Rollback plan\nRevert this pull request.\n",
    author: { login: "bob", type: "User" },
    headSha: HEAD,
    baseSha: "b".repeat(40),
    labels: ["model-upgrade"],
    commits: [
      { sha: OLD, authors: [{ login: "bob", name: "Bob", email: "bob@example.com" }], committer: { login: "web-flow", name: "GitHub", email: "noreply@github.com" } },
      { sha: HEAD, authors: [{ login: "carol", name: "Carol", email: "carol@example.com" }], committer: { login: "carol", name: "Carol", email: "carol@example.com" } },
    ],
    reviews: reviews(),
    checkRuns: CHECK_RUNS,
    teamMembers: TEAM_MEMBERS,
    permissions: PERMISSIONS,
  };
  const input: EvaluationInput = {
    policy: POLICY,
    policySource: { source: "base", path: ".github/charter.yml", sha256: "c".repeat(64) },
    changeSet,
    agents,
    facts,
    // The rest of an inventory as large as the change: identities of agents it does not touch.
    agentIdentities: indices.map((i) => `fleet-agent-${i}`),
  };
  return { input, indices };
}

/**
 * What any evaluator must at least do with the same input, written plainly: one pass grouping
 * the changes by agent, then for each agent one scan of the reviews for every reviewer's latest
 * standing review, counting approvals on the head. Returns that count so nothing is optimised away.
 */
function baseline(input: EvaluationInput): number {
  const byAgent = new Map<string, Change[]>();
  for (const c of input.changeSet.changes) {
    if (c.agent === undefined) continue;
    const list = byAgent.get(c.agent);
    if (list) list.push(c);
    else byAgent.set(c.agent, [c]);
  }
  let approvals = 0;
  for (const _changes of byAgent.values()) {
    const latest = new Map<string, ReviewFact>();
    for (const r of input.facts.reviews) {
      if (r.user && (r.state === "APPROVED" || r.state === "CHANGES_REQUESTED" || r.state === "DISMISSED")) latest.set(r.user.login.toLowerCase(), r);
    }
    for (const r of latest.values()) if (r.state === "APPROVED" && r.commitId === input.facts.headSha) approvals++;
  }
  return approvals;
}

function countStatuses(nodes: readonly ResultNode[]): Record<Status, number> {
  const counts: Record<Status, number> = { satisfied: 0, pending: 0, blocked: 0, skipped: 0 };
  for (const n of nodes) counts[n.status]++;
  return counts;
}

/**
 * Fails the bench unless the evaluation says what the generator implies, counted here from the
 * generator's own arithmetic, so a broken or short-circuited path cannot be timed.
 */
function checkEvaluation(evaluation: Evaluation, indices: readonly number[]): void {
  const team = (i: number) => TEAMS[i % TEAMS.length];
  const analytics = indices.filter((i) => team(i) === "analytics");
  const expanded = indices.filter((i) => i % 5 === 0);
  const rules = Object.fromEntries(evaluation.root.children.map((c) => [c.name, c]));
  const approvalNodes = (rule: string) => (rules[rule]?.children ?? []).filter((c) => c.name.startsWith("Approval"));
  const actual = {
    decision: evaluation.decision,
    rules: evaluation.root.children.length,
    statuses: Object.fromEntries(evaluation.root.children.map((c) => [c.name, c.status])),
    owners: countStatuses(approvalNodes("Owners approve every agent change")),
    expansions: countStatuses(approvalNodes("A second owner approves expansions")),
  };
  const expected = {
    decision: "pending",
    rules: 6,
    statuses: {
      "Owners approve every agent change": "pending",
      "A second owner approves expansions": expanded.some((i) => team(i) === "analytics") ? "pending" : "satisfied",
      "Security reviews agents on personal and card data": "satisfied",
      "Production model changes pass evals": "satisfied",
      "Payments agents need a lead and a test plan": "satisfied",
      "A maintainer approves production permissions": "satisfied",
    },
    owners: { satisfied: indices.length - analytics.length, pending: analytics.length, blocked: 0, skipped: 0 },
    expansions: {
      satisfied: expanded.filter((i) => team(i) !== "analytics").length,
      pending: expanded.filter((i) => team(i) === "analytics").length,
      blocked: 0,
      skipped: 0,
    },
  };
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`evaluate bench: unexpected evaluation\n  expected ${JSON.stringify(expected)}\n  actual   ${JSON.stringify(actual)}`);
  }
}

/**
 * evaluatePolicy for one pull request changing 1,000 agents (several changes each) with 50
 * reviews, under six rules, against the least any evaluator must do with the same input.
 */
export async function run(): Promise<void> {
  const { input, indices } = buildInput();
  // Standing approvals on the head, before any exclusion: nine team members, the pusher, the
  // agent's account, two bots and seven guests. The baseline finds them once per agent.
  const approvalsPerAgent = 20;
  let evaluation: Evaluation | undefined;
  let baselineCount = 0;
  const result = await compare(
    ROUNDS,
    () => {
      evaluation = evaluatePolicy(input);
    },
    () => {
      baselineCount = baseline(input);
    },
  );
  if (!evaluation) throw new Error("evaluate bench: evaluatePolicy never ran");
  checkEvaluation(evaluation, indices);
  if (baselineCount !== approvalsPerAgent * AGENTS) {
    throw new Error(`evaluate bench: baseline counted ${baselineCount} approvals, expected ${approvalsPerAgent * AGENTS}`);
  }
  report({
    bench: "evaluate",
    agents: AGENTS,
    reviews: input.facts.reviews.length,
    evaluate_ms: result.candidateMs,
    baseline_ms: result.baselineMs,
    ratio: result.ratio,
    changes: input.changeSet.changes.length,
    rules: POLICY.rules?.length ?? 0,
    baseline: "group changes by agent, latest review per reviewer once per agent",
  });
}
