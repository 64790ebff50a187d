/* eslint-disable @typescript-eslint/no-unsafe-member-access --
   answers are GitHub's JSON, read field by field in assertions (see RestAnswer in rest-client.ts) */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openSqliteTrail } from "../../../src/sources/sqlite-trail-store.js";
import { eventFromBytes } from "../../../src/trail/event-bytes.js";
import { runCli } from "../../cli/run-cli.js";
import { restClient } from "../../github-sim/rest-client.js";
import { GitHubSimulator } from "../../github-sim/simulator.js";
import { agentTree, tempDir, type TempDir } from "../../helpers/provisioning.js";
import { saveEnv } from "../../helpers/saved-env.js";
import { tempRepo, type TempRepo } from "../../helpers/temp-repo.js";

// charter token issue --github end to end: manifests in a git repository, charter sync into the
// local registry, the app's credentials from the environment, the simulator over real HTTP.
const POLICY = "version: 1\nprovisioning:\n  providers:\n    github:\n      enabled: true\n";
const READER = { id: "gh-reader", permissions: ["github:contents:read:acme/web-app"] };
const VARIABLES = ["APP_ID", "PRIVATE_KEY", "CHARTER_GITHUB_API_URL", "CHARTER_LOCAL_DB", "CHARTER_TRAIL_DB", "DATABASE_URL"];

let sim: GitHubSimulator;
let server: { url: string; close: () => Promise<void> };
let repo: TempRepo;
let state: TempDir;
let restoreEnv: () => void = () => undefined;

beforeAll(async () => {
  sim = await GitHubSimulator.create();
  await sim.createRepository({ owner: "acme", name: "web-app", files: { "a.txt": "a\n" } });
  await sim.createRepository({ owner: "acme", name: "billing", files: { "b.txt": "b\n" } });
  server = await sim.listen();
});
afterAll(async () => {
  await server.close();
  await sim.close();
});
beforeEach(() => {
  restoreEnv = saveEnv(VARIABLES);
  repo = tempRepo({ ...agentTree([READER]), ".github/charter.yml": POLICY });
  repo.commitAll("one agent reading a repository");
  state = tempDir();
  process.env["APP_ID"] = String(sim.appId);
  process.env["PRIVATE_KEY"] = sim.privateKey;
  process.env["CHARTER_GITHUB_API_URL"] = server.url;
  process.env["CHARTER_LOCAL_DB"] = state.file("registry.db");
  process.env["CHARTER_TRAIL_DB"] = state.file("trail.sqlite");
  delete process.env["DATABASE_URL"];
});
afterEach(() => {
  restoreEnv();
  repo.remove();
  state.remove();
});

function everything(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name)).toString("latin1"))
    .join("\n");
}

describe("charter token issue --github", () => {
  it("prints one token limited to the approved repository; a working tree that widens the manifest changes nothing", async () => {
    expect((await runCli(["sync"], repo.root)).code).toBe(0);
    // A pull request's checkout: the manifest now asks for billing too, with write. (The API URL
    // comes from the environment only: the policy has no key for it, so a branch cannot send the app's JWT elsewhere.)
    repo.write(agentTree([{ id: "gh-reader", permissions: ["github:contents:write:acme/web-app", "github:contents:write:acme/billing"] }]));
    const issued = await runCli(["token", "issue", "gh-reader", "--github"], repo.root);
    expect(issued.stderr).toBe("");
    expect(issued.code).toBe(0);
    const token = issued.stdout.trim();
    expect(token).toMatch(/^ghs_\S+$/);
    const api = restClient(sim, token);
    expect((await api("GET", "/repos/acme/web-app/contents/a.txt")).status).toBe(200);
    expect((await api("POST", "/repos/acme/web-app/git/blobs", { content: "x", encoding: "utf-8" })).status).toBe(403);
    expect((await api("GET", "/repos/acme/billing/contents/b.txt")).status).toBe(404);

    const json = await runCli(["token", "issue", "gh-reader", "--github", "--format", "json"], repo.root);
    expect(JSON.parse(json.stdout).tokens).toMatchObject([{ owner: "acme", repositories: ["web-app"], permissions: { contents: "read" } }]);
  });

  it("never writes a token to the registry, the repository or standard error", async () => {
    const synced = await runCli(["sync"], repo.root);
    const issued = await runCli(["token", "issue", "gh-reader", "--github"], repo.root);
    const again = await runCli(["token", "issue", "gh-reader", "--github", "--format", "json"], repo.root);
    const tokens = [issued.stdout.trim(), JSON.parse(again.stdout).tokens[0].token as string];
    for (const token of tokens) {
      expect(token).toMatch(/^ghs_/);
      expect(everything(state.path)).not.toContain(token);
      expect(everything(repo.root)).not.toContain(token);
      expect(synced.stdout + synced.stderr + issued.stderr + again.stderr).not.toContain(token);
    }
  });

  it("records each token in the trail as an attested token-issued event of the agent, by its id and scope, before printing it", async () => {
    expect((await runCli(["sync"], repo.root)).code).toBe(0);
    const issued = await runCli(["token", "issue", "gh-reader", "--github"], repo.root);
    expect(issued.code).toBe(0);
    const store = openSqliteTrail(state.file("trail.sqlite"));
    try {
      const events = (await store.readChain(1, 100)).map((l) => eventFromBytes(l.bytes, l.hash.toString("hex")));
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ source: "github-token", attested: true, agent: "gh-reader", action: "token-issued", resource: "acme/web-app", detail: { permissions: "contents:read" } });
      expect(events[0]?.detail["credential"]).toMatch(/^github:[0-9a-f-]{36}$/);
    } finally {
      await store.close();
    }
    // A refused request records nothing.
    expect((await runCli(["token", "issue", "gh-reader", "--github", "--repo", "acme/billing"], repo.root)).code).not.toBe(0);
    const after = openSqliteTrail(state.file("trail.sqlite"));
    try {
      expect((await after.tip()).seq).toBe(1);
    } finally {
      await after.close();
    }
  });

  it("refuses a short --ttl, a missing key, a disabled provider and an unknown repository with a clear error", async () => {
    expect((await runCli(["sync"], repo.root)).code).toBe(0);
    const short = await runCli(["token", "issue", "gh-reader", "--github", "--ttl", "15m"], repo.root);
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/shorter than the one hour GitHub installation tokens live/);
    const other = await runCli(["token", "issue", "gh-reader", "--github", "--repo", "acme/billing"], repo.root);
    expect(other.stderr).toMatch(/no approved github permission on acme\/billing/);
    delete process.env["PRIVATE_KEY"];
    expect((await runCli(["token", "issue", "gh-reader", "--github"], repo.root)).stderr).toMatch(/PRIVATE_KEY is not set/);
    process.env["PRIVATE_KEY"] = "not a key";
    const bad = await runCli(["token", "issue", "gh-reader", "--github"], repo.root);
    expect(bad.stderr).toMatch(/not a PEM private key/);
    repo.write({ ".github/charter.yml": "version: 1\n" });
    expect((await runCli(["token", "issue", "gh-reader", "--github"], repo.root)).stderr).toMatch(/github provider is not enabled/);
    for (const result of [short, other, bad]) expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
