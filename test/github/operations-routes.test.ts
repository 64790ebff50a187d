import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createCharterMetrics } from "../../src/github/ops/metrics.js";
import { operationsHandler, type OperationsDeps, type Readiness } from "../../src/github/ops/operations-routes.js";
import { GitHubSimulator, startApp, type StartedApp } from "../github-sim/index.js";
import { parseExposition } from "./exposition.js";

const SECRET_URL = "postgres://charter:hunter2-very-secret@db.example.com:5432/charter";
const FALLTHROUGH = "reached the next handler";

let server: Server | undefined;
let sim: GitHubSimulator | undefined;
let app: StartedApp | undefined;

afterEach(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => { resolve(); }));
  }
  await app?.close();
  await sim?.close();
  server = undefined;
  app = undefined;
  sim = undefined;
});

/** Serves the handler on loopback as Probot's middleware would: a false answer passes the request on. */
async function serve(deps: OperationsDeps): Promise<string> {
  const handler = operationsHandler(deps);
  const started = createServer((req, res) => {
    void Promise.resolve(handler(req, res)).then((handled) => {
      if (handled) return;
      res.writeHead(404, { "content-type": "text/plain" });
      res.end(FALLTHROUGH);
    });
  });
  server = started;
  await new Promise<void>((resolve) => started.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(started.address() as AddressInfo).port}`;
}

const readyWith = (readiness: Readiness) => () => Promise.resolve(readiness);

describe("operationsHandler over HTTP", () => {
  it("answers /healthz with 200 ok as plain text, for GET and HEAD", async () => {
    const url = await serve({ metrics: createCharterMetrics(), ready: readyWith({ ok: false, checks: {} }) });
    const get = await fetch(`${url}/healthz`);
    expect(get.status).toBe(200);
    expect(get.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(get.headers.get("cache-control")).toBe("no-store");
    expect(await get.text()).toBe("ok\n");

    const head = await fetch(`${url}/healthz`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("3");
    expect(await head.text()).toBe("");
  });

  it("answers /readyz with 200 and the checks when ready, 503 when not", async () => {
    let readiness: Readiness = { ok: true, checks: { queue: "reachable", "signing key": "configured" } };
    const url = await serve({ metrics: createCharterMetrics(), ready: () => Promise.resolve(readiness) });

    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await ready.json()).toEqual({ ok: true, checks: { queue: "reachable", "signing key": "configured" } });

    readiness = { ok: false, checks: { queue: "unreachable", "signing key": "configured" } };
    const notReady = await fetch(`${url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ ok: false, checks: { queue: "unreachable", "signing key": "configured" } });

    const head = await fetch(`${url}/readyz?verbose=1`, { method: "HEAD" });
    expect(head.status).toBe(503);
    expect(await head.text()).toBe("");
  });

  it("answers 503 without the error's text when the readiness check itself throws", async () => {
    const url = await serve({ metrics: createCharterMetrics(), ready: () => Promise.reject(new Error(`connect ECONNREFUSED ${SECRET_URL}`)) });
    const answer = await fetch(`${url}/readyz`);
    expect(answer.status).toBe(503);
    const body = await answer.text();
    expect(JSON.parse(body)).toEqual({ ok: false, checks: { readiness: "check failed" } });
    expect(body).not.toContain("hunter2");
  });

  it("removes credentials a check's state quotes", async () => {
    const url = await serve({ metrics: createCharterMetrics(), ready: readyWith({ ok: false, checks: { queue: `unreachable: ${SECRET_URL}` } }) });
    const body = await (await fetch(`${url}/readyz`)).text();
    expect(body).not.toContain("hunter2");
    expect(JSON.parse(body)).toEqual({ ok: false, checks: { queue: "unreachable: postgres://charter:[redacted]@db.example.com:5432/charter" } });
  });

  it("serves /metrics in the Prometheus text format 0.0.4", async () => {
    const metrics = createCharterMetrics();
    metrics.webhooksReceived.inc({ event: "pull_request" });
    const url = await serve({ metrics, ready: readyWith({ ok: true, checks: {} }) });

    const answer = await fetch(`${url}/metrics`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const families = parseExposition(await answer.text());
    expect(families.get("charter_webhooks_received_total")?.samples).toEqual([{ name: "charter_webhooks_received_total", labels: { event: "pull_request" }, value: 1 }]);

    const head = await fetch(`${url}/metrics`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBeGreaterThan(0);
    expect(await head.text()).toBe("");
  });

  it("answers 500 without the error's text when collecting metrics fails", async () => {
    const metrics = createCharterMetrics();
    metrics.registry.onCollect(() => Promise.reject(new Error(`lost ${SECRET_URL}`)));
    const url = await serve({ metrics, ready: readyWith({ ok: true, checks: {} }) });
    const answer = await fetch(`${url}/metrics`);
    expect(answer.status).toBe(500);
    expect(await answer.text()).toBe("metrics unavailable\n");
  });

  it("requires the bearer token for /metrics when one is configured, and only for /metrics", async () => {
    const token = "s3cret-scrape-token";
    const url = await serve({ metrics: createCharterMetrics(), ready: readyWith({ ok: true, checks: {} }), metricsToken: token });

    const anonymous = await fetch(`${url}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe("Bearer");
    expect(await anonymous.text()).not.toContain(token);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: `Basic ${token}` } })).status).toBe(401);

    const scraped = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).not.toContain(token);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it("answers 405 with Allow for other methods on its paths, and passes every other path on", async () => {
    const url = await serve({ metrics: createCharterMetrics(), ready: readyWith({ ok: true, checks: {} }) });
    const post = await fetch(`${url}/metrics`, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");

    for (const path of ["/", "/api/github/webhooks", "/healthz/extra", "/metricsx", "/HEALTHZ"]) {
      const answer = await fetch(`${url}${path}`);
      expect(answer.status, path).toBe(404);
      expect(await answer.text(), path).toBe(FALLTHROUGH);
    }
  });
});

describe("operationsHandler inside Probot", () => {
  it("is added with addHandler and leaves Probot's webhook route working", async () => {
    sim = await GitHubSimulator.create();
    const repo = await sim.createRepository({ owner: "acme", name: "agents", files: { "agents/a/agent.yaml": "name: a\n" } });
    const metrics = createCharterMetrics();
    app = await startApp(sim, (probot, options) => {
      options.addHandler(operationsHandler({ metrics, ready: readyWith({ ok: true, checks: { queue: "reachable" } }) }));
      probot.onAny((context) => {
        metrics.webhooksReceived.inc({ event: context.name });
        return Promise.resolve();
      });
    });

    const { delivery } = await sim.openPullRequest(repo, { author: "bob", branch: "change-a", title: "Change a", files: { "agents/a/agent.yaml": "name: a\nmodel: large\n" } });
    expect(delivery).toMatchObject({ event: "pull_request", status: 200, error: null });

    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${app.url}/readyz`)).json()).toEqual({ ok: true, checks: { queue: "reachable" } });
    const families = parseExposition(await (await fetch(`${app.url}/metrics`)).text());
    // Opening the pull request also pushed its branch, so a push delivery arrived too.
    expect(families.get("charter_webhooks_received_total")?.samples).toContainEqual({ name: "charter_webhooks_received_total", labels: { event: "pull_request" }, value: 1 });
    // Not ours: Probot's own answer, then the harness's 404.
    expect((await fetch(`${app.url}/elsewhere`)).status).toBe(404);
  });
});
