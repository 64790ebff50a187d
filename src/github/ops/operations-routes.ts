import { timingSafeEqual, createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApplicationFunctionOptions } from "probot";
import { redactSecrets } from "../../provision/redact.js";
import type { CharterMetrics } from "./metrics.js";

/** What Probot's `addHandler` takes; probot does not export the type by name. */
export type Handler = Parameters<NonNullable<ApplicationFunctionOptions["addHandler"]>>[0];

export interface Readiness {
  readonly ok: boolean;
  /** Check name → short state, e.g. { queue: "reachable", "signing key": "configured" }. */
  readonly checks: Readonly<Record<string, string>>;
}

export interface OperationsDeps {
  readonly metrics: Pick<CharterMetrics, "render">;
  readonly ready: () => Promise<Readiness>;
  /**
   * When set, GET /metrics requires `Authorization: Bearer <token>`. The app's port also takes
   * GitHub's webhooks and is therefore often public, and metrics name repositories.
   */
  readonly metricsToken?: string | undefined;
}

const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
const PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * GET (and HEAD) /healthz, /readyz and /metrics beside Probot's webhook route. Every other path
 * returns false so the next handler (the webhooks) gets the request.
 *
 *  - /healthz answers 200 while the process can serve HTTP at all: a liveness probe.
 *  - /readyz answers 200 or 503 with `{ ok, checks }`: whether this replica should get traffic.
 *  - /metrics answers the Prometheus text format (0.0.4).
 *
 * Nothing here echoes an error message: drivers quote connection strings, and these endpoints
 * are unauthenticated by default.
 */
export function operationsHandler(deps: OperationsDeps): Handler {
  const expectedToken = deps.metricsToken ? digest(deps.metricsToken) : undefined;

  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = pathOf(req.url);
    if (path === undefined || !PATHS.has(path)) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(req, res, 405, "text/plain; charset=utf-8", "method not allowed\n", { allow: "GET, HEAD" });
      return true;
    }

    if (path === "/healthz") {
      send(req, res, 200, "text/plain; charset=utf-8", "ok\n");
      return true;
    }

    if (path === "/readyz") {
      let readiness: Readiness;
      try {
        readiness = await deps.ready();
      } catch {
        readiness = { ok: false, checks: { readiness: "check failed" } };
      }
      const checks = Object.fromEntries(Object.entries(readiness.checks).map(([name, state]) => [redactSecrets(name), redactSecrets(state)]));
      send(req, res, readiness.ok ? 200 : 503, "application/json; charset=utf-8", `${JSON.stringify({ ok: readiness.ok, checks })}\n`);
      return true;
    }

    if (expectedToken && !bearerMatches(req.headers.authorization, expectedToken)) {
      send(req, res, 401, "text/plain; charset=utf-8", "unauthorized\n", { "www-authenticate": "Bearer" });
      return true;
    }
    let body: string;
    try {
      body = await deps.metrics.render();
    } catch {
      send(req, res, 500, "text/plain; charset=utf-8", "metrics unavailable\n");
      return true;
    }
    send(req, res, 200, PROMETHEUS_CONTENT_TYPE, body);
    return true;
  };
}

function pathOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url, "http://localhost").pathname;
  } catch {
    return undefined;
  }
}

function send(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(body, "utf8");
  res.writeHead(status, { ...headers, "content-type": contentType, "content-length": String(bytes.length), "cache-control": "no-store" });
  // HEAD gets GET's headers, Content-Length included, without the body.
  res.end(req.method === "HEAD" ? undefined : bytes);
}

/** Comparing fixed-length digests keeps the comparison's time independent of the token's length. */
function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
}
