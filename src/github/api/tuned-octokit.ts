import { ProbotOctokit } from "probot";

/** Longest wait for GitHub's primary rate limit to reset that is worth holding a worker for. */
const PRIMARY_WAIT_LIMIT_SECONDS = 60;
/** Secondary limits ask for short pauses; a few are retried, then the job's own backoff takes over. */
const SECONDARY_RETRIES = 2;
const SECONDARY_WAIT_LIMIT_SECONDS = 120;

/**
 * Whether to wait and retry a request GitHub refused for its primary rate limit (5,000 requests
 * an hour per installation). Probot's default waits for the reset however far away, which can
 * hold a worker for most of an hour; Charter waits only for a reset within a minute, once, and
 * otherwise lets the request fail: the job queue retries it later with backoff, and the other
 * jobs keep moving.
 */
export function retryPrimaryLimit(retryAfterSeconds: number, retryCount: number): boolean {
  return retryCount < 1 && retryAfterSeconds <= PRIMARY_WAIT_LIMIT_SECONDS;
}

/** Whether to wait and retry after a secondary (abuse) rate limit: twice, for short pauses only. */
export function retrySecondaryLimit(retryAfterSeconds: number, retryCount: number): boolean {
  return retryCount < SECONDARY_RETRIES && retryAfterSeconds <= SECONDARY_WAIT_LIMIT_SECONDS;
}

/**
 * Probot's Octokit with rate-limit handling tuned for a queue-backed app. A defaults function,
 * not an object: Probot sets its own throttle options, which would replace an object wholesale.
 * Writes stay spaced the way GitHub asks (the throttling plugin's queue), and 5xx answers are
 * retried by the retry plugin as before.
 */
export const CharterOctokit: typeof ProbotOctokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  throttle: {
    ...(options["throttle"] as object | undefined),
    enabled: true,
    onRateLimit: (retryAfter: number, request: { method: string; url: string }, octokit: { log: { warn: (message: string) => void } }, retryCount: number) => {
      const retry = retryPrimaryLimit(retryAfter, retryCount);
      octokit.log.warn(`GitHub's rate limit refused ${request.method} ${request.url}; ${retry ? `retrying in ${String(retryAfter)} s` : "leaving it to the job queue's retry"}`);
      return retry;
    },
    onSecondaryRateLimit: (retryAfter: number, request: { method: string; url: string }, octokit: { log: { warn: (message: string) => void } }, retryCount: number) => {
      const retry = retrySecondaryLimit(retryAfter, retryCount);
      octokit.log.warn(`GitHub's secondary rate limit refused ${request.method} ${request.url}; ${retry ? `retrying in ${String(retryAfter)} s` : "leaving it to the job queue's retry"}`);
      return retry;
    },
  },
}));
