import { readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSquidProvider, type SquidLease, type SquidProvider } from "../../../src/providers/squid/index.js";
import { agent, OTHER, type SquidFixture, startSquidFixture, sync, UPSTREAM } from "./fixture.js";

let f: SquidFixture;
let provider: SquidProvider;
let base: string;

const creds = (lease: SquidLease): string => `${lease.username}:${lease.password}`;

beforeAll(async () => {
  f = await startSquidFixture();
  provider = f.provider();
  base = `http://${UPSTREAM}:${String(f.upstreamPort)}`;
  // The operator's first run: Charter writes squid.conf, squid is not running yet to reload.
  const first = await sync(provider, desired());
  const written = first.applied.find((a) => a.action === "write-config");
  expect(written?.status).toBe("failed");
  expect(written?.error).toMatch(/could not be told to reload .*start squid with/);
  await f.squid.start();
  const second = await sync(provider, desired());
  expect(second.applied).toMatchObject([{ action: "reload", status: "applied" }]);
  expect(second.after).toEqual({ operations: [], findings: [] });
}, 60_000);
afterAll(async () => {
  await f.stop();
});

function desired(extra: ReturnType<typeof agent>[] = []) {
  return [
    agent("support-triage", [`http:get:${UPSTREAM}:${String(f.upstreamPort)}/v1/tickets/*`, `http:post:${UPSTREAM}:${String(f.upstreamPort)}/v1/replies`]),
    agent("billing-bot", [`http:get:${UPSTREAM}:${String(f.upstreamPort)}/v1/invoices/*`]),
    ...extra,
  ];
}

describe("squid provider against a real proxy and upstream", () => {
  it("lets each agent's own credentials through for exactly its approved method, host and path", async () => {
    const triage = await provider.issueLease("support-triage", { ttlSeconds: 600 });
    const billing = await provider.issueLease("billing-bot", { ttlSeconds: 600 });
    f.received.length = 0;

    expect(await f.send("GET", `${base}/v1/tickets/42`, creds(triage))).toMatchObject({ status: 200, body: "upstream saw GET /v1/tickets/42" });
    expect(await f.send("POST", `${base}/v1/replies`, creds(triage))).toMatchObject({ status: 200 });
    expect(await f.send("GET", `${base}/v1/replies?page=2`, creds(triage))).toMatchObject({ status: 403 });
    expect(await f.send("POST", `${base}/v1/replies/extra`, creds(triage))).toMatchObject({ status: 403 });
    expect(await f.send("DELETE", `${base}/v1/tickets/42`, creds(triage))).toMatchObject({ status: 403 });
    expect(await f.send("GET", `${base}/v1/admin`, creds(triage))).toMatchObject({ status: 403 });
    expect(await f.send("GET", `http://${OTHER}:${String(f.upstreamPort)}/v1/tickets/42`, creds(triage))).toMatchObject({ status: 403 });
    // One agent's credentials never carry another's rules.
    expect(await f.send("GET", `${base}/v1/invoices/7`, creds(triage))).toMatchObject({ status: 403 });
    expect(await f.send("GET", `${base}/v1/tickets/42`, creds(billing))).toMatchObject({ status: 403 });
    expect(await f.send("GET", `${base}/v1/invoices/7`, creds(billing))).toMatchObject({ status: 200 });
    // No credentials, a wrong password, another lease's user with this password: 407.
    expect(await f.send("GET", `${base}/v1/tickets/42`)).toMatchObject({ status: 407 });
    expect(await f.send("GET", `${base}/v1/tickets/42`, `${triage.username}:wrong-password`)).toMatchObject({ status: 407 });
    expect(await f.send("GET", `${base}/v1/invoices/7`, `${billing.username}:${triage.password}`)).toMatchObject({ status: 407 });
    expect(f.received).toEqual(["GET /v1/tickets/42", "POST /v1/replies", "GET /v1/invoices/7"]);
  });

  it("refuses CONNECT: through a tunnel the proxy would see no path to check", async () => {
    const triage = await provider.issueLease("support-triage", { ttlSeconds: 600 });
    const answer = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port: f.squid.port,
        method: "CONNECT",
        path: `${UPSTREAM}:${String(f.upstreamPort)}`,
        headers: { "proxy-authorization": `Basic ${Buffer.from(creds(triage)).toString("base64")}` },
      });
      req.once("connect", (res, socket) => {
        socket.destroy();
        resolve(res.statusCode ?? 0);
      });
      req.once("response", (res) => {
        resolve(res.statusCode ?? 0);
      });
      req.once("error", reject);
      req.end();
    });
    expect(answer).toBe(403);
  });

  it("writes a JSON access log line per request that names the agent's proxy user, method, URL and status, never the password", async () => {
    const triage = await provider.issueLease("support-triage", { ttlSeconds: 600 });
    expect(await f.send("GET", `${base}/v1/tickets/9?secret=q`, creds(triage))).toMatchObject({ status: 200 });
    const log = readFileSync(join(f.squid.directory, "access.log"), "utf8");
    const lines = log.trim().split("\n").map((l) => JSON.parse(l) as Record<string, string>);
    const line = lines.findLast((l) => l["user"] === triage.username);
    expect(line).toMatchObject({ method: "GET", status: "200", host: UPSTREAM, port: String(f.upstreamPort) });
    // strip_query_terms: the query, where secrets and personal data travel, is not logged.
    expect(decodeURIComponent(line?.["url"] ?? "")).toBe(`${base}/v1/tickets/9?`);
    expect(Number(line?.["ts"])).toBeGreaterThan(1_600_000_000);
    expect(log).not.toContain(triage.password);
    for (const file of ["passwd", "squid.conf", "charter-state.json"]) expect(readFileSync(join(f.squid.directory, file), "utf8")).not.toContain(triage.password);
  });

  it("keeps a request in flight working across the reload a sync does", async () => {
    const triage = await provider.issueLease("support-triage", { ttlSeconds: 600 });
    try {
      const slow = f.send("GET", `${base}/v1/tickets/slow/1`, creds(triage));
      await f.slowArrived();
      const changed = await sync(provider, desired([agent("new-agent", [`http:get:${UPSTREAM}:${String(f.upstreamPort)}/v2/*`])]));
      expect(changed.applied.map((a) => [a.action, a.status])).toEqual([["create-identity", "applied"], ["write-config", "applied"]]);
      f.releaseSlow();
      expect(await slow).toEqual({ status: 200, body: "upstream started; upstream saw GET /v1/tickets/slow/1" });
    } finally {
      f.releaseSlow();
    }
  });

  it("removes an expired lease on the next sync, and the proxy refuses it", async () => {
    const lease = await provider.issueLease("billing-bot", { ttlSeconds: 60 });
    expect(await f.send("GET", `${base}/v1/invoices/1`, creds(lease))).toMatchObject({ status: 200 });
    const later = createSquidProvider({ instance: "egress", directory: f.squid.directory, listen: f.squid.listen, program: f.squid.program, hostsFile: f.squid.hostsFile, now: () => Date.now() + 61_000 });
    const expired = await sync(later, desired([agent("new-agent", [`http:get:${UPSTREAM}:${String(f.upstreamPort)}/v2/*`])]));
    expect(expired.before.operations.filter((o) => o.target === `lease ${lease.lease} of billing-bot`).map((o) => o.action)).toEqual(["drop-expired-lease"]);
    expect(readFileSync(join(f.squid.directory, "passwd"), "utf8")).not.toContain(lease.username);
    expect(await f.send("GET", `${base}/v1/invoices/1`, creds(lease))).toMatchObject({ status: 407 });
  });

  it("refuses a lease longer than the manifest's maxLifetime and one for an agent it does not manage", async () => {
    await expect(provider.issueLease("billing-bot", { ttlSeconds: 3601 })).rejects.toMatchObject({ code: "OUT_OF_RANGE" });
    await expect(provider.issueLease("nobody", { ttlSeconds: 60 })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("takes a retired agent's rules and credentials away on the next sync", async () => {
    const lease = await provider.issueLease("billing-bot", { ttlSeconds: 600 });
    expect(await f.send("GET", `${base}/v1/invoices/3`, creds(lease))).toMatchObject({ status: 200 });
    const [triage] = desired();
    if (triage === undefined) throw new Error("no agent");
    const retired = await sync(provider, [triage, agent("billing-bot", [], { status: "retired" })], true);
    expect(retired.before.operations.map((o) => o.action)).toEqual(expect.arrayContaining(["drop-identity", "write-config"]));
    expect(retired.after).toEqual({ operations: [], findings: [] });
    expect([403, 407]).toContain((await f.send("GET", `${base}/v1/invoices/3`, creds(lease))).status);
    expect(readFileSync(join(f.squid.directory, "passwd"), "utf8")).not.toContain("charter-agent-billing-bot.");
    expect(readFileSync(join(f.squid.directory, "squid.conf"), "utf8")).not.toMatch(/http_access allow charter_billing-bot/);
  });
});
