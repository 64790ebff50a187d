import { mkdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Permission } from "../../../src/manifest/permission.js";
import { createSquidProvider, type SquidProvider } from "../../../src/providers/squid/index.js";
import { tempDir, type TempDir } from "../../helpers/provisioning.js";
import { agent, type SquidFixture, startSquidFixture, sync, UPSTREAM } from "./fixture.js";

// Manifest text is attacker-written. A host or path carrying squid configuration syntax must
// never widen the rules: it is refused (reported, not written), and what is written is escaped
// so that a regular expression metacharacter matches only itself.
let f: SquidFixture;
let provider: SquidProvider;
let base: string;
let host: string;

/** A permission as a hostile source could hand it over, past the manifest grammar. */
const forged = (action: string, resource: string): Permission => ({ raw: `http:${action}:${resource}`, system: "http", action, resource, instance: undefined });

beforeAll(async () => {
  f = await startSquidFixture();
  provider = f.provider();
  host = `${UPSTREAM}:${String(f.upstreamPort)}`;
  base = `http://${host}`;
  await sync(provider, []);
  await f.squid.start();
  expect((await sync(provider, [])).after.operations).toEqual([]);
}, 60_000);
afterAll(async () => {
  await f.stop();
});

describe("squid configuration injection", () => {
  it("refuses hosts and paths with newlines, spaces, #, quotes or acl lines, and writes none of them", async () => {
    const hostile = [
      forged("get", `${host}/v1/a\nhttp_access allow all`),
      forged("get", `${host}/v1/a http_access allow all`),
      forged("get", `${host}/v1/a\racl x src all`),
      forged("get", `${host}/v1/#\nhttp_access allow all`),
      forged("get", `${host}/v1/'a'`),
      forged("get", `${host}/v1/a\tb`),
      forged("get", `all\nhttp_access allow all/v1/a`),
      forged("get", `${UPSTREAM} ${UPSTREAM}:1/v1/a`),
      forged("get", `.${UPSTREAM}/v1/a`),
      forged("get", `${host}/v1/../admin`),
      forged("get", `${host}//v1`),
      forged("connect", `${host}/v1/a`),
      forged("get", `${host}/v1/\${process_name}`),
    ];
    const desired = [agent("mallory", [], { unchecked: hostile })];
    const plan = provider.diff(desired, await provider.observe(), { prune: false });
    expect(plan.findings.map((x) => x.kind)).toEqual(hostile.map(() => "invalid-permission"));
    const result = await sync(provider, desired);
    expect(result.applied.every((a) => a.status === "applied")).toBe(true);
    const lease = await provider.issueLease("mallory", { ttlSeconds: 600 });
    for (const path of ["/v1/a", "/anything", "/v1/admin"]) {
      expect(await f.send("GET", `${base}${path}`, `${lease.username}:${lease.password}`), path).toMatchObject({ status: 403 });
    }
    expect(f.received).toEqual([]);
  });

  it("escapes regular expression metacharacters the grammar allows, so each matches only itself", async () => {
    const desired = [agent("metachar", [`http:get:${host}/v1/a.b`, `http:get:${host}/v1/(x)+`, `http:get:${host}/v1/c$d`])];
    await sync(provider, desired);
    const lease = await provider.issueLease("metachar", { ttlSeconds: 600 });
    const creds = `${lease.username}:${lease.password}`;
    f.received.length = 0;
    expect(await f.send("GET", `${base}/v1/a.b`, creds)).toMatchObject({ status: 200 });
    expect(await f.send("GET", `${base}/v1/aXb`, creds)).toMatchObject({ status: 403 });
    expect(await f.send("GET", `${base}/v1/a.b/more`, creds)).toMatchObject({ status: 403 });
    expect(await f.send("GET", `${base}/v1/(x)+`, creds)).toMatchObject({ status: 200 });
    expect(await f.send("GET", `${base}/v1/xx`, creds)).toMatchObject({ status: 403 });
    expect(await f.send("GET", `${base}/v1/c$d`, creds)).toMatchObject({ status: 200 });
    expect(f.received).toEqual(["GET /v1/a.b", "GET /v1/(x)+", "GET /v1/c$d"]);
  });

  it("keeps a prefix rule from reaching outside it by dot segments or encoded slashes", async () => {
    const desired = [agent("prefix", [`http:get:${host}/v1/tickets/*`])];
    await sync(provider, desired);
    const lease = await provider.issueLease("prefix", { ttlSeconds: 600 });
    const creds = `${lease.username}:${lease.password}`;
    f.received.length = 0;
    for (const path of ["/v1/tickets/../admin", "/v1/tickets/%2e%2e/admin", "/v1/tickets/%2E./admin", "/v1/tickets/..%2fadmin", "/v1/tickets/a%2F..%2F..%2Fadmin"]) {
      expect(await f.send("GET", `${base}${path}`, creds), path).toMatchObject({ status: 403 });
    }
    expect(f.received).toEqual([]);
    expect(await f.send("GET", `${base}/v1/tickets/7`, creds)).toMatchObject({ status: 200 });
  });
});

describe("a misconfigured squid instance", () => {
  let dir: TempDir;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => {
    dir.remove();
  });

  it("says which directory is missing and how to set it up", async () => {
    const missing = createSquidProvider({ instance: "egress", directory: dir.file("nowhere"), listen: "127.0.0.1:3128" });
    const error = await missing.observe().then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: "INVALID_CONFIG" });
    expect((error as Error).message).toContain("does not exist");
  });

  it("refuses settings that would not be one token in squid.conf", () => {
    expect(() => createSquidProvider({ instance: "egress", directory: "/tmp/a dir", listen: "127.0.0.1:3128" })).toThrow(/must be an absolute path/);
    expect(() => createSquidProvider({ instance: "egress", directory: "/tmp/a", listen: "127.0.0.1:3128\nhttp_access allow all" })).toThrow(/is not address:port/);
  });

  it("keeps the running configuration when squid rejects the rendered one, and says what squid said", async () => {
    const directory = dir.file("squid");
    mkdirSync(directory);
    const broken = createSquidProvider({ instance: "egress", directory, listen: "127.0.0.1:3128", program: f.squid.program, authProgram: "/nonexistent/basic_ncsa_auth" });
    const result = await sync(broken, [agent("a", [`http:get:${UPSTREAM}/v1/a`])]);
    const written = result.applied.find((a) => a.action === "write-config");
    expect(written?.status).toBe("failed");
    expect(written?.error).toMatch(/rejected the rendered configuration, which was not installed .*\/nonexistent\/basic_ncsa_auth/);
    expect(written?.error).not.toMatch(/\n\s+at /);
    expect((await broken.observe()).config).toBeUndefined();
  });
});
