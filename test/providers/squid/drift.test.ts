import { appendFileSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { md5Crypt } from "../../../src/providers/squid/md5-crypt.js";
import type { SquidProvider } from "../../../src/providers/squid/index.js";
import { agent, type SquidFixture, startSquidFixture, sync, UPSTREAM } from "./fixture.js";

// Drift: whatever is changed by hand in the proxy's directory is found, with the fix, and a
// sync puts the approved state back, which the running proxy then enforces.
let f: SquidFixture;
let provider: SquidProvider;
let base: string;
let desired: ReturnType<typeof agent>[];

beforeAll(async () => {
  f = await startSquidFixture();
  provider = f.provider();
  base = `http://${UPSTREAM}:${String(f.upstreamPort)}`;
  desired = [agent("support-triage", [`http:get:${UPSTREAM}:${String(f.upstreamPort)}/v1/tickets/*`])];
  await sync(provider, desired);
  await f.squid.start();
  expect((await sync(provider, desired)).after).toEqual({ operations: [], findings: [] });
}, 60_000);
afterAll(async () => {
  await f.stop();
});

const config = (): string => join(f.squid.directory, "squid.conf");

describe("squid drift", () => {
  it("finds a hand-widened rule with the line that differs, and a sync puts the approved file back and reloads it", async () => {
    const lease = await provider.issueLease("support-triage", { ttlSeconds: 600 });
    const creds = `${lease.username}:${lease.password}`;
    const text = readFileSync(config(), "utf8");
    writeFileSync(config(), text.replace("urlpath_regex ^/v1/tickets/", "urlpath_regex ^/v1/"));
    await f.squid.reload();
    expect(await f.send("GET", `${base}/v1/admin`, creds)).toMatchObject({ status: 200 });

    const drift = provider.diff(desired, await provider.observe(), { prune: false });
    expect(drift.findings.map((x) => x.kind)).toEqual(["config-edited"]);
    expect(drift.findings[0]?.detail).toContain("+ acl charter_support-triage_0_path urlpath_regex ^/v1/;");
    expect(drift.findings[0]?.detail).toContain("- acl charter_support-triage_0_path urlpath_regex ^/v1/tickets/");
    expect(drift.operations.map((o) => o.action)).toEqual(["write-config"]);

    const fixed = await sync(provider, desired);
    expect(fixed.after).toEqual({ operations: [], findings: [] });
    expect(readFileSync(config(), "utf8")).toBe(text);
    expect(await f.send("GET", `${base}/v1/admin`, creds)).toMatchObject({ status: 403 });
  });

  it("finds an allow-all line added by hand", async () => {
    const text = readFileSync(config(), "utf8");
    writeFileSync(config(), text.replace("http_access deny !charter_authenticated", "http_access allow all\nhttp_access deny !charter_authenticated"));
    const drift = provider.diff(desired, await provider.observe(), { prune: false });
    expect(drift.findings.map((x) => [x.kind, x.detail.includes("+ http_access allow all")])).toEqual([["config-edited", true]]);
    expect((await sync(provider, desired)).after).toEqual({ operations: [], findings: [] });
  });

  it("finds an extra user in the password file, even one named like the agent's leases, and a sync removes it", async () => {
    const forged = "charter-agent-support-triage.0123456789abcdef01234567";
    appendFileSync(join(f.squid.directory, "passwd"), `${forged}:${md5Crypt("forged-password")}\nintruder:${md5Crypt("intruder-password")}\n`);
    // basic_ncsa_auth re-reads the file when its modification second changes.
    const later = Math.floor(Date.now() / 1000) + 5;
    utimesSync(join(f.squid.directory, "passwd"), later, later);
    expect(await f.send("GET", `${base}/v1/tickets/1`, `${forged}:forged-password`)).toMatchObject({ status: 200 });

    const drift = provider.diff(desired, await provider.observe(), { prune: false });
    expect(drift.findings.map((x) => x.kind)).toEqual(["unknown-credential", "unknown-credential"]);
    expect(drift.findings.map((x) => x.detail).join("\n")).toMatch(/charter-agent-support-triage\.0123456789abcdef01234567.*\n.*intruder/);

    const fixed = await sync(provider, desired);
    expect(fixed.after).toEqual({ operations: [], findings: [] });
    const passwd = readFileSync(join(f.squid.directory, "passwd"), "utf8");
    expect(passwd).not.toContain("intruder");
    expect(passwd).not.toContain(forged);
    // Denied by name at once, though squid may still hold the password as checked.
    expect(await f.send("GET", `${base}/v1/tickets/1`, `${forged}:forged-password`)).toMatchObject({ status: 407 });
    expect(await f.send("GET", `${base}/v1/tickets/1`, "intruder:intruder-password")).toMatchObject({ status: 407 });
  });

  it("finds a configuration Charter wrote that squid never loaded", async () => {
    const state = JSON.parse(readFileSync(join(f.squid.directory, "charter-state.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(f.squid.directory, "charter-state.json"), JSON.stringify({ ...state, loaded: null }));
    const drift = provider.diff(desired, await provider.observe(), { prune: false });
    expect(drift.findings.map((x) => x.kind)).toEqual(["config-not-loaded"]);
    expect(drift.operations.map((o) => o.action)).toEqual(["reload"]);
    expect((await sync(provider, desired)).after).toEqual({ operations: [], findings: [] });
  });
});
