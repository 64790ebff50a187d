import { describe, expect, it } from "vitest";
import type { CharterPolicy } from "../../src/schema-types/charter-policy.generated.js";
import { DEFAULT_POLICY } from "../../src/policy/default-policy.js";
import { change, changeSet, checkRun, commit, evaluate, facts, flatten, HEAD, manifest, review, text } from "./policy-fixtures.js";

// Each test is an attempt to get a change approved that the policy forbids; each failed against
// the evaluator before the rule it names was enforced.

const ONE_OWNER: CharterPolicy = { version: 1, rules: [{ name: "Owners", require: { approvals: 1, from: { owners: true } } }] };
const MODEL = changeSet([change("model-changed", "payments")]);

describe("agents never approve", () => {
  it("does not count the account of an agent the pull request does not touch, even when it owns the changed agent", () => {
    // The machine user of another agent (ops-helper) is listed as an owner of payments.
    const agents = [{ id: "payments", base: manifest("payments", { owners: [{ user: "ops-helper-bot" }] }), head: manifest("payments", { owners: [{ user: "ops-helper-bot" }] }) }];
    const evaluation = evaluate(ONE_OWNER, MODEL, facts({ reviews: [review("ops-helper-bot", "APPROVED")] }), agents, { agentIdentities: ["Ops-Helper-Bot"] });
    expect(evaluation.decision).toBe("pending");
    expect(text(evaluation)).toContain("@ops-helper-bot's review does not count: the account is an agent's own.");
    expect(evaluation.approvers.excludedReviews).toEqual([{ reviewer: "ops-helper-bot", reason: "agent" }]);
  });

  it("does not offer an agent's account as someone who could approve, and says why", () => {
    const agents = [{ id: "payments", base: manifest("payments", { owners: [{ user: "ops-helper-bot" }, { user: "olivia" }] }), head: manifest("payments") }];
    const evaluation = evaluate(ONE_OWNER, MODEL, facts({ reviews: [review("ops-helper-bot", "APPROVED")] }), agents, { agentIdentities: ["ops-helper-bot"] });
    expect(flatten(evaluation.root).flatMap((n) => n.missing)).toEqual([expect.objectContaining({ what: "approval", from: ["@olivia"] })]);
    expect(text(evaluation)).toContain("@ops-helper-bot is listed as an approver but is an agent's own account: it never counts.");
  });

  it("does not count a bot whose login has no [bot] suffix", () => {
    const evaluation = evaluate(ONE_OWNER, MODEL, facts({ reviews: [review("olivia", "APPROVED", HEAD, "Bot")] }));
    expect(evaluation.decision).toBe("pending");
  });

  it("excludes agents from the governance rule and the emergency lane too", () => {
    const policy: CharterPolicy = {
      version: 1,
      rules: [],
      governance: { require: { approvals: 1, from: { users: ["gov-agent"] } } },
      emergency: { label: "emergency", require: { approvals: 1, from: { users: ["gov-agent"] } } },
    };
    const governance = evaluate(policy, changeSet([change("policy-changed", undefined, "critical")]), facts({ reviews: [review("gov-agent", "APPROVED")] }), [], { agentIdentities: ["gov-agent"] });
    expect(governance.decision).toBe("pending");
    const body = "## Emergency reason\nEverything is on fire.\n";
    const emergency = evaluate(policy, MODEL, facts({ labels: ["emergency"], body, reviews: [review("gov-agent", "APPROVED")] }), undefined, { agentIdentities: ["gov-agent"] });
    expect(emergency.emergency.active).toBe(true);
    expect(emergency.decision).toBe("pending");
  });
});

describe("contributors never approve", () => {
  it("does not count an owner named only in a Co-authored-by trailer", () => {
    const f = facts({ reviews: [review("olivia", "APPROVED")], commits: [commit(HEAD, "bob", { coAuthors: ["Olivia"] })] });
    const evaluation = evaluate(ONE_OWNER, MODEL, f);
    expect(evaluation.decision).toBe("pending");
    expect(text(evaluation)).toContain("@olivia's review does not count: they authored, co-authored or committed commits in this pull request.");
    expect(evaluation.approvers.contributors).toEqual(["bob", "Olivia"]);
  });

  it("does not count an owner who only committed (rebased or cherry-picked) someone else's commit", () => {
    const f = facts({ reviews: [review("paula", "APPROVED")], commits: [commit(HEAD, "bob", { committer: "paula" })] });
    expect(evaluate(ONE_OWNER, MODEL, f).decision).toBe("pending");
  });

  it("blocks, with what to do, when GitHub cannot link a co-author to an account", () => {
    const f = facts({ reviews: [review("olivia", "APPROVED")], commits: [commit(HEAD, "bob", { coAuthors: [null] })] });
    const evaluation = evaluate(ONE_OWNER, MODEL, f);
    expect(evaluation.decision).toBe("blocked");
    const node = evaluation.root.children.find((c) => c.name === "Commit authors");
    expect(node?.details).toEqual([`Commit ${HEAD.slice(0, 7)}: co-author Someone <co-author-0@example.com> is not linked to a GitHub account.`]);
    expect(node?.missing).toEqual([expect.objectContaining({ what: "identity", detail: expect.stringContaining("add the address (co-author-0@example.com) to their GitHub account") as unknown })]);
  });

  it("applies the same rule to an unlinked git author and committer", () => {
    for (const c of [commit(HEAD, null, { committer: "bob", email: "laptop@corp.example" }), commit(HEAD, "bob", { committer: null, email: "build@corp.example" })]) {
      const evaluation = evaluate(ONE_OWNER, MODEL, facts({ reviews: [review("olivia", "APPROVED")], commits: [c] }));
      expect(evaluation.decision).toBe("blocked");
    }
  });

  it("recognises GitHub's own committer and an app's noreply address, which are nobody's unlinked work", () => {
    const web = { sha: HEAD, authors: [{ login: "bob", name: "Bob", email: "bob@example.com" }], committer: { login: null, name: "GitHub", email: "noreply@github.com" } };
    expect(evaluate(ONE_OWNER, MODEL, facts({ reviews: [review("olivia", "APPROVED")], commits: [web] })).decision).toBe("approved");
    const bot = { sha: HEAD, authors: [{ login: null, name: "renovate[bot]", email: "29139614+renovate[bot]@users.noreply.github.com" }], committer: null };
    const evaluation = evaluate(ONE_OWNER, MODEL, facts({ reviews: [review("olivia", "APPROVED")], commits: [bot] }));
    expect(evaluation.decision).toBe("approved");
    expect(evaluation.approvers.contributors).toContain("renovate[bot]");
  });

  it("needs no linked identities when nothing needs an approval", () => {
    const checksOnly: CharterPolicy = { version: 1, rules: [{ name: "Tested", require: { approvals: 0, sections: ["Rollback plan"] } }] };
    expect(evaluate(checksOnly, MODEL, facts({ commits: [commit(HEAD, null)] })).decision).toBe("approved");
  });
});

describe("required checks are bound to their source", () => {
  const EVALS = ".github/workflows/evals.yml";
  const byWorkflow: CharterPolicy = { version: 1, rules: [{ name: "Evals", require: { approvals: 0, checks: [{ name: "agent-evals", workflow: EVALS }] } }] };
  const byApp: CharterPolicy = { version: 1, rules: [{ name: "Scan", require: { approvals: 0, checks: [{ name: "scan", app: "scanner" }] } }] };
  const decide = (policy: CharterPolicy, runs: ReturnType<typeof checkRun>[], changes = MODEL) => evaluate(policy, changes, facts({ checkRuns: runs }));

  it("ignores a green run with the right name from another app, and says so", () => {
    const evaluation = decide(byApp, [checkRun("scan", "success", { app: "evil-ci" })]);
    expect(evaluation.decision).toBe("pending");
    expect(text(evaluation)).toContain("Not counted: a run by app evil-ci, which is not the expected source.");
    expect(decide({ ...byApp, rules: [{ name: "Scan", require: { approvals: 0, checks: [{ name: "scan", app: 77 }] } }] }, [checkRun("scan", "success", { appId: 77 })]).decision).toBe("approved");
  });

  it("never lets another source's green run hide the expected source's failure", () => {
    const evaluation = decide(byApp, [checkRun("scan", "failure", { app: "scanner" }), checkRun("scan", "success", { app: "evil-ci" })]);
    expect(evaluation.decision).toBe("blocked");
    expect(text(evaluation)).toContain('"scan" from app scanner concluded failure.');
  });

  it("never lets one suite's success hide another suite's failure from the same source", () => {
    const evaluation = decide(byWorkflow, [checkRun("agent-evals", "failure", { workflow: EVALS, suite: 1 }), checkRun("agent-evals", "success", { workflow: EVALS, suite: 2 })]);
    expect(evaluation.decision).toBe("blocked");
  });

  it("takes a re-run in the same suite in place of the run it repeats", () => {
    expect(decide(byWorkflow, [checkRun("agent-evals", "failure", { workflow: EVALS, suite: 1 }), checkRun("agent-evals", "success", { workflow: EVALS, suite: 1 })]).decision).toBe("approved");
  });

  it("ignores a job of another workflow with the same name", () => {
    const evaluation = decide(byWorkflow, [checkRun("agent-evals", "success", { workflow: ".github/workflows/fake.yml" })]);
    expect(evaluation.decision).toBe("pending");
    expect(text(evaluation)).toContain("Not counted: a run by workflow .github/workflows/fake.yml, which is not the expected source.");
  });

  it("ignores a run a step created through the checks API inside the bound workflow's suite", () => {
    const evaluation = decide(byWorkflow, [checkRun("agent-evals", "success", { workflow: EVALS, isJob: false })]);
    expect(evaluation.decision).toBe("pending");
    expect(text(evaluation)).toContain("which is not one of its jobs (a run created through the checks API)");
  });

  it("trusts no workflow-bound run on a pull request that changes workflow files", () => {
    const changes = changeSet([change("model-changed", "payments"), change("ci-workflow-changed", undefined, "critical", ".github/workflows/helper.yml")]);
    const evaluation = decide(byWorkflow, [checkRun("agent-evals", "success", { workflow: EVALS })], changes);
    const node = flatten(evaluation.root).find((n) => n.name === 'Check "agent-evals"');
    expect(node?.status).toBe("blocked");
    expect(node?.missing[0]?.detail).toContain("Merge the workflow change in a pull request of its own");
  });

  it("blocks a check the policy names without a source, with the fix, whatever runs exist", () => {
    const legacy: CharterPolicy = { version: 1, rules: [{ name: "Evals", require: { approvals: 0, checks: ["agent-evals"] } }] };
    const evaluation = decide(legacy, [checkRun("agent-evals", "success", { app: "ci" })]);
    expect(evaluation.decision).toBe("blocked");
    expect(flatten(evaluation.root).flatMap((n) => n.missing.map((m) => m.detail))).toContain(
      'In .github/charter.yml, bind it to the source that must post it: { name: "agent-evals", workflow: .github/workflows/<file>.yml } for a GitHub Actions job, or { name: "agent-evals", app: <app slug or id> } for another GitHub App',
    );
  });
});

describe("separation of duties", () => {
  const OWNER_AND_SECURITY: CharterPolicy = {
    version: 1,
    rules: [
      { name: "Owners", require: { approvals: 1, from: { owners: true } } },
      { name: "Security", when: { changes: ["permission-added"] }, require: { approvals: 1, from: { teams: ["acme/security"] } } },
    ],
  };
  const EXPANSION = changeSet([change("permission-added", "payments")]);
  // sam owns payments and is on the security team.
  const agents = [{ id: "payments", base: manifest("payments", { owners: [{ user: "olivia" }, { user: "sam" }] }), head: manifest("payments") }];

  it("does not let one person in both groups satisfy both rules", () => {
    const evaluation = evaluate(OWNER_AND_SECURITY, EXPANSION, facts({ reviews: [review("sam", "APPROVED")] }), agents);
    expect(evaluation.decision).toBe("pending");
    expect(text(evaluation)).toContain('@sam approved (member of @acme/security) but is counted for "Owners" on payments: separation of duties counts one person once per agent.');
  });

  it("finds the assignment a greedy pass misses, and records who counted for which rule", () => {
    // In login order a greedy pass gives sam to Owners and leaves Security empty.
    const evaluation = evaluate(OWNER_AND_SECURITY, EXPANSION, facts({ reviews: [review("sam", "APPROVED"), review("zoe-owner", "APPROVED")] }), [
      { id: "payments", base: manifest("payments", { owners: [{ user: "sam" }, { user: "zoe-owner" }] }), head: manifest("payments") },
    ]);
    expect(evaluation.decision).toBe("approved");
    const counted = flatten(evaluation.root).flatMap((n) => n.approvals ?? []).map((a) => [a.reviewer, a.rule, a.agent]);
    expect(counted).toEqual([
      ["zoe-owner", "Owners", "payments"],
      ["sam", "Security", "payments"],
    ]);
  });

  it("lets one person satisfy several rules only when the policy says so", () => {
    const shared = evaluate({ ...OWNER_AND_SECURITY, separationOfDuties: false }, EXPANSION, facts({ reviews: [review("sam", "APPROVED")] }), agents);
    expect(shared.decision).toBe("approved");
    expect(shared.approvers.separationOfDuties).toBe(false);
  });

  it("lets one owner of two changed agents approve each of them", () => {
    const two = [
      { id: "payments", base: manifest("payments", { owners: [{ user: "olivia" }] }), head: manifest("payments") },
      { id: "refunds", base: manifest("refunds", { owners: [{ user: "olivia" }] }), head: manifest("refunds") },
    ];
    const set = changeSet([change("model-changed", "payments"), change("model-changed", "refunds")]);
    expect(evaluate(ONE_OWNER, set, facts({ reviews: [review("olivia", "APPROVED")] }), two).decision).toBe("approved");
  });

  it("needs two distinct owners for an expansion under the default policy", () => {
    const set = changeSet([change("permission-added", "payments")]);
    expect(evaluate(DEFAULT_POLICY, set, facts({ reviews: [review("olivia", "APPROVED")] })).decision).toBe("pending");
    expect(evaluate(DEFAULT_POLICY, set, facts({ reviews: [review("olivia", "APPROVED"), review("paula", "APPROVED")] })).decision).toBe("approved");
  });
});
