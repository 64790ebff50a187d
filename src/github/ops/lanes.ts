/**
 * The lanes work runs in. Work in one lane runs one at a time, in arrival order; different lanes
 * run in parallel. The durable job queue keys its jobs by lane (laneOfEvent) and every handler
 * takes its turn in the in-process queue by the same lanes, so the two orderings cannot disagree:
 *
 * - everything that appends to a repository's ledger (merges and their provisioning, pushes,
 *   retro-review comments, access reviews, drift) shares the repository's evidence lane;
 * - a pull request's evaluations run in order in the pull request's lane.
 */
export interface RepositoryName {
  readonly owner: string;
  readonly repo: string;
}

export function evidenceLane(repository: RepositoryName): string {
  return `${repository.owner}/${repository.repo}:evidence`;
}

export function pullRequestLane(pull: RepositoryName & { readonly number: number }): string {
  return `${pull.owner}/${pull.repo}#${String(pull.number)}`;
}

/** The parts of a webhook payload its lane depends on. */
export interface LanePayload {
  readonly action?: string;
  readonly repository?: { readonly name: string; readonly owner: { readonly login: string } | null };
  readonly pull_request?: { readonly number: number; readonly merged?: boolean };
}

/** The lane of a stored webhook (or of a job the reconciler makes in a webhook's shape). */
export function laneOfEvent(name: string, payload: LanePayload): string {
  const repository: RepositoryName = payload.repository ? { owner: payload.repository.owner?.login ?? "", repo: payload.repository.name } : { owner: "", repo: "-" };
  const merged = name === "pull_request" && payload.action === "closed" && payload.pull_request?.merged === true;
  if (merged || name === "push" || name === "issue_comment") return evidenceLane(repository);
  if (payload.pull_request) return pullRequestLane({ ...repository, number: payload.pull_request.number });
  return `${repository.owner}/${repository.repo}:${name}`;
}
