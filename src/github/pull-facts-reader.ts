import type { ProbotOctokit } from "probot";
import type { CharterPolicy } from "../policy/charter-policy.generated.js";
import type { PolicyAgent } from "../policy/evaluate.js";
import type { PullFacts, RepositoryPermission } from "../policy/pull-facts.js";
import { pullFactsFromRest, type RestCheckRun, type RestCommit, type RestReview } from "./rest-facts.js";

type PullRequest = Awaited<ReturnType<ProbotOctokit["rest"]["pulls"]["get"]>>["data"];

const PER_PAGE = 100;
// GitHub's pull request commits endpoint lists at most 250 commits.
const MAX_COMMIT_PAGES = 3;

export interface FactsReport {
  readonly facts: PullFacts;
  /** Requests made, for the call accounting in logs. */
  readonly requests: number;
}

/**
 * Builds PullFacts from the API. The number of requests grows with the pull request's reviews,
 * commits and the teams the policy names, never with the repository: reviews and commits in
 * pages of 100, then one membership lookup per (team, reviewer) and one permission lookup per
 * reviewer, only when the policy needs them and only for reviewers whose review could count.
 */
export async function readPullFacts(
  octokit: ProbotOctokit,
  target: { owner: string; repo: string },
  pr: PullRequest,
  checkRuns: readonly RestCheckRun[],
  policy: CharterPolicy,
  agents: readonly PolicyAgent[],
  governanceChanged: boolean,
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

  const commits: RestCommit[] = [];
  for (let page = 1; page <= MAX_COMMIT_PAGES; page++) {
    const { data } = await octokit.rest.pulls.listCommits({ owner, repo, pull_number: pr.number, per_page: PER_PAGE, page });
    requests++;
    commits.push(...data);
    if (data.length < PER_PAGE) break;
  }

  // Only people whose review could count are looked up: their latest decisive review exists
  // and they are neither the author nor a bot.
  const candidates = new Set<string>();
  for (const r of reviews) {
    if (!r.user || r.user.type === "Bot" || r.user.login.endsWith("[bot]") || r.user.login === pr.user.login) continue;
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

  const facts = pullFactsFromRest({ pullRequest: pr, reviews, commits, checkRuns, teamMembers, permissions });
  return { facts, requests };
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

/** Teams that can make someone eligible: owners' teams of the changed agents and teams the policy names. */
function teamsNamed(policy: CharterPolicy, agents: readonly PolicyAgent[]): string[] {
  const teams = new Set<string>();
  for (const a of agents) for (const m of [a.base, a.head]) for (const o of m?.owners ?? []) if (o.team) teams.add(o.team);
  const requirements = [...(policy.rules ?? []).map((r) => r.require), policy.governance?.require, policy.emergency?.require];
  for (const r of requirements) for (const t of r?.from?.teams ?? []) teams.add(t);
  return [...teams].sort();
}

function usesPermission(policy: CharterPolicy, governanceChanged: boolean): boolean {
  const requirements = [...(policy.rules ?? []).map((r) => r.require), policy.emergency?.require];
  if (requirements.some((r) => r?.from?.permission !== undefined)) return true;
  // Governance falls back to maintainers when the policy names no approvers for it.
  return governanceChanged && (policy.governance?.require.from?.permission !== undefined || policy.governance?.require.from === undefined);
}
