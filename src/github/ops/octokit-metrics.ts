import type { ProbotOctokit } from "probot";
import type { CharterMetrics } from "./metrics.js";

/**
 * Counts every GitHub API response an Octokit receives and keeps the rate-limit gauge at what
 * GitHub last said. Probot creates a new Octokit per event and installation, so this runs once
 * per instance the app is handed; hooking an instance twice would count each request twice.
 * Hooks added to a built instance wrap those of its plugins: what they see is the outcome after
 * Octokit's retries and throttling waits, one count per request the app made.
 */
export type ObservedOctokit = Pick<InstanceType<typeof ProbotOctokit>, "hook">;

const observed = new WeakSet<object>();

type HeaderValue = string | number | undefined;

export function observeOctokit(octokit: ObservedOctokit, metrics: Pick<CharterMetrics, "githubRequests" | "githubRateLimitRemaining">): void {
  if (observed.has(octokit)) return;
  observed.add(octokit);

  const record = (method: string, status: string, headers: Readonly<Record<string, HeaderValue>> | undefined): void => {
    metrics.githubRequests.inc({ method: method.toUpperCase(), status });
    if (!headers) return;
    // Headers are what the server sent: read defensively, a proxy or GHES may omit or mangle them.
    const remaining = Number(headers["x-ratelimit-remaining"]);
    const resource = headers["x-ratelimit-resource"];
    if (headers["x-ratelimit-remaining"] === undefined || !Number.isFinite(remaining)) return;
    metrics.githubRateLimitRemaining.set({ resource: typeof resource === "string" && /^[a-z_]{1,40}$/.test(resource) ? resource : "unknown" }, remaining);
  };

  octokit.hook.after("request", (response, options) => {
    record(options.method, String(response.status), response.headers);
  });

  // Errors carry the response when GitHub answered (4xx, 5xx, 304): a 403 "rate limit exceeded"
  // holds the headers that matter most. Without a response (network failure) the status is "none".
  octokit.hook.error("request", (error, options) => {
    const response = "response" in error ? error.response : undefined;
    record(options.method, response ? String(response.status) : "none", response?.headers);
    throw error;
  });
}
