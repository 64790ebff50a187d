/* eslint-disable @typescript-eslint/no-unsafe-member-access --
   answers are GitHub's JSON, read field by field in assertions (see RestAnswer in rest-client.ts) */
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isCharterError } from "../../../src/errors.js";
import { githubTokenScopes, issueGithubTokens } from "../../../src/providers/github/index.js";
import { LocalProvider, LocalRegistry } from "../../../src/providers/local/index.js";
import { desiredState } from "../../../src/provision/desired-state.js";
import { sync } from "../../../src/provision/engine.js";
import { restClient } from "../../github-sim/rest-client.js";
import { GitHubSimulator } from "../../github-sim/simulator.js";
import { type AgentSpec, agentTree, checkedAgents, COMMIT_A, tempDir, type TempDir } from "../../helpers/provisioning.js";

let sim: GitHubSimulator;
let dir: TempDir;
let registry: LocalRegistry;
let provider: LocalProvider;

const READER: AgentSpec = { id: "gh-reader", permissions: ["github:contents:read:acme/web-app"] };

beforeAll(async () => {
  sim = await GitHubSimulator.create();
  await sim.createRepository({ owner: "acme", name: "web-app", files: { "a.txt": "a\n" } });
  await sim.createRepository({ owner: "acme", name: "billing", files: { "b.txt": "b\n" } });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  dir = tempDir();
  registry = LocalRegistry.open(dir.file("registry.db"));
  provider = new LocalProvider({ registry });
});
afterEach(async () => {
  await provider.close();
  dir.remove();
});

async function provision(specs: readonly AgentSpec[]): Promise<void> {
  const agents = await checkedAgents(agentTree(specs));
  expect((await sync([provider], desiredState(agents, COMMIT_A, [provider]), { prune: false })).outcome).toBe("converged");
}

const app = () => ({ appId: String(sim.appId), privateKeyPem: sim.privateKey, apiUrl: "https://api.github.com", fetch: sim.fetch });

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isCharterError(error) ? error.code : `not a CharterError: ${String(error)}`;
  }
  return undefined;
}

describe("GitHub installation tokens", () => {
  it("reach exactly the approved repository and permission: contents read on web-app, no write, no other repository", async () => {
    await provision([READER]);
    const [minted, extra] = await issueGithubTokens(registry, "gh-reader", app());
    expect(extra).toBeUndefined();
    expect(minted).toMatchObject({ owner: "acme", repositories: ["web-app"], permissions: { contents: "read" } });
    const api = restClient(sim, minted?.token ?? "");
    const read = await api("GET", "/repos/acme/web-app/contents/a.txt");
    expect(read.status).toBe(200);
    expect(Buffer.from(String(read.body.content), "base64").toString()).toBe("a\n");
    const write = await api("POST", "/repos/acme/web-app/git/blobs", { content: "x", encoding: "utf-8" });
    expect(write.status).toBe(403);
    expect(write.body.message).toBe("Resource not accessible by integration");
    expect((await api("GET", "/repos/acme/billing/contents/b.txt")).status).toBe(404);
    const lifetime = (minted?.expiresAt.getTime() ?? 0) - Date.now();
    expect(lifetime).toBeGreaterThan(3500 * 1000);
    expect(lifetime).toBeLessThanOrEqual(3600 * 1000);
  });

  it("split repositories with different approved permissions into different tokens, so write on one is not write on the other", async () => {
    await provision([{ id: "gh-mixed", permissions: ["github:contents:write:acme/web-app", "github:contents:read:acme/billing", "github:contents:read:acme/web-app"] }]);
    const minted = await issueGithubTokens(registry, "gh-mixed", app());
    expect(minted.map((t) => [t.repositories, t.permissions])).toEqual([
      [["billing"], { contents: "read" }],
      [["web-app"], { contents: "write" }],
    ]);
    const billing = restClient(sim, minted[0]?.token ?? "");
    expect((await billing("POST", "/repos/acme/billing/git/blobs", { content: "x", encoding: "utf-8" })).status).toBe(403);
    const webApp = restClient(sim, minted[1]?.token ?? "");
    expect((await webApp("POST", "/repos/acme/web-app/git/blobs", { content: "x", encoding: "utf-8" })).status).toBe(201);
    expect((await webApp("GET", "/repos/acme/billing/contents/b.txt")).status).toBe(404);
  });

  it("are refused when the manifest's lifetime is shorter than GitHub's hour, before any token is minted", async () => {
    await provision([{ ...READER, maxLifetime: "15m" }]);
    sim.resetCalls();
    expect(await codeOf(issueGithubTokens(registry, "gh-reader", app()))).toBe("OUT_OF_RANGE");
    expect(sim.calls).toEqual({});
    expect(registry.tokens("gh-reader")).toEqual([]);
  });

  it("are recorded in the registry as issued credentials, by an id of Charter's and never by the token", async () => {
    await provision([READER]);
    const [minted] = await issueGithubTokens(registry, "gh-reader", app());
    const rows = registry.tokens("gh-reader");
    expect(rows).toHaveLength(1);
    expect(rows[0]?.jti).toMatch(/^github:[0-9a-f-]{36}$/);
    expect((rows[0]?.expiresAt ?? 0) - (rows[0]?.issuedAt ?? 0)).toBeLessThanOrEqual(3600 + 60);
    const token = minted?.token ?? "missing";
    const files = readdirSync(dir.path).filter((name) => name.startsWith("registry.db"));
    expect(files).toContain("registry.db");
    for (const file of files) expect(readFileSync(dir.file(file)).toString("latin1")).not.toContain(token);
  });
});

describe("an answer wider than asked for", () => {
  it("is refused and its token never shown, whether it adds a permission or a repository", async () => {
    await provision([READER]);
    const widen = (change: (body: Record<string, unknown>) => void): typeof globalThis.fetch => async (input, init) => {
      const response = await sim.fetch(input, init);
      if (!(typeof input === "string" && input.endsWith("/access_tokens"))) return response;
      // What a compromised or misconfigured API in between could answer: the real token, a wider scope.
      const body = (await response.json()) as Record<string, unknown>;
      change(body);
      return new Response(JSON.stringify(body), { status: response.status, headers: { "content-type": "application/json" } });
    };
    const cases = [
      widen((body) => (body["permissions"] = { ...(body["permissions"] as object), administration: "write" })),
      widen((body) => (body["repository_selection"] = "all")),
      widen((body) => (body["repositories"] = [...(body["repositories"] as object[]), { name: "billing" }])),
    ];
    for (const fetch of cases) {
      let caught: unknown;
      await issueGithubTokens(registry, "gh-reader", { ...app(), fetch }).catch((error: unknown) => (caught = error));
      expect(isCharterError(caught) && caught.code).toBe("INVALID_RECORD");
      expect((caught as Error).message).not.toMatch(/ghs_/);
    }
    expect(registry.tokens("gh-reader")).toEqual([]);
  });
});

describe("an attacker's agent id or repository", () => {
  it("cannot name an agent the registry does not hold, a retired one, or a repository outside the approval", async () => {
    await provision([READER]);
    sim.resetCalls();
    for (const agent of ["gh-writer", "../gh-reader", "gh-reader' OR '1'='1"]) {
      expect(await codeOf(issueGithubTokens(registry, agent, app()))).toBe("NOT_FOUND");
    }
    expect(await codeOf(issueGithubTokens(registry, "gh-reader", app(), { repository: "acme/billing" }))).toBe("NOT_FOUND");
    await provision([{ ...READER, status: "retired" }]);
    expect(await codeOf(issueGithubTokens(registry, "gh-reader", app()))).toBe("REVOKED");
    expect(sim.calls).toEqual({});
  });

  it("cannot widen a scope: a token's scope is cut from approved permission strings alone", () => {
    // What a forged registry or manifest might try: other owners' repositories, path tricks, non-github systems.
    expect(githubTokenScopes(["github:contents:read:acme/web-app", "http:get:api.github.com/repos/acme/billing", "redis:read:x@c"])).toEqual([
      { owner: "acme", repositories: ["web-app"], permissions: { contents: "read" } },
    ]);
    expect(githubTokenScopes(["github:contents:read:acme/../billing", "github:contents:read:acme/web-app,billing"])).toEqual([]);
  });
});
