import type { Change, ChangeSet } from "../change/change-set.js";
import { RISK_ORDER } from "../change/change-set.js";
import type { AgentManifest, Owner } from "../schema-types/agent-manifest.generated.js";
import { assignApprovers } from "./approver-assignment.js";
import type { CharterPolicy, Requirement, RequiredCheck, Rule, Selector } from "../schema-types/charter-policy.generated.js";
import { type Contributors, contributorsOf } from "./contributors.js";
import { sectionContent } from "./description-sections.js";
import { POLICY_PATH } from "../change/governed-paths.js";
import type { CheckRunFact, PullFacts, RepositoryPermission } from "./pull-facts.js";
import { checkFix, checkSpec, type CheckSource, describePoster, describeSource, fromSource } from "./required-checks.js";
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
  /**
   * The GitHub identity of every agent in the inventory, at base and at head (not only the
   * changed ones): an agent never approves anything. The changed agents' own are added here.
   */
  readonly agentIdentities: readonly string[];
  /** Problems with the head's policy file, when the pull request changes it: the pull request cannot be approved until they are fixed. */
  readonly headPolicyErrors?: number;
  /** Validation errors in the head's manifests and prompts: no approval counts until they are fixed. */
  readonly validationErrors?: number;
}

const DEFAULT_REASON_SECTION = "Emergency reason";
const PERMISSION_RANK: readonly RepositoryPermission[] = ["none", "read", "triage", "write", "maintain", "admin"];
/** Runs of other sources named in a check's explanation; the rest are counted. */
const MAX_IGNORED_RUNS = 10;
/** The subject of governance approvals: the governance files, which belong to no agent. */
const GOVERNANCE_SUBJECT = "";

/**
 * Evaluates a pull request against a policy. Pure: every fact arrives in the input. Returns a
 * tree that explains itself: each rule, whether it applies, what is satisfied, and for
 * everything missing, who can provide it.
 */
export function evaluatePolicy(input: EvaluationInput): Evaluation {
  const { policy, changeSet, facts } = input;
  const agents = new Map(input.agents.map((a) => [a.id, a]));
  const identities = new Set(input.agentIdentities.map((login) => login.toLowerCase()));
  for (const a of input.agents) {
    for (const m of [a.base, a.head]) if (m?.identities?.github) identities.add(m.identities.github.toLowerCase());
  }
  const contributors = contributorsOf(facts);
  const reviews = standingReviews(facts, identities, contributors);
  const workflowChanges = [...new Set(changeSet.changes.filter((c) => c.kind === "ci-workflow-changed").map((c) => c.path))].sort();
  const approvers = reviews.filter((r) => !r.exclusion && r.state === "approved");
  const ctx: Context = { facts, agents, reviews, approvers, identities, workflowChanges, teams: teamSets(facts), permissions: permissionMap(facts) };

  const agentChanges = changeSet.changes.filter((c) => c.agent !== undefined);
  const governanceChanges = changeSet.changes.filter((c) => c.agent === undefined);
  const plans: RequirementPlan[] = [];
  const notices: ResultNode[] = [];

  const emergency = emergencyState(policy, facts);
  if (emergency.requested && policy.emergency) {
    const section = policy.emergency.reasonSection ?? DEFAULT_REASON_SECTION;
    notices.push(
      emergency.active
        ? node("EMERGENCY change", "satisfied", `Emergency lane: the label "${policy.emergency.label}" is set and the reason is given; reduced requirements apply and a retro-review follows the merge.`, [`Reason: ${emergency.reason ?? ""}`])
        : node("EMERGENCY change refused", "blocked", `The label "${policy.emergency.label}" asks for the emergency lane, but the description has no "${section}" section.`, [], [
            { what: "reason", detail: `Add a "## ${section}" section explaining the emergency, or remove the label.` },
          ]),
    );
  }

  if (emergency.active && policy.emergency) {
    if (agentChanges.length > 0) plans.push(planRequirement("Emergency requirements", policy.emergency.require, agentChanges, ctx));
  } else {
    for (const rule of policy.rules ?? []) plans.push(planRule(rule, agentChanges, ctx));
  }

  let governance: RequirementPlan | undefined;
  if (governanceChanges.length > 0) {
    const requirement = policy.governance?.require ?? { approvals: 2, from: { permission: "maintain" as const } };
    governance = planRequirement("Governance", { ...requirement, from: withoutOwners(requirement) }, [], ctx);
    plans.push(governance);
  }

  const demands = plans.flatMap((p) => p.demands);
  const separate = policy.separationOfDuties ?? true;
  const assignment = separate ? separatedAssignment(demands, ctx) : sharedAssignment(demands, ctx);

  const children: ResultNode[] = [...notices];
  const identityProblem = demands.some((d) => d.needed > 0) ? unlinkedContributors(contributors) : undefined;
  if (identityProblem) children.push(identityProblem);
  for (const plan of plans) {
    const rendered = renderRequirement(plan, assignment, ctx, separate);
    if (plan !== governance) children.push(rendered);
    else {
      const files = [...new Set(governanceChanges.map((c) => c.path))].join(", ");
      children.push({ ...rendered, summary: `Governance files changed (${files}); judged by the base branch's policy. ${rendered.summary}` });
    }
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
    demands.some((d) => d.needed > 0) ? [separate ? SEPARATED : SHARED] : [],
    [],
    children,
  );
  const excludedReviews = reviews.flatMap((r) => (r.exclusion && r.state !== "dismissed" ? [{ reviewer: r.login, reason: r.exclusion }] : []));
  return { decision, policy: input.policySource, emergency, changeSet, approvers: { separationOfDuties: separate, contributors: contributors.named, excludedReviews }, root };
}

const SUMMARY: Readonly<Record<Decision, string>> = {
  approved: "Every rule this pull request triggers is satisfied.",
  pending: "Some requirements are still missing.",
  blocked: "Something blocks this pull request.",
  invalid: "The change cannot be judged.",
};

const SEPARATED = "Separation of duties: for each changed agent, one person's approval counts for one rule only.";
const SHARED = "The policy sets separationOfDuties: false, so one person's approval counts for every rule they are eligible for.";

interface Context {
  readonly facts: PullFacts;
  readonly agents: ReadonlyMap<string, PolicyAgent>;
  readonly reviews: readonly ReviewerState[];
  /** The standing approvals that no exclusion rules out. */
  readonly approvers: readonly ReviewerState[];
  /** Lower-case logins of every agent identity. */
  readonly identities: ReadonlySet<string>;
  /** Workflow files the pull request adds, edits or deletes. */
  readonly workflowChanges: readonly string[];
  /** Lower-case team → lower-case logins of its members, and lower-case login → permission: looked up once. */
  readonly teams: ReadonlyMap<string, ReadonlySet<string>>;
  readonly permissions: ReadonlyMap<string, RepositoryPermission>;
}

function teamSets(facts: PullFacts): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [team, members] of Object.entries(facts.teamMembers)) {
    const set = out.get(team.toLowerCase()) ?? new Set<string>();
    for (const m of members) set.add(m.toLowerCase());
    out.set(team.toLowerCase(), set);
  }
  return out;
}

function permissionMap(facts: PullFacts): Map<string, RepositoryPermission> {
  const out = new Map<string, RepositoryPermission>();
  // An exact key wins over one that differs only in case.
  for (const [login, level] of Object.entries(facts.permissions)) if (!out.has(login.toLowerCase())) out.set(login.toLowerCase(), level);
  for (const [login, level] of Object.entries(facts.permissions)) if (login === login.toLowerCase()) out.set(login, level);
  return out;
}

/** One rule (or the governance or emergency requirement) as it applies to this pull request. */
interface RequirementPlan {
  readonly name: string;
  readonly requirement: Requirement;
  /** The changes that triggered it; undefined when it was not triggered. */
  readonly changes: readonly Change[] | undefined;
  readonly agentIds: readonly string[];
  readonly demands: readonly ApprovalDemand[];
}

/** A rule's need for approvals on one subject: a changed agent, or the governance files. */
interface ApprovalDemand {
  readonly key: string;
  readonly rule: string;
  readonly node: string;
  readonly subject: string;
  readonly agent: string | undefined;
  readonly needed: number;
  readonly requirement: Requirement;
  readonly from: NonNullable<Requirement["from"]>;
  readonly owners: readonly Owner[];
  /** Each login's eligibility here, worked out once (the assignment and the explanation both ask). */
  readonly eligible: Map<string, string | undefined>;
}

/** Who counts where: demand key → the approvals counted there, and each login's place per subject. */
interface Assignment {
  readonly counted: ReadonlyMap<string, readonly string[]>;
  /** subject → login → the demand it was counted for (separation of duties only). */
  readonly placed: ReadonlyMap<string, ReadonlyMap<string, ApprovalDemand>>;
}

function emergencyState(policy: CharterPolicy, facts: PullFacts): Evaluation["emergency"] {
  const lane = policy.emergency;
  if (!lane || !facts.labels.includes(lane.label)) return { requested: false, active: false, reason: null };
  const reason = sectionContent(facts.body, lane.reasonSection ?? DEFAULT_REASON_SECTION);
  return { requested: true, active: reason !== null, reason };
}

function planRule(rule: Rule, changes: readonly Change[], ctx: Context): RequirementPlan {
  const matched = changes.filter((c) => matches(rule.when ?? {}, c, ctx));
  if (matched.length === 0) return { name: rule.name, requirement: rule.require, changes: undefined, agentIds: [], demands: [] };
  return planRequirement(rule.name, rule.require, matched, ctx);
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
 * One requirement applied to a set of changes: every changed agent needs its own approvals (one
 * agent's owners cannot approve another's change, and separation of duties is judged per agent);
 * governance files are one subject of their own.
 */
function planRequirement(name: string, requirement: Requirement, changes: readonly Change[], ctx: Context): RequirementPlan {
  const from = requirement.from ?? { owners: true };
  const needed = requirement.approvals ?? 1;
  const agentIds = [...new Set(changes.map((c) => c.agent).filter((a): a is string => a !== undefined))].sort();
  const demands: ApprovalDemand[] = [];
  if (needed > 0) {
    const base = { rule: name, needed, requirement, from };
    if (agentIds.length > 0) {
      for (const id of agentIds) {
        demands.push({ ...base, key: `${name}\n${id}`, node: `Approval for ${id}`, subject: id, agent: id, owners: from.owners ? ownersOf(ctx.agents.get(id)) : [], eligible: new Map<string, string | undefined>() });
      }
    } else {
      demands.push({ ...base, key: `${name}\n`, node: "Approval", subject: GOVERNANCE_SUBJECT, agent: undefined, owners: [], eligible: new Map<string, string | undefined>() });
    }
  }
  return { name, requirement, changes, agentIds, demands };
}

function ownersOf(agent: PolicyAgent | undefined): readonly Owner[] {
  // The base branch's owners decide: a pull request cannot make its author's friends owners
  // and then have them approve. A new agent has only the owners it proposes.
  return agent?.base?.owners ?? agent?.head?.owners ?? [];
}

/** The reviewers whose approval would count for a demand, ignoring every other demand. */
function candidatesFor(demand: ApprovalDemand, ctx: Context): string[] {
  const out: string[] = [];
  const stale = demand.requirement.allowStaleApprovals === true;
  for (const r of ctx.approvers) if ((stale || !r.stale) && eligibility(r.login, demand, ctx) !== undefined) out.push(r.login);
  return out;
}

/** Separation of duties: per subject, a maximum assignment of approvers to the demands on it. */
function separatedAssignment(demands: readonly ApprovalDemand[], ctx: Context): Assignment {
  const bySubject = new Map<string, ApprovalDemand[]>();
  for (const d of demands) bySubject.set(d.subject, [...(bySubject.get(d.subject) ?? []), d]);
  const counted = new Map<string, readonly string[]>();
  const placed = new Map<string, Map<string, ApprovalDemand>>();
  for (const [subject, list] of bySubject) {
    const assigned = assignApprovers(list.map((d) => ({ key: d.key, needed: d.needed, candidates: candidatesFor(d, ctx) })));
    const where = new Map<string, ApprovalDemand>();
    for (const d of list) {
      const logins = assigned.get(d.key) ?? [];
      counted.set(d.key, logins);
      for (const login of logins) where.set(login.toLowerCase(), d);
    }
    placed.set(subject, where);
  }
  return { counted, placed };
}

/** Without separation of duties, every eligible approval counts wherever it is eligible. */
function sharedAssignment(demands: readonly ApprovalDemand[], ctx: Context): Assignment {
  return { counted: new Map(demands.map((d) => [d.key, candidatesFor(d, ctx)])), placed: new Map() };
}

function renderRequirement(plan: RequirementPlan, assignment: Assignment, ctx: Context, separate: boolean): ResultNode {
  if (plan.changes === undefined) return node(plan.name, "skipped", "Not triggered by this pull request.");
  const children: ResultNode[] = plan.demands.map((d) => approvals(d, assignment, ctx, separate));
  for (const check of plan.requirement.checks ?? []) children.push(requiredCheck(check, ctx));
  for (const section of plan.requirement.sections ?? []) children.push(requiredSection(section, ctx.facts));

  const status = children.length === 0 ? "satisfied" : combine(children.map((c) => c.status));
  const kinds = [...new Set(plan.changes.map((c) => c.kind))].join(", ");
  const summary =
    (plan.changes.length > 0 ? `Triggered by ${kinds}${plan.agentIds.length > 0 ? ` (${plan.agentIds.join(", ")})` : ""}. ` : "") +
    (status === "satisfied" ? "Satisfied." : status === "blocked" ? "Blocked." : "Waiting for what is missing below.");
  return node(plan.name, status, summary, [], [], children);
}

function approvals(demand: ApprovalDemand, assignment: Assignment, ctx: Context, separate: boolean): ResultNode {
  const { needed, requirement } = demand;
  // Who may approve depends only on the rule and the agent: described once, not once per review
  // (most reviewers of a pull request touching many agents are not eligible for a given agent).
  const mayApprove = describeFrom(demand, ctx);
  const notEligible = `${mayApprove.join(", ") || "nobody"} may approve`;
  const counted = assignment.counted.get(demand.key) ?? [];
  const countedSet = new Set(counted);
  const placed = assignment.placed.get(demand.subject);
  const details: string[] = [];
  // Approvals that do not count here explain a shortfall; once the node is satisfied they are
  // noise (on a pull request touching many agents, every reviewer is ineligible for most).
  const unused: string[] = [];
  const countedApprovals: CountedApproval[] = [];
  const blocking: string[] = [];
  let countedElsewhere = 0;

  for (const r of ctx.reviews) {
    const via = eligibility(r.login, demand, ctx);
    if (r.exclusion) {
      if (r.state !== "dismissed") details.push(`@${r.login}'s review does not count: ${EXCLUSION_TEXT[r.exclusion]}.`);
      continue;
    }
    if (r.state === "dismissed") {
      if (via) details.push(`@${r.login}'s review was dismissed.`);
      continue;
    }
    if (!via) {
      if (r.state === "approved") unused.push(`@${r.login} approved but is not eligible here (${notEligible}).`);
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
    if (countedSet.has(r.login)) {
      countedApprovals.push({ reviewer: r.login, via, rule: demand.rule, ...(demand.agent === undefined ? {} : { agent: demand.agent }), commitId: r.commitId, submittedAt: r.submittedAt });
      details.unshift(`@${r.login} approved (${via})${r.stale ? " on an earlier commit, which this rule accepts" : ""}.`);
      continue;
    }
    const elsewhere = placed?.get(r.login.toLowerCase());
    if (separate && elsewhere && elsewhere !== demand) {
      countedElsewhere++;
      unused.push(`@${r.login} approved (${via}) but is counted for "${elsewhere.rule}"${demand.agent ? ` on ${demand.agent}` : ""}: separation of duties counts one person once per agent.`);
    }
  }

  const missing: Missing[] = [];
  let status: Status = "satisfied";
  if (blocking.length > 0) {
    status = "blocked";
    missing.push(...blocking.map((login): Missing => ({ what: "re-review", from: [`@${login}`], detail: `@${login} requested changes; they must approve or dismiss their review.` })));
  }
  if (counted.length < needed) {
    if (status !== "blocked") status = "pending";
    const who = mayApprove.filter((w) => !counted.some((login) => w.toLowerCase() === `@${login.toLowerCase()}`));
    const count = needed - counted.length;
    missing.push({ what: "approval", count, from: who, detail: `Needs ${count} more approval${count === 1 ? "" : "s"} from ${who.join(", ") || "an eligible reviewer"}${countedElsewhere > 0 ? " who is not counted for another rule on this agent" : ""}.` });
  }
  if (status !== "satisfied") {
    details.push(...unused);
    details.push(...agentOwners(demand, ctx).map((login) => `@${login} is listed as an approver but is an agent's own account: it never counts.`));
  }
  const summary = `${counted.length} of ${needed} approval${needed === 1 ? "" : "s"}${counted.length > 0 ? ` (${counted.map((l) => `@${l}`).join(", ")})` : ""}.`;
  return { ...node(demand.node, status, summary, details, missing), approvals: countedApprovals };
}

/** How a login qualifies as an approver for a demand, or undefined if it does not. */
function eligibility(login: string, demand: ApprovalDemand, ctx: Context): string | undefined {
  if (demand.eligible.has(login)) return demand.eligible.get(login);
  const via = qualify(login, demand, ctx);
  demand.eligible.set(login, via);
  return via;
}

function qualify(login: string, demand: ApprovalDemand, ctx: Context): string | undefined {
  const lower = login.toLowerCase();
  const { from } = demand;
  for (const o of demand.owners) {
    if (o.user?.toLowerCase() === lower) return "owner";
    if (o.team && isMember(ctx, o.team, lower)) return `owner via @${o.team}`;
  }
  for (const u of from.users ?? []) if (u.toLowerCase() === lower) return "listed user";
  for (const team of from.teams ?? []) if (isMember(ctx, team, lower)) return `member of @${team}`;
  if (from.permission) {
    const has = ctx.permissions.get(login) ?? ctx.permissions.get(lower) ?? "none";
    if (PERMISSION_RANK.indexOf(has) >= PERMISSION_RANK.indexOf(from.permission)) return `${has} permission`;
  }
  return undefined;
}

function isMember(ctx: Context, team: string, login: string): boolean {
  return ctx.teams.get(team.toLowerCase())?.has(login) === true;
}

/** Users the demand names (as owners or listed users) who are agents' own accounts. */
function agentOwners(demand: ApprovalDemand, ctx: Context): string[] {
  const named = [...demand.owners.flatMap((o) => (o.user ? [o.user] : [])), ...(demand.from.users ?? [])];
  return [...new Set(named.filter((u) => ctx.identities.has(u.toLowerCase())))];
}

function describeFrom(demand: ApprovalDemand, ctx: Context): string[] {
  const who: string[] = [];
  const person = (login: string) => {
    if (!ctx.identities.has(login.toLowerCase())) who.push(`@${login}`);
  };
  for (const o of demand.owners) {
    if (o.user) person(o.user);
    else who.push(`@${o.team ?? ""}`);
  }
  for (const u of demand.from.users ?? []) person(u);
  for (const t of demand.from.teams ?? []) who.push(`@${t}`);
  if (demand.from.permission) who.push(`anyone with ${demand.from.permission} permission`);
  return [...new Set(who)];
}

/** Git identities GitHub links to no account: nobody can tell whether an approver wrote them. */
function unlinkedContributors(contributors: Contributors): ResultNode | undefined {
  const { unlinked } = contributors;
  if (unlinked.length === 0) return undefined;
  const shown = unlinked.slice(0, MAX_IGNORED_RUNS);
  const details = shown.map((u) => `Commit ${u.sha.slice(0, 7)}: ${u.role} ${u.name} <${u.email}> is not linked to a GitHub account.`);
  if (unlinked.length > shown.length) details.push(`…and ${unlinked.length - shown.length} more.`);
  const emails = [...new Set(shown.map((u) => u.email))].join(", ");
  return node(
    "Commit authors",
    "blocked",
    `${unlinked.length} author${unlinked.length === 1 ? "" : "s"}, co-author${unlinked.length === 1 ? "" : "s"} or committer${unlinked.length === 1 ? "" : "s"} of this pull request's commits GitHub links to no account, so Charter cannot tell whether one of the approvers wrote the change.`,
    details,
    [
      {
        what: "identity",
        from: ["the author"],
        detail: `Have each person add the address (${emails}) to their GitHub account (Settings → Emails), or rewrite the commits with an address GitHub knows; then re-run the check.`,
      },
    ],
  );
}

function requiredCheck(entry: string | RequiredCheck, ctx: Context): ResultNode {
  const spec = checkSpec(entry);
  const { name } = spec;
  const title = `Check "${name}"`;
  if (!spec.source) {
    return node(title, "blocked", `The policy does not say who must post "${name}" (${spec.problem ?? "no source"}): a run from any app or workflow would look the same, so none counts.`, [], [
      { what: "check", from: [`the base branch's ${POLICY_PATH}`], detail: `In ${POLICY_PATH}, ${checkFix(name)}` },
    ]);
  }
  const source = spec.source;
  const sourceText = describeSource(source);
  const runs = ctx.facts.checkRuns.filter((r) => r.name === name);
  const ignored: string[] = [];
  const valid: CheckRunFact[] = [];
  for (const run of runs) {
    if (!fromSource(run, source)) ignored.push(`a run by ${describePoster(run)}, which is not the expected source`);
    else if ("workflow" in source && run.isJob !== true) ignored.push(`run ${run.id} in the workflow's check suite, which is not one of its jobs (a run created through the checks API)`);
    else valid.push(run);
  }
  const details = ignored.slice(0, MAX_IGNORED_RUNS).map((why) => `Not counted: ${why}.`);
  if (ignored.length > MAX_IGNORED_RUNS) details.push(`…and ${ignored.length - MAX_IGNORED_RUNS} more runs from other sources.`);

  if ("workflow" in source && ctx.workflowChanges.length > 0) {
    return node(
      title,
      "blocked",
      `This pull request changes workflow files (${ctx.workflowChanges.join(", ")}). A workflow it adds or edits runs its own definition on its commits and can post runs into any GitHub Actions check suite there, so no "${name}" run on its head can be trusted to come from ${source.workflow}.`,
      details,
      [{ what: "check", from: ["the author"], detail: `Merge the workflow change in a pull request of its own, then update this one so that "${name}" runs from ${source.workflow} as the base branch defines it` }],
    );
  }

  // The latest run of each check suite: a re-run replaces its predecessor within its suite, but
  // one suite's success never hides another suite's failure.
  const latest = new Map<number | null, CheckRunFact>();
  for (const run of valid) {
    const seen = latest.get(run.suiteId);
    if (!seen || run.id > seen.id) latest.set(run.suiteId, run);
  }
  const judged = [...latest.values()].sort((a, b) => b.id - a.id);
  const failed = judged.find((r) => r.status === "completed" && r.conclusion !== "success");
  const running = judged.find((r) => r.status !== "completed");
  const newest = failed ?? running ?? judged[0];
  const check = newest ? checkedRun(newest, source) : undefined;
  const withCheck = (n: ResultNode): ResultNode => (check ? { ...n, check } : n);

  if (!newest) {
    return node(title, "pending", `No "${name}" run from ${sourceText} on the head commit yet.`, details, [{ what: "check", from: [name], detail: `Wait for "${name}" from ${sourceText} to run on ${ctx.facts.headSha.slice(0, 7)}.` }]);
  }
  if (failed) {
    return withCheck(
      node(title, "blocked", `"${name}" from ${sourceText} concluded ${failed.conclusion ?? "without a conclusion"}.`, [...(failed.url ? [failed.url] : []), ...details], [
        { what: "check", from: [name], detail: `Fix the change so that "${name}" succeeds, then push.` },
      ]),
    );
  }
  if (running) {
    return withCheck(node(title, "pending", `"${name}" from ${sourceText} is ${running.status.replace("_", " ")}.`, details, [{ what: "check", from: [name], detail: `Wait for "${name}" to finish.` }]));
  }
  return withCheck(node(title, "satisfied", `"${name}" from ${sourceText} succeeded${newest.completedAt ? ` at ${newest.completedAt}` : ""}.`, details));
}

function checkedRun(run: CheckRunFact, source: CheckSource): CheckedRun {
  return {
    name: run.name,
    app: run.app?.slug ?? null,
    ...("workflow" in source ? { workflow: source.workflow } : {}),
    conclusion: run.conclusion,
    completedAt: run.completedAt,
    url: run.url,
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
