// A tiny REST client for the simulator's own tests: raw requests (so invalid ones can be sent
// on purpose) through `sim.fetch`, with the answer's status, headers and parsed body.

import type { GitHubSimulator } from "./simulator.js";

export interface RestAnswer {
  readonly status: number;
  readonly headers: Headers;
  // The simulator's answers are whatever JSON GitHub would send; tests read into them freely.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

export function restClient(sim: GitHubSimulator, token: string | null, base = "https://api.github.com") {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<RestAnswer> => {
    const response = await sim.fetch(`${base}${path}`, {
      method,
      headers: {
        accept: "application/vnd.github+json",
        ...(token ? { authorization: `token ${token}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Raw media types answer with file bytes, not JSON.
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };
}
