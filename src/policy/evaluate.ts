import type { Change, ChangeSet } from "../change/change-set.js";
import { RISK_ORDER } from "../change/change-set.js";
import type { AgentManifest, Owner } from "../manifest/agent-manifest.generated.js";
import type { CharterPolicy, Requirement, Rule, Selector } from "./charter-policy.generated.js";
import { sectionContent } from "./description-sections.js";
import type { PullFacts, RepositoryPermission } from "./pull-facts.js";
import { type CheckedRun, combine, type CountedApproval, type Decision, type Evaluation, type Missing, type ResultNode, type Status } from "./result.js";
import { EXCLUSION_TEXT, type ReviewerState, standingReviews } from "./reviews.js";

/** What the evaluator knows of an agent: its manifest before and after the change. */
export interface PolicyAgent {
  readonly id: string;
  readonly base: AgentManifest | undefined;
  readonly head: AgentManifest | undefined;
}

export interface EvaluationInput {
  readonly policy: CharterPolicy;
  readonly policySource: Evaluation["policy"];
  readonly changeSet: ChangeSet;
  readonly agents: readonly PolicyAgent[];
  readonly facts: PullFacts;
  /** Problems with the head's policy file, when the pull request changes it: the pull request cannot be approved until they are fixed. */
  readonly headPolicyErrors?: number;
  /** Validation errors in the head's manifests and prompts: no approval counts until they are fixed. */
  readonly validationErrors?: number;
}

const DEFAULT_REASON_SECTION = "Emergency reason";
const PERMISSION_RANK: readonly RepositoryPermission[] = ["none", "read", "triage", "write", "maintain", "admin"];

/**
 * Evaluates a pull request against a policy. Pure: every fact arrives in the input. Returns a
 * tree that explains itself: each rule, whether it applies, what is satisfied, and for
 * everything missing, who can provide it.
 */
export function evaluatePolicy(input: EvaluationInput): Evaluation {
  const { policy, changeSet, facts } = input;
  const agents = new Map(input.agents.map((a) => [a.id, a]));
  const agentAccounts = new Set<string>();
  for (const a of input.agents) {
    for (const m of [a.base, a.head]) if (m?.identities?.github) agentAccounts.add(m.identities.github);
  }
  const reviews = standingReviews(facts, agentAccounts);
  const ctx: Context = { facts, agents, reviews };

  const agentChanges = changeSet.changes.filter((c) => c.agent !== undefined);
  const governanceChanges = changeSet.changes.filter((c) => c.agent === undefined);
  const children: ResultNode[] = [];

  const emergency = emergencyState(policy, facts);
  if (emergency.requested && policy.emergency) {
    const section = policy.emergency.reasonSection ?? DEFAULT_REASON_SECTION;
    children.push(
      emergency.active
        ? node("EMERGENCY change", "satisfied", `Emergency lane: the label "${policy.emergency.label}" is set and the reason is given; reduced requirements apply and a retro-review follows the merge.`, [`Reason: ${emergency.reason ?? ""}`])
        : node("EMERGENCY change refused", "blocked", `The label "${policy.emergency.label}" asks for the emergency lane, but the description has no "${section}" section.`, [], [
            { what: "reason", detail: `Add a "## ${section}" section explaining the emergency, or remove the label.` },
          ]),
    );
  }

  if (emergency.active && policy.emergency) {
    if (agentChanges.length > 0) children.push(evaluateRequirement("Emergency requirements", policy.emergency.require, agentChanges, ctx));
  } else {
    for (const rule of policy.rules ?? []) children.push(evaluateRule(rule, agentChanges, ctx));
  }

  if (governanceChanges.length > 0) {
    const requirement = policy.governance?.require ?? { approvals: 2, from: { permission: "maintain" as const } };
    const files = [...new Set(governanceChanges.map((c) => c.path))].join(", ");
    const result = evaluateRequirement("Governance", { ...requirement, from: withoutOwners(requirement) }, [], ctx);
    children.push({ ...result, summary: `Governance files changed (${files}); judged by the base branch's policy. ${result.summary}` });
  }

  if ((input.headPolicyErrors ?? 0) > 0) {
    children.push(node("Policy file on this branch", "blocked", `The pull request's ${input.policySource.path} has ${input.headPolicyErrors ?? 0} error(s); fix them so a broken policy cannot be merged.`, [], [{ what: "section", detail: "Fix the annotated errors in the policy file." }]));
  }

  const status = combine(children.map((c) => c.status));
  let decision: Decision = status === "blocked" ? "blocked" : status === "pending" ? "pending" : "approved";
  const validationErrors = input.validationErrors ?? 0;
  if (changeSet.unclassified.length > 0 || validationErrors > 0) decision = "invalid";

  const root = node(
    "Charter policy",
    decision === "invalid" ? "blocked" : status === "skipped" ? "satisfied" : status,
    decision === "invalid"
      ? changeSet.unclassified.length > 0
        ? `Invalid manifests (${changeSet.unclassified.join(", ")}) must be fixed before the change can be judged.`
        : `${validationErrors} validation problem${validationErrors === 1 ? "" : "s"} must be fixed before the change can be judged.`
      : changeSet.changes.length === 0
        ? "No agent or governance changes: nothing to approve."
        : SUMMARY[decision],
    [],
    [],
    children,
  );
  return { decision, policy: input.policySource, emergency, changeSet, root };
}

const SUMMARY: Readonly<Record<Decision, string>> = {
  approved: "Every rule this pull request triggers is satisfied.",
  pending: "Some requirements are still missing.",
  blocked: "Something blocks this pull request.",
  invalid: "The change cannot be judged.",
};

interface Context {
  readonly facts: PullFacts;
  readonly agents: ReadonlyMap<string, PolicyAgent>;
  readonly reviews: readonly ReviewerState[];
}

function emergencyState(policy: CharterPolicy, facts: PullFacts): Evaluation["emergency"] {
  const lane = policy.emergency;
  if (!lane || !facts.labels.includes(lane.label)) return { requested: false, active: false, reason: null };
  const reason = sectionContent(facts.body, lane.reasonSection ?? DEFAULT_REASON_SECTION);
  return { requested: true, active: reason !== null, reason };
}

function evaluateRule(rule: Rule, changes: readonly Change[], ctx: Context): ResultNode {
  const matched = changes.filter((c) => matches(rule.when ?? {}, c, ctx));
  if (matched.length === 0) return node(rule.name, "skipped", "Not triggered by this pull request.");
  return evaluateRequirement(rule.name, rule.require, matched, ctx);
}

function matches(when: Selector, change: Change, ctx: Context): boolean {
  if (when.changes && !when.changes.includes(change.kind as never)) return false;
  if (when.minRisk && RISK_ORDER.indexOf(change.risk) < RISK_ORDER.indexOf(when.minRisk)) return false;
  const agent = change.agent === undefined ? undefined : ctx.agents.get(change.agent);
  const manifests = [agent?.base, agent?.head].filter((m): m is AgentManifest => m !== undefined);
  if (when.agents && (change.agent === undefined || !when.agents.includes(change.agent))) return false;
  if (when.environments && !manifests.some((m) => when.environments?.includes(m.environment))) return false;
  if (when.dataClassifications && !manifests.some((m) => m.dataClassifications.some((d) => when.dataClassifications?.includes(d)))) return false;
  if (when.labels) {
    const wanted = Object.entries(when.labels);
    if (!manifests.some((m) => wanted.every(([k, v]) => m.labels?.[k] === v))) return false;
  }
  return true;
}

function withoutOwners(requirement: Requirement): NonNullable<Requirement["from"]> {
  const { owners: _owners, ...rest } = requirement.from ?? { permission: "maintain" };
  return Object.keys(rest).length > 0 ? rest : { permission: "maintain" };
}

/**
 * One requirement applied to a set of changes. With owners among the approvers, each changed
 * agent needs its own approvals (one agent's owners cannot approve another's change).
 */
function evaluateRequirement(name: string, requirement: Requirement, changes: readonly Change[], ctx: Context): ResultNode {
  const from = requirement.from ?? { owners: true };
  const needed = requirement.approvals ?? 1;
  const children: ResultNode[] = [];
  const agentIds = [...new Set(changes.map((c) => c.agent).filter((a): a is string => a !== undefined))].sort();

  if (needed > 0) {
    if (from.owners && agentIds.length > 0) {
      for (const id of agentIds) children.push(approvals(`Approval for ${id}`, needed, from, requirement, ctx, ctx.agents.get(id)));
    } else {
      children.push(approvals("Approval", needed, from, requirement, ctx, undefined));
    }
  }
  for (const check of requirement.checks ?? []) children.push(requiredCheck(check, ctx.facts));
  for (const section of requirement.sections ?? []) children.push(requiredSection(section, ctx.facts));

  const status = children.length === 0 ? "satisfied" : combine(children.map((c) => c.status));
  const kinds = [...new Set(changes.map((c) => c.kind))].join(", ");
  const summary =
    (changes.length > 0 ? `Triggered by ${kinds}${agentIds.length > 0 ? ` (${agentIds.join(", ")})` : ""}. ` : "") +
    (status === "satisfied" ? "Satisfied." : status === "blocked" ? "Blocked." : "Waiting for what is missing below.");
  return node(name, status, summary, [], [], children);
}

function ownersOf(agent: PolicyAgent | undefined): readonly Owner[] {
  // The base branch's owners decide: a pull request cannot make its author's friends owners
  // and then have them approve. A new agent has only the owners it proposes.
  return agent?.base?.owners ?? agent?.head?.owners ?? [];
}

function approvals(name: string, needed: number, from: NonNullable<Requirement["from"]>, requirement: Requirement, ctx: Context, agent: PolicyAgent | undefined): ResultNode {
  const owners = from.owners ? ownersOf(agent) : [];
  const eligible = (login: string): string | undefined => eligibility(login, owners, from, ctx.facts);
  // Who may approve depends only on the rule and the agent: described once, not once per review
  // (with owners as approvers this runs for every changed agent, and most reviewers of a large
  // pull request are not eligible for a given agent).
  const mayApprove = describeFrom(owners, from);
  const notEligible = `${mayApprove.join(", ") || "nobody"} may approve`;
  const details: string[] = [];
  // Approvals that do not count here explain a shortfall; once the node is satisfied they are
  // noise (on a pull request touching many agents, every reviewer is ineligible for most).
  const ineligible: string[] = [];
  const counted: string[] = [];
  const countedApprovals: CountedApproval[] = [];
  const blocking: string[] = [];

  for (const r of ctx.reviews) {
    const via = eligible(r.login);
    if (r.exclusion) {
      if (r.state !== "dismissed") details.push(`@${r.login}'s review does not count: ${EXCLUSION_TEXT[r.exclusion]}.`);
      continue;
    }
    if (r.state === "dismissed") {
      if (via) details.push(`@${r.login}'s review was dismissed.`);
      continue;
    }
    if (!via) {
      if (r.state === "approved") ineligible.push(`@${r.login} approved but is not eligible here (${notEligible}).`);
      continue;
    }
    if (r.state === "changes-requested") {
      blocking.push(r.login);
      continue;
    }
    if (r.stale && !requirement.allowStaleApprovals) {
      details.push(`@${r.login}'s approval is for an older commit (${(r.commitId ?? "unknown").slice(0, 7)}); commits were pushed since.`);
      continue;
    }
    counted.push(r.login);
    countedApprovals.push({ reviewer: r.login, via, commitId: r.commitId, submittedAt: r.submittedAt });
    details.unshift(`@${r.login} approved (${via})${r.stale ? " on an earlier commit, which this rule accepts" : ""}.`);
  }

  const missing: Missing[] = [];
  let status: Status = "satisfied";
  if (blocking.length > 0) {
    status = "blocked";
    missing.push(...blocking.map((login): Missing => ({ what: "re-review", from: [`@${login}`], detail: `@${login} requested changes; they must approve or dismiss their review.` })));
  }
  if (counted.length < needed) {
    if (status !== "blocked") status = "pending";
    const who = mayApprove.filter((w) => !counted.includes(w.replace(/^@/, "")));
    const count = needed - counted.length;
    missing.push({ what: "approval", count, from: who, detail: `Needs ${count} more approval${count === 1 ? "" : "s"} from ${who.join(", ") || "an eligible reviewer"}.` });
  }
  if (status !== "satisfied") details.push(...ineligible);
  const summary = `${counted.length} of ${needed} approval${needed === 1 ? "" : "s"}${counted.length > 0 ? ` (${counted.map((l) => `@${l}`).join(", ")})` : ""}.`;
  return { ...node(name, status, summary, details, missing), approvals: countedApprovals };
}

/** How a login qualifies as an approver, or undefined if it does not. */
function eligibility(login: string, owners: readonly Owner[], from: NonNullable<Requirement["from"]>, facts: PullFacts): string | undefined {
  const lower = login.toLowerCase();
  for (const o of owners) {
    if (o.user?.toLowerCase() === lower) return "owner";
    if (o.team && isMember(facts, o.team, lower)) return `owner via @${o.team}`;
  }
  if (from.users?.some((u) => u.toLowerCase() === lower)) return "listed user";
  for (const team of from.teams ?? []) if (isMember(facts, team, lower)) return `member of @${team}`;
  if (from.permission) {
    const has = facts.permissions[login] ?? facts.permissions[lower] ?? "none";
    if (PERMISSION_RANK.indexOf(has) >= PERMISSION_RANK.indexOf(from.permission)) return `${has} permission`;
  }
  return undefined;
}

function isMember(facts: PullFacts, team: string, login: string): boolean {
  const members = facts.teamMembers[team] ?? facts.teamMembers[team.toLowerCase()] ?? [];
  return members.some((m) => m.toLowerCase() === login);
}

function describeFrom(owners: readonly Owner[], from: NonNullable<Requirement["from"]>): string[] {
  const who: string[] = [];
  for (const o of owners) who.push(o.user ? `@${o.user}` : `@${o.team ?? ""}`);
  for (const u of from.users ?? []) who.push(`@${u}`);
  for (const t of from.teams ?? []) who.push(`@${t}`);
  if (from.permission) who.push(`anyone with ${from.permission} permission`);
  return [...new Set(who)];
}

function requiredCheck(name: string, facts: PullFacts): ResultNode {
  const runs = facts.checkRuns.filter((r) => r.name === name).sort((a, b) => b.id - a.id);
  const latest = runs[0];
  const title = `Check "${name}"`;
  if (!latest) return node(title, "pending", `No "${name}" check run on the head commit yet.`, [], [{ what: "check", from: [name], detail: `Wait for "${name}" to run on ${facts.headSha.slice(0, 7)}.` }]);
  const check: CheckedRun = { name, app: latest.appSlug, conclusion: latest.conclusion, completedAt: latest.completedAt, url: latest.url };
  if (latest.status !== "completed") return { ...node(title, "pending", `"${name}" is ${latest.status.replace("_", " ")}.`, [], [{ what: "check", from: [name], detail: `Wait for "${name}" to finish.` }]), check };
  if (latest.conclusion === "success") return { ...node(title, "satisfied", `"${name}" succeeded${latest.completedAt ? ` at ${latest.completedAt}` : ""}.`), check };
  return {
    ...node(title, "blocked", `"${name}" concluded ${latest.conclusion ?? "without a conclusion"}.`, latest.url ? [latest.url] : [], [
      { what: "check", from: [name], detail: `Fix the change so that "${name}" succeeds, then push.` },
    ]),
    check,
  };
}

function requiredSection(heading: string, facts: PullFacts): ResultNode {
  const content = sectionContent(facts.body, heading);
  const title = `Section "${heading}"`;
  if (content !== null) return node(title, "satisfied", `The description has a "${heading}" section.`);
  return node(title, "pending", `The description has no "${heading}" section with content.`, [], [
    { what: "section", from: ["the author"], detail: `Add a "## ${heading}" section to the pull request description.` },
  ]);
}

function node(name: string, status: Status, summary: string, details: readonly string[] = [], missing: readonly Missing[] = [], children: readonly ResultNode[] = []): ResultNode {
  return { name, status, summary, details, missing, children };
}
