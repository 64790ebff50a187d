// One request through the simulator, in GitHub's order: route, injected faults, authentication,
// rate limit, schema validation, installation permission, then the handler. Every refusal that
// GitHub would make for a malformed or unauthorised request is recorded as a Rejection.

import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { AuthError, type Credential } from "./auth.js";
import type { SimCore } from "./core.js";
import type { Fault } from "./faults.js";
import { executeGraphql } from "./graphql.js";
import { aliasCount, costLimitResponse } from "./graphql-cost-limit.js";
import { errorBody, HttpError, REST_DOCS, type SimResponse } from "./http.js";
import { routeRest, validateRest } from "./openapi.js";
import { rateLimitHeaders, type RateLimitSnapshot, type RateResource } from "./rate-limit.js";
import { permitted, REST_ROUTES } from "./rest-handlers/index.js";

export type RejectionKind = "unknown-route" | "unauthenticated" | "forbidden" | "invalid" | "unsimulated";

/** A request GitHub would have refused (or that used something the simulator does not model). */
export interface Rejection {
  readonly kind: RejectionKind;
  /** operationId, "graphql", or "unknown" when no route matched. */
  readonly operation: string;
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly message: string;
  readonly errors: readonly unknown[];
  readonly requestBody: unknown;
}

export interface PipelineRecorder {
  count(operation: string): void;
  reject(rejection: Rejection): void;
}

const SECONDARY_DOCS =
  "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";
const PRIMARY_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-rate-limit";

interface Incoming {
  readonly method: string;
  readonly url: URL;
  /** Path relative to the API root: "/repos/..." or "/graphql", with GHES's /api/v3 removed. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly rawBody: string;
}

function apiPath(url: URL): string {
  if (url.pathname === "/api/graphql") return "/graphql";
  if (url.pathname.startsWith("/api/v3/")) return url.pathname.slice("/api/v3".length);
  return url.pathname;
}

function toResponse(response: SimResponse, common: Record<string, string>): Response {
  const headers = new Headers(common);
  for (const [name, value] of Object.entries(response.headers ?? {})) headers.set(name, value);
  let body: Uint8Array | string | null = null;
  if (Buffer.isBuffer(response.body)) {
    body = new Uint8Array(response.body);
  } else if (response.body !== undefined) {
    body = JSON.stringify(response.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json; charset=utf-8");
  }
  return new Response(body, { status: response.status, headers });
}

function faultResponse(fault: Exclude<Fault, { kind: "latency" }>, requestId: string): SimResponse {
  if (fault.kind === "server-error") {
    return { status: fault.status ?? 500, body: { message: "Server Error" } };
  }
  const status = fault.status ?? 403;
  const message =
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. " +
    `If you reach out to GitHub Support for help, please include the request ID ${requestId}.`;
  return {
    status,
    body: errorBody(status, message, SECONDARY_DOCS),
    headers: { "retry-after": String(fault.retryAfterSeconds ?? 60) },
  };
}

export class RequestPipeline {
  constructor(
    private readonly core: SimCore,
    private readonly recorder: PipelineRecorder,
  ) {}

  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const incoming: Incoming = {
      method: request.method.toUpperCase(),
      url,
      path: apiPath(url),
      headers: Object.fromEntries([...request.headers].map(([name, value]) => [name.toLowerCase(), value])),
      rawBody: request.method === "GET" || request.method === "HEAD" ? "" : await request.text(),
    };
    const requestId = randomUUID().slice(0, 23).toUpperCase();
    const common: Record<string, string> = {
      "x-github-request-id": requestId,
      "x-github-api-version-selected": "2022-11-28",
      "x-github-media-type": "github.v3; format=json",
    };
    const { response, rate } = await this.process(incoming, requestId);
    return toResponse(response, { ...common, ...rateLimitHeaders(rate) });
  }

  private reject(incoming: Incoming, operation: string, kind: RejectionKind, status: number, message: string, errors: readonly unknown[]): void {
    let requestBody: unknown = incoming.rawBody;
    try {
      requestBody = incoming.rawBody ? JSON.parse(incoming.rawBody) : undefined;
    } catch {
      // Keep the raw text: the body itself was what GitHub refused.
    }
    this.recorder.reject({
      kind,
      operation,
      method: incoming.method,
      url: incoming.url.toString(),
      status,
      message,
      errors,
      requestBody,
    });
  }

  private async process(incoming: Incoming, requestId: string): Promise<{ response: SimResponse; rate: RateLimitSnapshot }> {
    const isGraphql = incoming.path === "/graphql" && incoming.method === "POST";
    const routed = isGraphql ? null : await routeRest(incoming.method, `${incoming.path}${incoming.url.search}`);
    const operation = isGraphql ? "graphql" : (routed?.operation.operationId ?? "unknown");
    const documentation = routed?.operation.documentationUrl ?? (isGraphql ? "https://docs.github.com/graphql" : REST_DOCS);
    const resource: RateResource = isGraphql ? "graphql" : "core";
    this.recorder.count(operation);
    const anonymous = this.core.rateLimiter.peek("anonymous", resource);
    const refuse = (kind: RejectionKind, status: number, message: string, errors: readonly unknown[] = [], extra: Record<string, unknown> = {}) => {
      this.reject(incoming, operation, kind, status, message, errors);
      return { status, body: errorBody(status, message, documentation, { ...(errors.length > 0 ? { errors } : {}), ...extra }) };
    };

    if (!isGraphql && !routed) return { response: refuse("unknown-route", 404, "Not Found"), rate: anonymous };

    let failure: SimResponse | null = null;
    for (const fault of this.core.faults.take(operation)) {
      if (fault.kind === "latency") await sleep(fault.ms);
      else failure ??= faultResponse(fault, requestId);
    }

    let credential: Credential;
    try {
      credential = this.core.auth.authenticate(incoming.headers["authorization"] ?? null);
    } catch (error: unknown) {
      if (!(error instanceof AuthError)) throw error;
      return { response: refuse("unauthenticated", 401, error.message), rate: anonymous };
    }
    if (credential.kind === "none") {
      const message = isGraphql ? "This endpoint requires you to be authenticated." : "Requires authentication";
      return { response: refuse("unauthenticated", 401, message), rate: anonymous };
    }

    const caller = credential.kind === "app" ? "app" : `installation:${credential.token.installationId}`;
    const spent = this.core.rateLimiter.spend(caller, resource);
    if (failure) return { response: failure, rate: spent.snapshot };
    if (!spent.allowed) {
      const who = credential.kind === "app" ? "the app" : `installation ID ${credential.token.installationId}`;
      return {
        response: { status: 403, body: errorBody(403, `API rate limit exceeded for ${who}.`, PRIMARY_DOCS) },
        rate: spent.snapshot,
      };
    }

    let body: unknown;
    try {
      body = incoming.rawBody ? JSON.parse(incoming.rawBody) : undefined;
    } catch {
      return { response: refuse("invalid", 400, "Problems parsing JSON"), rate: spent.snapshot };
    }

    if (isGraphql) {
      if (credential.kind !== "installation") {
        return { response: refuse("unauthenticated", 401, "A JSON web token cannot be used for GraphQL requests."), rate: spent.snapshot };
      }
      // Counted against the rate limit like any query: GitHub counts its timeouts too.
      const limit = this.core.graphqlCostLimit;
      if (limit !== null && aliasCount((body as { query?: unknown } | undefined)?.query) > limit.maxAliases) {
        this.core.graphqlCostRefusals++;
        return { response: costLimitResponse(limit.answer, requestId), rate: spent.snapshot };
      }
      const outcome = await executeGraphql(this.core, credential.token, spent.snapshot, body ?? {});
      if (outcome.invalid) this.reject(incoming, operation, "invalid", 200, "GraphQL document refused", outcome.body.errors ?? []);
      for (const field of outcome.unsimulated) {
        this.reject(incoming, operation, "unsimulated", 200, `github-sim does not simulate ${field}`, []);
      }
      return { response: { status: 200, body: outcome.body }, rate: spent.snapshot };
    }

    if (!routed) throw new Error("github-sim: unreachable: REST request without a route");
    const route = REST_ROUTES.get(operation);
    if (!route) {
      return { response: refuse("unsimulated", 404, `github-sim does not simulate ${operation}`), rate: spent.snapshot };
    }
    const validation = await validateRest(operation, {
      method: incoming.method,
      path: routed.path,
      headers: incoming.headers,
      body,
    });
    if (validation.errors.length > 0) {
      return { response: refuse("invalid", 422, "Validation Failed", validation.errors), rate: spent.snapshot };
    }
    if (route.credential === "app" && credential.kind !== "app") {
      return {
        response: refuse("unauthenticated", 401, "A JSON web token could not be decoded"),
        rate: spent.snapshot,
      };
    }
    if (route.credential === "installation") {
      if (credential.kind !== "installation") {
        return { response: refuse("forbidden", 403, "Resource not accessible by integration"), rate: spent.snapshot };
      }
      if (!permitted(route, credential.token.permissions)) {
        return { response: refuse("forbidden", 403, "Resource not accessible by integration"), rate: spent.snapshot };
      }
    }

    try {
      const response = await route.handler({
        core: this.core,
        operationId: operation,
        params: routed.params,
        query: { ...routed.query, ...validation.query },
        body: (body ?? {}) as Record<string, unknown>,
        headers: incoming.headers,
        credential,
        url: new URL(`${incoming.url.origin}${incoming.url.pathname}${incoming.url.search}`),
      });
      return { response, rate: spent.snapshot };
    } catch (error: unknown) {
      if (!(error instanceof HttpError)) throw error;
      const extra = error.options.extra ?? {};
      if (error.options.record === true) {
        const errors = Array.isArray(extra["errors"]) ? (extra["errors"] as unknown[]) : [];
        const kind: RejectionKind = error.status === 403 ? "forbidden" : "invalid";
        this.reject(incoming, operation, kind, error.status, error.message, errors);
      }
      return { response: { status: error.status, body: errorBody(error.status, error.message, documentation, extra) }, rate: spent.snapshot };
    }
  }
}
