import { describe, expect, it } from "vitest";
import type { CharterPolicy } from "../../src/schema-types/charter-policy.generated.js";
import { DEFAULT_POLICY } from "../../src/policy/default-policy.js";
import { change, changeSet, checkRun, commit, evaluate, facts, flatten, HEAD, manifest, OLD, review, text } from "./policy-fixtures.js";

const ONE_OWNER: CharterPolicy = { version: 1, rules: [{ name: "Owners", require: { approvals: 1, from: { owners: true } } }] };
const MODEL = changeSet([change("model-changed", "payments")]);

describe("review semantics", () => {
  it.each([
    ["an owner's approval on the head commit", [review("olivia", "APPROVED")], "approved"],
    ["an approval by a member of an owning team", [review("paula", "APPROVED")], "approved"],
    ["no review", [], "pending"],
    ["the author approving their own change", [review("bob", "APPROVED")], "pending"],
    ["an approval on an older commit", [review("olivia", "APPROVED", OLD)], "pending"],
    ["an approval later dismissed", [review("olivia", "APPROVED"), review("olivia", "DISMISSED")], "pending"],
    ["a bot's approval", [review("deploy-bot", "APPROVED", HEAD, "Bot")], "pending"],
    ["an app's [bot] login", [review("helper[bot]", "APPROVED")], "pending"],
    ["a non-owner's approval", [review("mallory", "APPROVED")], "pending"],
    ["changes requested by an owner", [review("olivia", "CHANGES_REQUESTED"), review("paula", "APPROVED")], "blocked"],
    ["changes requested, then approved by the same owner", [review("olivia", "CHANGES_REQUESTED"), review("olivia", "APPROVED")], "approved"],
    ["an approval followed by a plain comment", [review("olivia", "APPROVED"), review("olivia", "COMMENTED")], "approved"],
    ["changes requested by a non-owner", [review("mallory", "CHANGES_REQUESTED"), review("olivia", "APPROVED")], "approved"],
  ] as const)("%s → %s", (_name, reviews, decision) => {
    expect(evaluate(ONE_OWNER, MODEL, facts({ reviews: [...reviews] })).decision).toBe(decision);
  });

  it("never counts someone who pushed commits to the pull request", () => {
    const f = facts({ reviews: [review("olivia", "APPROVED")], commits: [commit(HEAD, "bob", { committer: "olivia" })] });
    const evaluation = evaluate(ONE_OWNER, MODEL, f);
    expect(evaluation.decision).toBe("pending");
    expect(text(evaluation)).toContain("@olivia's review does not count: they authored, co-authored or committed commits in this pull request.");
  });

  it("never counts an agent's own account", () => {
    const agents = [{ id: "payments", base: manifest("payments", { owners: [{ user: "review-agent" }], identities: { github: "review-agent" } }), head: manifest("payments") }];
    const evaluation = evaluate(ONE_OWNER, MODEL, facts({ reviews: [review("review-agent", "APPROVED")] }), agents);
    expect(evaluation.decision).toBe("pending");
    expect(text(evaluation)).toContain("@review-agent's review does not count: the account is an agent's own.");
  });

  it("says a stale approval is for an older commit, and accepts it when the rule allows", () => {
    const f = facts({ reviews: [review("olivia", "APPROVED", OLD)] });
    expect(text(evaluate(ONE_OWNER, MODEL, f))).toContain(`@olivia's approval is for an older commit (${OLD.slice(0, 7)}); commits were pushed since.`);
    const lenient: CharterPolicy = { version: 1, rules: [{ name: "Owners", require: { approvals: 1, from: { owners: true }, allowStaleApprovals: true } }] };
    expect(evaluate(lenient, MODEL, f).decision).toBe("approved");
  });

  it("says why an approval does not count while one is missing, and stays quiet once satisfied", () => {
    const pending = evaluate(ONE_OWNER, MODEL, facts({ reviews: [review("mallory", "APPROVED")] }));
    expect(text(pending)).toContain("@mallory approved but is not eligible here (@olivia, @acme/payments may approve).");
    const satisfied = evaluate(ONE_OWNER, MODEL, facts({ reviews: [review("mallory", "APPROVED"), review("olivia", "APPROVED")] }));
    expect(satisfied.decision).toBe("approved");
    expect(text(satisfied)).not.toContain("@mallory");
  });

  it("records the counted approvals and judged checks as structured facts for evidence", () => {
    const tested: CharterPolicy = { version: 1, rules: [{ name: "Owners", require: { approvals: 1, from: { owners: true }, checks: [{ name: "evals", workflow: ".github/workflows/evals.yml" }] } }] };
    const run = checkRun("evals", "success", { workflow: ".github/workflows/evals.yml" });
    const evaluation = evaluate(tested, MODEL, facts({ reviews: [review("paula", "APPROVED")], checkRuns: [run] }));
    const nodes = flatten(evaluation.root);
    expect(nodes.flatMap((n) => n.approvals ?? [])).toEqual([
      { reviewer: "paula", via: "owner via @acme/payments", rule: "Owners", agent: "payments", commitId: HEAD, submittedAt: expect.stringMatching(/^2026-11-0\dT10:00:00Z$/) as unknown },
    ]);
    expect(nodes.flatMap((n) => (n.check ? [n.check] : []))).toEqual([{ name: "evals", app: "github-actions", workflow: ".github/workflows/evals.yml", conclusion: "success", completedAt: "2026-11-02T10:00:00Z", url: run.url }]);
  });

  it("says who can still approve", () => {
    const evaluation = evaluate(ONE_OWNER, MODEL, facts());
    const missing = flatten(evaluation.root).flatMap((n) => n.missing);
    expect(missing).toEqual([{ what: "approval", count: 1, from: ["@olivia", "@acme/payments"], detail: "Needs 1 more approval from @olivia, @acme/payments." }]);
  });
});

describe("rule selection", () => {
  const SECURITY: CharterPolicy = {
    version: 1,
    rules: [
      { name: "Owners", require: { approvals: 1, from: { owners: true } } },
      { name: "Security for expansions", when: { changes: ["permission-added", "permission-widened"] }, require: { approvals: 1, from: { teams: ["acme/security"] } } },
      { name: "PII", when: { dataClassifications: ["customer-pii"] }, require: { approvals: 2, from: { owners: true } } },
      { name: "Critical only", when: { minRisk: "critical" }, require: { approvals: 1, from: { users: ["ciso"] } } },
      { name: "Support team", when: { labels: { team: "support" } }, require: { approvals: 1, from: { users: ["support-lead"] } } },
      { name: "Staging", when: { environments: ["staging"] }, require: { approvals: 1, from: { users: ["stager"] } } },
    ],
  };

  it("triggers only the rules whose `when` matches, and says which did not apply", () => {
    const evaluation = evaluate(SECURITY, changeSet([change("permission-added", "payments")]), facts({ reviews: [review("olivia", "APPROVED")] }));
    const statuses = Object.fromEntries(evaluation.root.children.map((c) => [c.name, c.status]));
    expect(statuses).toEqual({ Owners: "satisfied", "Security for expansions": "pending", PII: "skipped", "Critical only": "skipped", "Support team": "skipped", Staging: "skipped" });
    expect(evaluation.decision).toBe("pending");
    expect(text(evaluation)).toContain("Needs 1 more approval from @acme/security.");
  });

  it("accepts a team's approval through membership", () => {
    const evaluation = evaluate(SECURITY, changeSet([change("permission-added", "payments")]), facts({ reviews: [review("olivia", "APPROVED"), review("sam", "APPROVED")] }));
    expect(evaluation.decision).toBe("approved");
    expect(text(evaluation)).toContain("@sam approved (member of @acme/security).");
  });

  it("selects by data classification, labels, environment and risk, before or after the change", () => {
    const pii = manifest("payments", { dataClassifications: ["customer-pii"], labels: { team: "support" }, environment: "staging" });
    const agents = [{ id: "payments", base: manifest("payments"), head: pii }];
    const evaluation = evaluate(SECURITY, changeSet([change("data-classification-added", "payments", "critical")]), facts(), agents);
    const triggered = evaluation.root.children.filter((c) => c.status !== "skipped").map((c) => c.name);
    expect(triggered).toEqual(["Owners", "PII", "Critical only", "Support team", "Staging"]);
  });

  it("needs each changed agent's own owners", () => {
    const agents = [
      { id: "payments", base: manifest("payments"), head: manifest("payments") },
      { id: "support", base: manifest("support", { owners: [{ user: "sid" }] }), head: manifest("support", { owners: [{ user: "sid" }] }) },
    ];
    const set = changeSet([change("model-changed", "payments"), change("prompt-changed", "support")]);
    const partial = evaluate(ONE_OWNER, set, facts({ reviews: [review("olivia", "APPROVED")] }), agents);
    expect(partial.decision).toBe("pending");
    expect(text(partial)).toContain("Needs 1 more approval from @sid.");
    expect(evaluate(ONE_OWNER, set, facts({ reviews: [review("olivia", "APPROVED"), review("sid", "APPROVED")] }), agents).decision).toBe("approved");
  });

  it("judges owners by the base branch, so a pull request cannot appoint its own approvers", () => {
    const agents = [{ id: "payments", base: manifest("payments"), head: manifest("payments", { owners: [{ user: "mallory" }] }) }];
    const evaluation = evaluate(ONE_OWNER, changeSet([change("owners-changed", "payments")]), facts({ reviews: [review("mallory", "APPROVED")] }), agents);
    expect(evaluation.decision).toBe("pending");
  });

  it("lets the head's owners approve a brand-new agent", () => {
    const agents = [{ id: "fresh", base: undefined, head: manifest("fresh", { owners: [{ user: "nina" }] }) }];
    expect(evaluate(ONE_OWNER, changeSet([change("agent-created", "fresh")]), facts({ reviews: [review("nina", "APPROVED")] }), agents).decision).toBe("approved");
  });
});

describe("checks and sections", () => {
  const TESTED: CharterPolicy = { version: 1, rules: [{ name: "Tested", require: { approvals: 0, checks: [{ name: "ci/test", app: "ci" }], sections: ["Rollback plan", "Testing"] } }] };
  const body = "## Rollback plan\nRevert.\n\n## Testing\nRan the eval suite: 98% pass.\n";
  const run = (conclusion: string | null, status = "completed") => checkRun("ci/test", conclusion, { app: "ci", status });

  it.each([
    ["a successful check", [run("success")], "approved"],
    ["a failed check", [run("failure")], "blocked"],
    ["a check still running", [run(null, "in_progress")], "pending"],
    ["no check run at all", [], "pending"],
  ] as const)("%s → %s", (_name, checkRuns, decision) => {
    expect(evaluate(TESTED, MODEL, facts({ body, checkRuns: [...checkRuns] })).decision).toBe(decision);
  });

  it.each([
    ["missing", "## Testing\nok\n"],
    ["empty", "## Rollback plan\n\n## Testing\nok\n"],
    ["a placeholder", "## Rollback plan\nN/A\n## Testing\nok\n"],
    ["only a template comment", "## Rollback plan\n<!-- describe how to undo -->\n## Testing\nok\n"],
  ])("a rollback plan that is %s keeps the pull request pending", (_name, text) => {
    const evaluation = evaluate(TESTED, MODEL, facts({ body: text, checkRuns: [run("success")] }));
    expect(evaluation.decision).toBe("pending");
    expect(flatten(evaluation.root).flatMap((n) => n.missing.map((m) => m.detail))).toContain('Add a "## Rollback plan" section to the pull request description.');
  });

  it("finds a section whatever its heading level and case", () => {
    expect(evaluate(TESTED, MODEL, facts({ body: "### ROLLBACK PLAN:\nrevert\n# testing\nyes", checkRuns: [run("success")] })).decision).toBe("approved");
  });
});

describe("governance and emergencies", () => {
  const POLICY: CharterPolicy = {
    version: 1,
    rules: [{ name: "Owners", require: { approvals: 2, from: { owners: true } } }],
    governance: { require: { approvals: 1, from: { teams: ["acme/security"] } } },
    emergency: { label: "emergency", require: { approvals: 1, from: { owners: true } } },
  };

  it("holds a policy change to the governance rule", () => {
    const set = changeSet([change("policy-changed", undefined, "critical")]);
    expect(evaluate(POLICY, set, facts({ reviews: [review("olivia", "APPROVED")] })).decision).toBe("pending");
    const approved = evaluate(POLICY, set, facts({ reviews: [review("sue", "APPROVED")] }));
    expect(approved.decision).toBe("approved");
    expect(approved.root.children.map((c) => c.name)).toEqual(["Owners", "Governance"]);
  });

  it("blocks a pull request whose own policy file is invalid", () => {
    const set = changeSet([change("policy-changed", undefined, "critical")]);
    expect(evaluate(POLICY, set, facts({ reviews: [review("sue", "APPROVED")] }), [], { headPolicyErrors: 2 }).decision).toBe("blocked");
  });

  it("uses the emergency lane's reduced requirements when the reason is given", () => {
    const f = facts({ labels: ["emergency"], body: "## Emergency reason\nThe triage agent is tagging every ticket P1.\n", reviews: [review("olivia", "APPROVED")] });
    const evaluation = evaluate(POLICY, MODEL, f);
    expect(evaluation.decision).toBe("approved");
    expect(evaluation.emergency).toEqual({ requested: true, active: true, reason: "The triage agent is tagging every ticket P1." });
    expect(evaluation.root.children[0]?.name).toBe("EMERGENCY change");
  });

  it("refuses the emergency lane without a reason", () => {
    const f = facts({ labels: ["emergency"], body: "fix it now", reviews: [review("olivia", "APPROVED"), review("paula", "APPROVED")] });
    const evaluation = evaluate(POLICY, MODEL, f);
    expect(evaluation.decision).toBe("blocked");
    expect(evaluation.emergency.active).toBe(false);
    expect(text(evaluation)).toContain('Add a "## Emergency reason" section explaining the emergency, or remove the label.');
  });

  it("marks a change set with invalid manifests as invalid", () => {
    expect(evaluate(POLICY, changeSet([], ["agents/broken"]), facts()).decision).toBe("invalid");
  });

  it("counts no approval while the head has validation errors", () => {
    const f = facts({ reviews: [review("olivia", "APPROVED"), review("paula", "APPROVED")] });
    expect(evaluate(POLICY, MODEL, f).decision).toBe("approved");
    const evaluation = evaluate(POLICY, MODEL, f, undefined, { validationErrors: 2 });
    expect(evaluation.decision).toBe("invalid");
    expect(evaluation.root.summary).toBe("2 validation problems must be fixed before the change can be judged.");
  });
});

describe("the default policy", () => {
  it("needs one owner and a rollback plan for an ordinary change", () => {
    expect(evaluate(DEFAULT_POLICY, changeSet([change("prompt-changed", "payments", "medium")]), facts({ reviews: [review("olivia", "APPROVED")] })).decision).toBe("approved");
    expect(evaluate(DEFAULT_POLICY, changeSet([change("prompt-changed", "payments", "medium")]), facts({ body: "", reviews: [review("olivia", "APPROVED")] })).decision).toBe("pending");
  });

  it("needs a second, distinct owner for a permission expansion", () => {
    const set = changeSet([change("permission-added", "payments")]);
    expect(evaluate(DEFAULT_POLICY, set, facts({ reviews: [review("olivia", "APPROVED")] })).decision).toBe("pending");
    expect(evaluate(DEFAULT_POLICY, set, facts({ reviews: [review("olivia", "APPROVED"), review("paula", "APPROVED")] })).decision).toBe("approved");
  });

  it("needs two maintainers for governance changes", () => {
    const set = changeSet([change("schema-changed", undefined, "critical", "schemas/agent-manifest.schema.json")]);
    const f = facts({ reviews: [review("m1", "APPROVED"), review("m2", "APPROVED")], permissions: { m1: "maintain", m2: "admin" } });
    expect(evaluate(DEFAULT_POLICY, set, f).decision).toBe("approved");
    expect(evaluate(DEFAULT_POLICY, set, facts({ reviews: [review("m1", "APPROVED")], permissions: { m1: "write" } })).decision).toBe("pending");
  });
});
