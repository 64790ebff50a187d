import type { ProbotOctokit } from "probot";
import type { CharterPolicy, Requirement } from "../../schema-types/charter-policy.generated.js";
import { contributorsOf } from "../../policy/contributors.js";
import type { PolicyAgent } from "../../policy/evaluate.js";
import type { PullFacts, RepositoryPermission } from "../../policy/pull-facts.js";
import { checkSpec, GITHUB_ACTIONS_SLUG } from "../../policy/required-checks.js";
import { isBot } from "../../policy/reviews.js";
import { checkRunFactsFromGraph, commitFactsFromGraph } from "../../policy/graph-facts.js";
import type { PullGraph } from "./pull-graph.js";
import { actor, pullFactsFromRest, type RestReview } from "../../policy/rest-facts.js";

type PullRequest = Awaited<ReturnType<ProbotOctokit["rest"]["pulls"]["get"]>>["data"];

const PER_PAGE = 100;
/** Pages of jobs read per workflow run (every attempt's): a run of more than 500 jobs is not one a check names. */
const MAX_JOB_PAGES = 5;

export interface FactsReport {
  readonly facts: PullFacts;
  /** Requests made, for the call accounting in logs. */
  readonly requests: number;
}

/**
 * Builds PullFacts from the API. The number of requests grows with the pull request's reviews,
 * the teams the policy names and the workflows its required checks name, never with the
 * repository: reviews in pages of 100; for each workflow a required check is bound to that has a
 * run on the head commit, one request for that run's jobs (a run is only a workflow's if it is
 * one of its jobs); then one membership lookup per (team, reviewer) and one permission lookup
 * per reviewer, only when the policy needs them and only for reviewers whose review could count.
 * Commits and check suites come from `graph`, read beside the files at no extra request.
 */
export async function readPullFacts(
  octokit: ProbotOctokit,
  target: { owner: string; repo: string },
  pr: PullRequest,
  graph: PullGraph,
  policy: CharterPolicy,
  agents: readonly PolicyAgent[],
  governanceChanged: boolean,
  agentIdentities: readonly string[],
): Promise<FactsReport> {
  const { owner, repo } = target;
  let requests = 0;

  const reviews: RestReview[] = [];
  for (let page = 1; ; page++) {
    const { data } = await octokit.rest.pulls.listReviews({ owner, repo, pull_number: pr.number, per_page: PER_PAGE, page });
    requests++;
    reviews.push(...data);
    if (data.length < PER_PAGE) break;
  }

  const jobs = new Map<number, Set<number>>();
  for (const runId of boundWorkflowRuns(policy, graph)) {
    const ids = new Set<number>();
    for (let page = 1; page <= MAX_JOB_PAGES; page++) {
      const { data } = await octokit.rest.actions.listJobsForWorkflowRun({ owner, repo, run_id: runId, filter: "all", per_page: PER_PAGE, page });
      requests++;
      for (const job of data.jobs) {
        // GitHub documents the link from a job to its check run (check_run_url), not an equality of ids.
        const id = Number(/\/check-runs\/(\d+)$/.exec(job.check_run_url)?.[1]);
        if (Number.isSafeInteger(id)) ids.add(id);
      }
      if (data.jobs.length < PER_PAGE) break;
    }
    jobs.set(runId, ids);
  }

  const commits = commitFactsFromGraph(graph.commits);
  const excluded = new Set([...agentIdentities.map((a) => a.toLowerCase()), ...contributorsOf({ author: actor(pr.user), commits }).logins]);
  for (const a of agents) for (const m of [a.base, a.head]) if (m?.identities?.github) excluded.add(m.identities.github.toLowerCase());
  // Only people whose review could count are looked up: their latest decisive review exists and
  // they are neither a contributor, an agent nor a bot.
  const candidates = new Set<string>();
  for (const r of reviews) {
    if (!r.user || isBot(actor(r.user)) || excluded.has(r.user.login.toLowerCase())) continue;
    if (r.state === "APPROVED" || r.state === "CHANGES_REQUESTED") candidates.add(r.user.login);
  }

  const teams = teamsNamed(policy, agents);
  const teamMembers: Record<string, string[]> = {};
  for (const team of teams) {
    const [org, slug] = team.split("/");
    if (!org || !slug) continue;
    const members: string[] = [];
    for (const login of candidates) {
      requests++;
      if (await isActiveMember(octokit, org, slug, login)) members.push(login);
    }
    teamMembers[team] = members;
  }

  const permissions: Record<string, RepositoryPermission> = {};
  if (usesPermission(policy, governanceChanged)) {
    for (const login of candidates) {
      const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: login });
      requests++;
      permissions[login] = (data.role_name === "maintain" || data.role_name === "triage" ? data.role_name : data.permission) as RepositoryPermission;
    }
  }

  const facts = pullFactsFromRest({ pullRequest: pr, reviews, commits, checkRuns: checkRunFactsFromGraph(graph.suites, jobs), teamMembers, permissions });
  return { facts, requests };
}

/**
 * The workflow runs whose jobs must be listed: runs of a workflow a required check of the policy
 * is bound to, holding a run of that check's name. Typically one per bound workflow.
 */
function boundWorkflowRuns(policy: CharterPolicy, graph: PullGraph): number[] {
  const wanted = new Map<string, Set<string>>();
  for (const requirement of requirements(policy)) {
    for (const entry of requirement?.checks ?? []) {
      const spec = checkSpec(entry);
      if (spec.source && "workflow" in spec.source) wanted.set(spec.source.workflow, (wanted.get(spec.source.workflow) ?? new Set()).add(spec.name));
    }
  }
  const runs = new Set<number>();
  for (const suite of graph.suites) {
    const path = suite.workflowRun?.file?.path;
    const id = suite.workflowRun?.databaseId;
    if (suite.app?.slug !== GITHUB_ACTIONS_SLUG || !path || id == null) continue;
    const names = wanted.get(path);
    if (names && suite.checkRuns.nodes.some((r) => r !== null && names.has(r.name))) runs.add(id);
  }
  return [...runs].sort((a, b) => a - b);
}

export async function isActiveMember(octokit: ProbotOctokit, org: string, slug: string, username: string): Promise<boolean> {
  try {
    const { data } = await octokit.rest.teams.getMembershipForUserInOrg({ org, team_slug: slug, username });
    return data.state === "active";
  } catch (error) {
    // 404 means "not a member" (or a team the app cannot see, which must not grant anything).
    if ((error as { status?: unknown }).status === 404) return false;
    throw error;
  }
}

function requirements(policy: CharterPolicy): (Requirement | undefined)[] {
  return [...(policy.rules ?? []).map((r) => r.require), policy.governance?.require, policy.emergency?.require];
}

/** Teams that can make someone eligible: owners' teams of the changed agents and teams the policy names. */
function teamsNamed(policy: CharterPolicy, agents: readonly PolicyAgent[]): string[] {
  const teams = new Set<string>();
  for (const a of agents) for (const m of [a.base, a.head]) for (const o of m?.owners ?? []) if (o.team) teams.add(o.team);
  for (const r of requirements(policy)) for (const t of r?.from?.teams ?? []) teams.add(t);
  return [...teams].sort();
}

function usesPermission(policy: CharterPolicy, governanceChanged: boolean): boolean {
  const agentRules = [...(policy.rules ?? []).map((r) => r.require), policy.emergency?.require];
  if (agentRules.some((r) => r?.from?.permission !== undefined)) return true;
  // Governance falls back to maintainers when the policy names no approvers for it.
  return governanceChanged && (policy.governance?.require.from?.permission !== undefined || policy.governance?.require.from === undefined);
}
