// Starts a real Probot app on 127.0.0.1 wired to a GitHub simulator: webhooks arrive over HTTP,
// signed with the simulator's secret; the app's Octokit talks to the simulator through
// `sim.fetch`. App tests reuse this to run the app exactly as it runs in production.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createNodeMiddleware, Probot, ProbotOctokit, type ApplicationFunction } from "probot";
import type { GitHubSimulator } from "./simulator.js";

export interface StartedApp {
  /** Base URL of the app's server, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly probot: Probot;
  /** Stops the server, waits for background webhooks and detaches the simulator. */
  readonly close: () => Promise<void>;
}

const WEBHOOK_PATH = "/api/github/webhooks";

/**
 * ProbotOctokit with retries and throttling really off. The object form
 * `ProbotOctokit.defaults({ throttle: { enabled: false } })` does not survive in Probot 14: Probot
 * passes its own throttle options, which replace that object wholesale, and ProbotOctokit then
 * turns `enabled` back on, so every POST (GraphQL included) waits a second in the throttling
 * plugin's write queue. A defaults *function* runs after Probot's options are set.
 */
export const UnthrottledOctokit: typeof ProbotOctokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  retry: { enabled: false },
  throttle: { ...(options["throttle"] as object | undefined), enabled: false },
}));

export async function startApp(
  sim: GitHubSimulator,
  appFn: ApplicationFunction,
  options: {
    logLevel?: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
    /** The API root the app is configured with, e.g. a GitHub Enterprise Server's https://ghe.example/api/v3. */
    baseUrl?: string;
    /** Sees every request the app sends, before the simulator answers it. */
    observe?: (request: { method: string; url: string; body: string | undefined }) => void | Promise<void>;
  } = {}): Promise<StartedApp> {
  const probot = new Probot({
    appId: sim.appId,
    privateKey: sim.privateKey,
    secret: sim.webhookSecret,
    logLevel: options.logLevel ?? "fatal",
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    request: { fetch: observed(sim.fetch, options.observe) },
    // Retries and throttling would hide the simulator's faults from tests about them.
    Octokit: UnthrottledOctokit,
  });
  const middleware = await createNodeMiddleware(appFn, { probot, webhooksPath: WEBHOOK_PATH });
  const server: Server = createServer((req, res) => {
    void Promise.resolve(
      middleware(req, res, () => {
        res.writeHead(404);
        res.end();
      }),
    ).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(error instanceof Error ? error.message : String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sim.webhookTarget = `${url}${WEBHOOK_PATH}`;
  return {
    url,
    probot,
    close: async () => {
      await sim.idle();
      sim.webhookTarget = undefined;
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      });
    },
  };
}

function observed(fetch: typeof globalThis.fetch, observe?: (request: { method: string; url: string; body: string | undefined }) => void | Promise<void>): typeof globalThis.fetch {
  if (!observe) return fetch;
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const body = typeof init?.body === "string" ? init.body : undefined;
    // An observer may hold a request back (a test's barrier) before the simulator sees it.
    await observe({ method: init?.method ?? (input instanceof Request ? input.method : "GET"), url, body });
    return fetch(input, init);
  };
}
