/* eslint-disable @typescript-eslint/no-unsafe-member-access --
   answers are GitHub's JSON, read field by field in assertions (see RestAnswer in rest-client.ts) */
import { execFile } from "node:child_process";
import { createSign } from "node:crypto";
import { access, rm } from "node:fs/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { restClient } from "./rest-client.js";
import { GitHubSimulator } from "./simulator.js";
import type { Repository } from "./state.js";

const exec = promisify(execFile);

function jwt(privateKey: string, claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${encode({ alg: "RS256", typ: "JWT" })}.${encode(claims)}`;
  return `${unsigned}.${createSign("RSA-SHA256").update(unsigned).sign(privateKey, "base64url")}`;
}

let sim: GitHubSimulator;
let repo: Repository;

beforeAll(async () => {
  sim = await GitHubSimulator.create();
  repo = await sim.createRepository({ owner: "acme", name: "agents", files: { "a.txt": "a\n", "b.txt": "b\n" } });
});

afterAll(async () => {
  await sim.close();
});

describe("app authentication", () => {
  test("a JWT signed with the app's key buys an installation token; others are refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = jwt(sim.privateKey, { iat: now - 30, exp: now + 540, iss: sim.appId });
    const installation = sim.installationOf(repo).id;
    const path = `/app/installations/${installation}/access_tokens`;
    const minted = await restClient(sim, good)("POST", path);
    expect(minted.status).toBe(201);
    expect(minted.body.token).toMatch(/^ghs_/);
    expect(minted.body.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect((await restClient(sim, minted.body.token as string)("GET", "/repos/acme/agents")).status).toBe(200);
    expect((await restClient(sim, good)("GET", "/repos/acme/agents/installation")).body.id).toBe(installation);

    const expired = jwt(sim.privateKey, { iat: now - 1200, exp: now - 600, iss: sim.appId });
    const tooLong = jwt(sim.privateKey, { iat: now, exp: now + 3600, iss: sim.appId });
    const otherApp = jwt(sim.privateKey, { iat: now, exp: now + 500, iss: sim.appId + 1 });
    for (const token of [expired, tooLong, otherApp, `${good.slice(0, -4)}AAAA`]) {
      expect((await restClient(sim, token)("POST", path)).status).toBe(401);
    }
    expect((await restClient(sim, minted.body.token as string)("POST", path)).status).toBe(401);
    const narrowed = await restClient(sim, good)("POST", path, { permissions: { checks: "write" }, repositories: ["agents"] });
    expect(narrowed.body).toMatchObject({ permissions: { checks: "write" }, repository_selection: "selected" });
    const greedy = await restClient(sim, good)("POST", path, { permissions: { administration: "write" } });
    expect(greedy.status).toBe(422);
  });
});

describe("installation token scope", () => {
  test("a token minted for one repository and contents:read is refused a write, another repository and another permission", async () => {
    await sim.createRepository({ owner: "acme", name: "scoped-other", files: { "c.txt": "c\n" } });
    const now = Math.floor(Date.now() / 1000);
    const app = restClient(sim, jwt(sim.privateKey, { iat: now - 30, exp: now + 540, iss: sim.appId }));
    const minted = await app("POST", `/app/installations/${sim.installationOf(repo).id}/access_tokens`, { repositories: ["agents"], permissions: { contents: "read" } });
    expect(minted.status).toBe(201);
    expect(minted.body).toMatchObject({ permissions: { contents: "read" }, repository_selection: "selected", repositories: [{ full_name: "acme/agents" }] });
    const api = restClient(sim, minted.body.token as string);
    expect((await api("GET", "/repos/acme/agents/contents/a.txt")).status).toBe(200);
    expect((await api("POST", "/repos/acme/agents/git/blobs", { content: "x", encoding: "utf-8" })).status).toBe(403);
    expect((await api("GET", "/repos/acme/scoped-other/contents/c.txt")).status).toBe(404);
    expect((await api("GET", "/repos/acme/agents/pulls")).status).toBe(403);
    const unknown = await app("POST", `/app/installations/${sim.installationOf(repo).id}/access_tokens`, { repositories: ["not-installed"], permissions: { contents: "read" } });
    expect(unknown.status).toBe(422);
  });
});

describe("transport", () => {
  test("a GHES-style base URL and a real HTTP listener serve the same API", async () => {
    const token = sim.installationToken(repo);
    const ghes = await restClient(sim, token, "https://github.example.com/api/v3")("GET", "/repos/acme/agents");
    expect(ghes.body.full_name).toBe("acme/agents");
    const server = await sim.listen();
    try {
      const response = await fetch(`${server.url}/repos/acme/agents/contents/a.txt`, {
        headers: { authorization: `token ${token}`, accept: "application/vnd.github.raw" },
      });
      expect(await response.text()).toBe("a\n");
      expect(response.headers.get("x-ratelimit-resource")).toBe("core");
    } finally {
      await server.close();
    }
  });
});

describe("merging", () => {
  test("rebase replays commits onto a moved base; conflicting changes are not mergeable", async () => {
    const { pull } = await sim.openPullRequest(repo, { author: "bob", branch: "edit-a", title: "Edit a", files: { "a.txt": "a2\n" } });
    const { pull: conflicting } = await sim.openPullRequest(repo, { author: "carol", branch: "edit-b", title: "Edit b", files: { "b.txt": "b2\n" } });
    await sim.push(repo, { branch: "main", author: "dana", files: { "b.txt": "b3\n", "c.txt": "c\n" } });
    const merged = await sim.mergePullRequest(pull, { by: "alice", method: "rebase" });
    const gitDir = sim.repoPath(repo);
    const log = await exec("git", ["--git-dir", gitDir, "log", "--format=%s|%an|%cn", "-3", "main"]);
    expect(log.stdout.trim().split("\n")).toEqual(["Edit a|bob|GitHub", "Update b.txt, c.txt|dana|dana", "Initial commit|GitHub|GitHub"]);
    expect((await exec("git", ["--git-dir", gitDir, "show", `${merged.sha}:a.txt`])).stdout).toBe("a2\n");
    expect((await exec("git", ["--git-dir", gitDir, "show", `${merged.sha}:b.txt`])).stdout).toBe("b3\n");
    await expect(sim.mergePullRequest(conflicting, { by: "alice" })).rejects.toThrow("Pull Request is not mergeable");
    const api = restClient(sim, sim.installationToken(repo));
    expect((await api("GET", `/repos/acme/agents/pulls/${conflicting.issue.number}`)).body).toMatchObject({ mergeable: false, mergeable_state: "dirty" });
  });
});

describe("lifecycle", () => {
  test("close() removes the temp directories unless asked to keep them", async () => {
    const temporary = await GitHubSimulator.create();
    const gone = temporary.repoPath(await temporary.createRepository({ owner: "o", name: "r" }));
    await temporary.close();
    await expect(access(gone)).rejects.toThrow();

    const kept = await GitHubSimulator.create({ keepTempDirs: true });
    const path = kept.repoPath(await kept.createRepository({ owner: "o", name: "r" }));
    await kept.close();
    await access(path);
    await exec("git", ["--git-dir", path, "log", "--oneline"]);
    await rm(path.replace(/\/o\/r\.git$/, ""), { recursive: true, force: true });
  });

  test("repositories never start git's background auto-gc, which races close() (ENOTEMPTY)", async () => {
    const temporary = await GitHubSimulator.create();
    try {
      const path = temporary.repoPath(await temporary.createRepository({ owner: "o", name: "r" }));
      expect((await exec("git", ["--git-dir", path, "config", "gc.auto"])).stdout.trim()).toBe("0");
      expect((await exec("git", ["--git-dir", path, "config", "maintenance.auto"])).stdout.trim()).toBe("false");
    } finally {
      await temporary.close();
    }
  });
});
