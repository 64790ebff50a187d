import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ChangeKind } from "../../src/change/change-set.js";
import type { Owner } from "../../src/schema-types/agent-manifest.generated.js";
import type { CharterPolicy, Requirement, Rule } from "../../src/schema-types/charter-policy.generated.js";
import type { PolicyAgent } from "../../src/policy/evaluate.js";
import type { CheckRunFact, CommitFact, GitPerson, PullFacts, RepositoryPermission, ReviewFact } from "../../src/policy/pull-facts.js";
import type { CountedApproval, Evaluation } from "../../src/policy/result.js";
import { change, changeSet, evaluate, flatten, HEAD, manifest, OLD } from "./policy-fixtures.js";

// Random pull requests against random policies. The expectations are computed here, from the
// rules as docs/policy.md states them, never from the evaluator's own helpers.

const LOGINS = ["ann", "Ann", "bob", "cy", "dee", "eve", "fay", "gus", "svc-agent", "ops[bot]"] as const;
const TEAMS = ["acme/owners", "acme/security"] as const;
const AGENT_IDS = ["alpha", "beta", "gamma"] as const;
const KINDS = ["model-changed", "permission-added", "prompt-changed", "tool-added"] as const satisfies readonly ChangeKind[];
const CHECKS = ["evals", "scan"] as const;
const WORKFLOWS = [".github/workflows/evals.yml", ".github/workflows/other.yml"] as const;
const PERMISSIONS: readonly RepositoryPermission[] = ["none", "read", "write", "maintain", "admin"];
const RANK: readonly RepositoryPermission[] = ["none", "read", "triage", "write", "maintain", "admin"];

const login = fc.constantFrom(...LOGINS);
const owner: fc.Arbitrary<Owner> = fc.oneof(login.map((user) => ({ user })), fc.constantFrom(...TEAMS).map((team) => ({ team })));

const requirement: fc.Arbitrary<Requirement> = fc.record(
  {
    approvals: fc.integer({ min: 0, max: 3 }),
    from: fc.record(
      { owners: fc.boolean(), teams: fc.subarray([...TEAMS], { minLength: 1 }), users: fc.uniqueArray(login, { minLength: 1, maxLength: 3 }), permission: fc.constantFrom("write", "maintain", "admin" as const) },
      { requiredKeys: [] },
    ),
    checks: fc.array(
      fc.oneof(
        fc.constantFrom(...CHECKS),
        fc.record({ name: fc.constantFrom(...CHECKS), app: fc.constantFrom("ci", "scanner") }),
        fc.record({ name: fc.constantFrom(...CHECKS), workflow: fc.constantFrom(...WORKFLOWS) }),
      ),
      { maxLength: 2 },
    ),
    allowStaleApprovals: fc.boolean(),
  },
  { requiredKeys: [] },
).map((r) => (r.from && Object.keys(r.from).length === 0 ? { ...r, from: { owners: true } } : r));

const rule: fc.Arbitrary<Rule> = fc.record({
  name: fc.constantFrom("R1", "R2", "R3", "R4"),
  when: fc.record({ changes: fc.subarray([...KINDS], { minLength: 1 }), agents: fc.subarray([...AGENT_IDS], { minLength: 1 }) }, { requiredKeys: [] }),
  require: requirement,
});

const policy: fc.Arbitrary<CharterPolicy> = fc
  .record({ rules: fc.array(rule, { maxLength: 4 }), separationOfDuties: fc.option(fc.boolean(), { nil: undefined }), governance: fc.option(requirement, { nil: undefined }) })
  .map(({ rules, separationOfDuties, governance }) => ({
    version: 1 as const,
    // Rule names are unique in the check run; make them so here.
    rules: rules.map((r, i) => ({ ...r, name: `${r.name}-${i}` })),
    ...(separationOfDuties === undefined ? {} : { separationOfDuties }),
    ...(governance === undefined ? {} : { governance: { require: governance } }),
  }));

const person = fc.record({ login: fc.option(login, { nil: null }), email: fc.constantFrom("a@x.example", "b@x.example", "noreply@github.com", "7+ops[bot]@users.noreply.github.com") }).map(
  (p): GitPerson => ({ login: p.login, name: p.login ?? "Someone", email: p.email }),
);
const commit: fc.Arbitrary<CommitFact> = fc.record({ authors: fc.array(person, { minLength: 1, maxLength: 3 }), committer: fc.option(person, { nil: null }) }).map((c) => ({ sha: HEAD, ...c }));

/** Accounts of type Bot: an app's `[bot]` login, and one without the suffix. */
const BOTS: ReadonlySet<string> = new Set(["ops[bot]", "gus"]);
const review: fc.Arbitrary<ReviewFact> = fc
  .record({ user: login, state: fc.constantFrom("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED" as const), stale: fc.boolean() })
  .map((r) => ({ id: 0, user: { login: r.user, type: BOTS.has(r.user) ? ("Bot" as const) : ("User" as const) }, state: r.state, commitId: r.stale ? OLD : HEAD, submittedAt: "2026-11-01T10:00:00Z" }));

const run: fc.Arbitrary<CheckRunFact> = fc
  .record({ name: fc.constantFrom(...CHECKS), app: fc.constantFrom("ci", "scanner", "github-actions"), workflow: fc.constantFrom(...WORKFLOWS), suite: fc.integer({ min: 1, max: 3 }), conclusion: fc.constantFrom("success", "failure", null), isJob: fc.boolean() })
  .map((r) => ({
    id: 0,
    name: r.name,
    status: r.conclusion === null ? "in_progress" : "completed",
    conclusion: r.conclusion,
    completedAt: null,
    url: null,
    app: { id: r.app === "github-actions" ? 15368 : 1, slug: r.app },
    suiteId: r.suite,
    workflowRun: r.app === "github-actions" ? { id: r.suite, path: r.workflow, event: "pull_request" } : null,
    ...(r.app === "github-actions" ? { isJob: r.isJob } : {}),
  }));

const agent = (id: string): fc.Arbitrary<PolicyAgent> =>
  fc
    .record({ owners: fc.array(owner, { minLength: 1, maxLength: 3 }), identity: fc.option(login.filter((l) => !l.endsWith("]")), { nil: undefined }), isNew: fc.boolean() })
    .map(({ owners, identity, isNew }) => {
      const m = manifest(id, { owners, ...(identity === undefined ? {} : { identities: { github: identity } }) });
      return { id, base: isNew ? undefined : m, head: m };
    });

const scenario = fc.record({
  policy,
  agents: fc.tuple(agent("alpha"), agent("beta"), agent("gamma")),
  changes: fc.array(fc.record({ kind: fc.constantFrom(...KINDS), agent: fc.constantFrom(...AGENT_IDS) }), { minLength: 1, maxLength: 5 }),
  governanceChanged: fc.boolean(),
  author: login,
  commits: fc.array(commit, { maxLength: 3 }),
  reviews: fc.array(review, { maxLength: 12 }),
  checkRuns: fc.array(run, { maxLength: 6 }),
  members: fc.record({ "acme/owners": fc.subarray([...LOGINS]), "acme/security": fc.subarray([...LOGINS]) }),
  permissions: fc.dictionary(login, fc.constantFrom(...PERMISSIONS), { maxKeys: 5 }),
  inventory: fc.subarray([...LOGINS]),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function evaluateScenario(s: Scenario): { evaluation: Evaluation; facts: PullFacts } {
  const set = changeSet([...s.changes.map((c) => change(c.kind, c.agent)), ...(s.governanceChanged ? [change("policy-changed", undefined, "critical")] : [])]);
  const facts: PullFacts = {
    number: 1,
    title: "t",
    body: "",
    author: { login: s.author, type: "User" },
    headSha: HEAD,
    baseSha: "b".repeat(40),
    labels: [],
    commits: s.commits,
    reviews: s.reviews.map((r, i) => ({ ...r, id: i + 1 })),
    checkRuns: s.checkRuns.map((r, i) => ({ ...r, id: i + 1 })),
    teamMembers: s.members,
    permissions: s.permissions,
  };
  return { evaluation: evaluate(s.policy, set, facts, s.agents, { agentIdentities: s.inventory }), facts };
}

const lower = (l: string): string => l.toLowerCase();

/** Who can never approve, straight from docs/policy.md. */
function neverApprove(s: Scenario, facts: PullFacts): Set<string> {
  const out = new Set<string>([lower(s.author), ...s.inventory.map(lower)]);
  for (const a of s.agents) for (const m of [a.base, a.head]) if (m?.identities?.github) out.add(lower(m.identities.github));
  for (const c of facts.commits) {
    for (const p of [...c.authors, ...(c.committer ? [c.committer] : [])]) {
      const noreply = /^\d+\+(.+)@users\.noreply\.github\.com$/.exec(p.email)?.[1];
      const who = p.login ?? noreply;
      if (who && !(p === c.committer && lower(who) === "web-flow")) out.add(lower(who));
    }
  }
  for (const bot of BOTS) out.add(lower(bot));
  return out;
}

/** The requirement an approval was counted for, found by its rule's name. */
function requirementOf(s: Scenario, approval: CountedApproval): Requirement | undefined {
  if (approval.rule === "Governance") return s.policy.governance?.require ?? { approvals: 2, from: { permission: "maintain" } };
  return s.policy.rules?.find((r) => r.name === approval.rule)?.require;
}

function eligible(s: Scenario, facts: PullFacts, approval: CountedApproval): boolean {
  const requirement = requirementOf(s, approval);
  if (!requirement) return false;
  // docs/policy.md: owners do not apply to governance, which falls back to maintainers.
  const { owners: _owners, ...others } = requirement.from ?? {};
  const from = approval.rule === "Governance" ? (Object.keys(others).length > 0 ? others : { permission: "maintain" as const }) : (requirement.from ?? { owners: true });
  const who = lower(approval.reviewer);
  const member = (team: string) => (facts.teamMembers[team] ?? []).some((m) => lower(m) === who);
  const agent = s.agents.find((a) => a.id === approval.agent);
  const owners = "owners" in from && from.owners ? (agent?.base?.owners ?? agent?.head?.owners ?? []) : [];
  if (owners.some((o) => (o.user !== undefined && lower(o.user) === who) || (o.team !== undefined && member(o.team)))) return true;
  if ((from.users ?? []).some((u) => lower(u) === who)) return true;
  if ((from.teams ?? []).some(member)) return true;
  if (from.permission) {
    // As the evaluator reads it: the key spelled in lower case wins over one differing only in case.
    const exact = Object.hasOwn(facts.permissions, who) ? facts.permissions[who] : undefined;
    const has = exact ?? Object.entries(facts.permissions).find(([k]) => lower(k) === who)?.[1] ?? "none";
    if (RANK.indexOf(has) >= RANK.indexOf(from.permission)) return true;
  }
  return false;
}

/** The reviewer's standing review: the latest approve, change request or dismissal. */
function standing(facts: PullFacts, reviewer: string): ReviewFact | undefined {
  return facts.reviews.filter((r) => r.user && lower(r.user.login) === lower(reviewer) && ["APPROVED", "CHANGES_REQUESTED", "DISMISSED"].includes(r.state)).at(-1);
}

const RUNS = 1000;

describe("policy evaluation on random pull requests", () => {
  it(`never throws, and never counts an approval it must not (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { evaluation, facts } = evaluateScenario(s);
        expect(["approved", "pending", "blocked", "invalid"]).toContain(evaluation.decision);
        const never = neverApprove(s, facts);
        const counted = flatten(evaluation.root).flatMap((n) => n.approvals ?? []);
        for (const a of counted) {
          // No excluded account is ever counted.
          expect(never.has(lower(a.reviewer)), `${a.reviewer} is excluded`).toBe(false);
          // An approval never counts for a rule it is not eligible for.
          expect(eligible(s, facts, a), `${a.reviewer} for ${a.rule}`).toBe(true);
          const latest = standing(facts, a.reviewer);
          expect(latest?.state).toBe("APPROVED");
          if (!requirementOf(s, a)?.allowStaleApprovals) expect(latest?.commitId).toBe(HEAD);
        }
        // Distinct-approver rules never share a person on one agent.
        if (s.policy.separationOfDuties !== false) {
          const seen = new Map<string, string>();
          for (const a of counted) {
            const key = `${a.agent ?? ""}\n${lower(a.reviewer)}`;
            const rule = seen.get(key);
            expect(rule === undefined || rule === a.rule, `${a.reviewer} counted for ${rule ?? ""} and ${a.rule} on ${a.agent ?? "governance"}`).toBe(true);
            seen.set(key, a.rule);
          }
        }
        // Approved means every triggered approval node has what it needs.
        if (evaluation.decision === "approved") {
          for (const n of flatten(evaluation.root)) if (n.approvals) expect(n.status).toBe("satisfied");
        }
      }),
      { numRuns: RUNS },
    );
  });

  it(`counts a workflow-bound or app-bound check only from its source, and never hides a failure (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { evaluation, facts } = evaluateScenario(s);
        for (const n of flatten(evaluation.root).filter((x) => x.name.startsWith('Check "'))) {
          if (n.status !== "satisfied") continue;
          const name = n.name.slice('Check "'.length, -1);
          const specs = [...(s.policy.rules ?? []).map((r) => r.require), s.policy.governance?.require].flatMap((r) => r?.checks ?? []).filter((c) => (typeof c === "string" ? c : c.name) === name);
          // Satisfied only if some spec of that name has a source whose runs all succeeded.
          const ok = specs.some((c) => {
            if (typeof c === "string") return false;
            const runs = facts.checkRuns.filter(
              (r) => r.name === name && (c.workflow !== undefined ? r.app?.slug === "github-actions" && r.workflowRun?.path === c.workflow && r.isJob === true : c.app !== undefined && r.app?.slug === c.app),
            );
            const newestPerSuite = new Map<number | null, CheckRunFact>();
            for (const r of runs) if ((newestPerSuite.get(r.suiteId)?.id ?? -1) < r.id) newestPerSuite.set(r.suiteId, r);
            return newestPerSuite.size > 0 && [...newestPerSuite.values()].every((r) => r.status === "completed" && r.conclusion === "success");
          });
          expect(ok, `${name} satisfied`).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it(`finds an assignment whenever one exists, as a brute-force search does (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { evaluation, facts } = evaluateScenario(s);
        if (s.policy.separationOfDuties === false) return;
        const never = neverApprove(s, facts);
        // Per agent: the approval nodes of every triggered rule, and who could fill each.
        const byAgent = new Map<string, { need: number; who: string[]; satisfied: boolean }[]>();
        for (const ruleNode of evaluation.root.children) {
          for (const n of ruleNode.children.filter((c) => c.approvals !== undefined)) {
            const agentId = n.name.startsWith("Approval for ") ? n.name.slice("Approval for ".length) : "";
            const need = Number(/of (\d+) approval/.exec(n.summary)?.[1] ?? "0");
            const who = LOGINS.filter((l, i) => LOGINS.findIndex((m) => lower(m) === lower(l)) === i).filter((l) => {
              const latest = standing(facts, l);
              const fake: CountedApproval = { reviewer: l, via: "", rule: ruleNode.name, ...(agentId ? { agent: agentId } : {}), commitId: null, submittedAt: null };
              const requirement = requirementOf(s, fake);
              return !never.has(lower(l)) && latest?.state === "APPROVED" && (latest.commitId === HEAD || requirement?.allowStaleApprovals === true) && eligible(s, facts, fake);
            });
            const list = byAgent.get(agentId) ?? [];
            list.push({ need, who: who.map(lower), satisfied: (n.approvals?.length ?? 0) >= need });
            byAgent.set(agentId, list);
          }
        }
        for (const nodes of byAgent.values()) {
          expect(nodes.every((n) => n.satisfied)).toBe(assignable(nodes));
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe("the approver assignment on crowded pull requests", () => {
  // Few people, each eligible for several rules on the one changed agent: where a greedy pass fails.
  const PEOPLE = ["p1", "p2", "p3", "p4", "p5"] as const;
  const crowded = fc.record({
    rules: fc.array(fc.record({ users: fc.subarray([...PEOPLE], { minLength: 1 }), approvals: fc.integer({ min: 1, max: 2 }) }), { minLength: 2, maxLength: 4 }),
    approvers: fc.subarray([...PEOPLE], { minLength: 1 }),
  });

  it(`fills every rule exactly when distinct people can (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(crowded, ({ rules, approvers }) => {
        const policy: CharterPolicy = { version: 1, rules: rules.map((r, i) => ({ name: `R${i}`, require: { approvals: r.approvals, from: { users: r.users } } })) };
        const evaluation = evaluate(policy, changeSet([change("model-changed", "alpha")]), {
          ...baseFacts(),
          reviews: approvers.map((login, i) => ({ id: i + 1, user: { login, type: "User" }, state: "APPROVED", commitId: HEAD, submittedAt: null })),
        }, [{ id: "alpha", base: manifest("alpha"), head: manifest("alpha") }]);
        const possible = assignable(rules.map((r) => ({ need: r.approvals, who: r.users.filter((u) => approvers.includes(u)) })));
        expect(evaluation.decision === "approved").toBe(possible);
      }),
      { numRuns: RUNS },
    );
  });
});

function baseFacts(): PullFacts {
  return { number: 1, title: "t", body: "", author: { login: "author", type: "User" }, headSha: HEAD, baseSha: "b".repeat(40), labels: [], commits: [], reviews: [], checkRuns: [], teamMembers: {}, permissions: {} };
}

/**
 * Whether distinct people can fill every node's need: backtracking over each node's choice of
 * people (combinations, not orderings), small enough here to try them all.
 */
function assignable(nodes: readonly { need: number; who: readonly string[] }[]): boolean {
  const used = new Set<string>();
  const fill = (node: number, start: number, left: number): boolean => {
    const current = nodes[node];
    if (!current) return true;
    if (left === 0) return fill(node + 1, 0, nodes[node + 1]?.need ?? 0);
    for (let i = start; i < current.who.length; i++) {
      const w = current.who[i] ?? "";
      if (used.has(w)) continue;
      used.add(w);
      if (fill(node, i + 1, left - 1)) return true;
      used.delete(w);
    }
    return false;
  };
  return fill(0, 0, nodes[0]?.need ?? 0);
}
