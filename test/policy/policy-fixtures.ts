import type { Change, ChangeKind, ChangeSet, Risk } from "../../src/change/change-set.js";
import type { AgentManifest } from "../../src/schema-types/agent-manifest.generated.js";
import type { CharterPolicy } from "../../src/schema-types/charter-policy.generated.js";
import { type EvaluationInput, evaluatePolicy, type PolicyAgent } from "../../src/policy/evaluate.js";
import type { CheckRunFact, CommitFact, GitPerson, PullFacts, ReviewFact } from "../../src/policy/pull-facts.js";
import type { Evaluation, ResultNode } from "../../src/policy/result.js";

export const HEAD = "h".repeat(40);
export const OLD = "o".repeat(40);

export function manifest(id: string, overrides: Partial<AgentManifest> = {}): AgentManifest {
  return {
    apiVersion: "charter/v1",
    kind: "Agent",
    id,
    name: id,
    purpose: "An agent used in policy tests.",
    status: "active",
    environment: "production",
    owners: [{ user: "olivia" }, { team: "acme/payments" }],
    dataClassifications: ["financial"],
    model: { provider: "anthropic", name: "claude-sonnet-4-5", version: "20250929" },
    prompts: [],
    tools: [],
    credentials: { provider: "local", maxLifetime: "1h" },
    ...overrides,
  };
}

export function change(kind: ChangeKind, agent: string | undefined, risk: Risk = "high", path?: string): Change {
  return { kind, ...(agent ? { agent } : {}), path: path ?? (agent ? `agents/${agent}/agent.yaml` : ".github/charter.yml"), before: null, after: null, risk, summary: kind };
}

export function changeSet(changes: readonly Change[], unclassified: readonly string[] = []): ChangeSet {
  const order: Risk[] = ["low", "medium", "high", "critical"];
  return {
    changes,
    agents: [...new Set(changes.map((c) => c.agent).filter((a): a is string => a !== undefined))],
    unclassified,
    maxRisk: changes.reduce<Risk>((m, c) => (order.indexOf(c.risk) > order.indexOf(m) ? c.risk : m), "low"),
  };
}

let reviewId = 0;
export function review(login: string, state: ReviewFact["state"], commitId = HEAD, type: "User" | "Bot" = "User"): ReviewFact {
  reviewId++;
  return { id: reviewId, user: { login, type }, state, commitId, submittedAt: `2026-11-0${1 + (reviewId % 8)}T10:00:00Z` };
}

/** A commit by `author` (a login, or null for an identity GitHub cannot link), with co-authors. */
export function commit(sha: string, author: string | null, options: { committer?: string | null; coAuthors?: readonly (string | null)[]; email?: string } = {}): CommitFact {
  const person = (login: string | null, email = options.email): GitPerson => ({ login, name: login ?? "Someone", email: email ?? (login ? `${login}@example.com` : "someone@example.com") });
  return {
    sha,
    authors: [person(author), ...(options.coAuthors ?? []).map((login, i) => person(login, login ? undefined : `co-author-${i}@example.com`))],
    committer: person(options.committer === undefined ? author : options.committer),
  };
}

let runId = 100;
/** A check run as the GitHub adapter reports it: posted by `app`, or by GitHub Actions for `workflow` (a job unless told otherwise). */
export function checkRun(name: string, conclusion: string | null, source: { app?: string; appId?: number; workflow?: string; isJob?: boolean; suite?: number; status?: string } = {}): CheckRunFact {
  runId++;
  const workflow = source.workflow;
  return {
    id: runId,
    name,
    status: source.status ?? (conclusion === null ? "in_progress" : "completed"),
    conclusion,
    completedAt: conclusion === null ? null : "2026-11-02T10:00:00Z",
    url: `https://github.example/runs/${runId}`,
    app: workflow !== undefined ? { id: 15368, slug: "github-actions" } : { id: source.appId ?? 77, slug: source.app ?? "ci" },
    suiteId: source.suite ?? (workflow !== undefined ? 5000 + workflow.length : 4000),
    workflowRun: workflow !== undefined ? { id: 9000 + workflow.length, path: workflow, event: "pull_request" } : null,
    ...(workflow !== undefined ? { isJob: source.isJob ?? true } : {}),
  };
}

export function facts(overrides: Partial<PullFacts> = {}): PullFacts {
  return {
    number: 7,
    title: "Change",
    body: "## Rollback plan\nRevert this pull request.\n",
    author: { login: "bob", type: "User" },
    headSha: HEAD,
    baseSha: "b".repeat(40),
    labels: [],
    commits: [commit(HEAD, "bob")],
    reviews: [],
    checkRuns: [],
    teamMembers: { "acme/payments": ["paula"], "acme/security": ["sam", "sue"] },
    permissions: {},
    ...overrides,
  };
}

export function evaluate(policy: CharterPolicy, set: ChangeSet, pullFacts: PullFacts, agents: readonly PolicyAgent[] = [{ id: "payments", base: manifest("payments"), head: manifest("payments") }], extra: Partial<EvaluationInput> = {}): Evaluation {
  return evaluatePolicy({ policy, policySource: { source: "base", path: ".github/charter.yml", sha256: null }, changeSet: set, agents, facts: pullFacts, ...extra, agentIdentities: extra.agentIdentities ?? [] });
}

/** Every node of the tree, depth first, for assertions about explanations. */
export function flatten(node: ResultNode): ResultNode[] {
  return [node, ...node.children.flatMap(flatten)];
}

export function text(evaluation: Evaluation): string {
  return flatten(evaluation.root)
    .flatMap((n) => [n.summary, ...n.details, ...n.missing.map((m) => m.detail)])
    .join("\n");
}
