/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment --
   answers are GitHub's JSON, read field by field in assertions (see RestAnswer in rest-client.ts) */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { knownOperationIds, validateRestResponse } from "./openapi.js";
import { REST_ROUTES } from "./rest-handlers/index.js";
import { restClient } from "./rest-client.js";
import { GitHubSimulator } from "./simulator.js";
import type { PullRequest, Repository } from "./state.js";

const exec = promisify(execFile);

let sim: GitHubSimulator;
let repo: Repository;
let pull: PullRequest;
let api: ReturnType<typeof restClient>;

beforeAll(async () => {
  sim = await GitHubSimulator.create();
  repo = await sim.createRepository({
    owner: "acme",
    name: "agents",
    files: {
      "agents/triage/agent.yaml": "name: triage\nmodel: small\n",
      "agents/triage/prompt.md": "Be kind.\n",
      "docs/readme.md": "# Agents\n",
      "current": { symlink: "agents/triage/agent.yaml" },
    },
  });
  ({ pull } = await sim.openPullRequest(repo, {
    author: "bob",
    branch: "feature/triage-model",
    title: "Use a bigger model",
    files: { "agents/triage/agent.yaml": "name: triage\nmodel: large\n", "docs/readme.md": null },
  }));
  api = restClient(sim, sim.installationToken(repo));
});

afterAll(async () => {
  await sim.close();
});

function annotations(count: number) {
  return Array.from({ length: count }, (_, index) => ({
    path: "agents/triage/agent.yaml",
    start_line: index + 1,
    end_line: index + 1,
    annotation_level: "warning",
    message: `finding ${index}`,
  }));
}

describe("validation against GitHub's OpenAPI description", () => {
  test("every operation in the committed subset has a handler, and no handler lacks a route", async () => {
    expect([...REST_ROUTES.keys()].sort()).toEqual((await knownOperationIds()).sort());
  });

  test("a valid checks/create is accepted and answers in GitHub's documented shape", async () => {
    const before = sim.rejected.length;
    const answer = await api("POST", "/repos/acme/agents/check-runs", {
      name: "charter",
      head_sha: pull.headSha,
      status: "in_progress",
      output: { title: "Checking", summary: "2 agents", annotations: annotations(50) },
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ name: "charter", status: "in_progress", conclusion: null, head_sha: pull.headSha });
    expect(answer.body.output.annotations_count).toBe(50);
    expect(answer.body.pull_requests).toEqual([expect.objectContaining({ number: pull.issue.number })]);
    expect(await validateRestResponse("checks/create", 201, answer.body)).toEqual([]);
    expect(sim.rejected.length).toBe(before);
  });

  test("51 annotations in one request are refused with 422 and recorded in rejected", async () => {
    const before = sim.rejected.length;
    const answer = await api("POST", "/repos/acme/agents/check-runs", {
      name: "charter",
      head_sha: pull.headSha,
      output: { title: "Too many", summary: "51", annotations: annotations(51) },
    });
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({
      message: "Validation Failed",
      errors: [expect.objectContaining({ resource: "CheckRun", field: "output.annotations", code: "invalid" })],
      documentation_url: expect.stringContaining("docs.github.com"),
    });
    expect(sim.rejected.slice(before)).toEqual([
      expect.objectContaining({ kind: "invalid", operation: "checks/create", status: 422 }),
    ]);
    expect(sim.checkRunsFor(repo, pull.headSha).filter((run) => run.output.title === "Too many")).toEqual([]);
  });

  test("a missing required field is a missing_field error", async () => {
    const answer = await api("POST", "/repos/acme/agents/check-runs", { head_sha: pull.headSha });
    expect(answer.status).toBe(422);
    expect(answer.body.errors).toContainEqual({ resource: "CheckRun", field: "name", code: "missing_field" });
    expect(sim.rejected.at(-1)).toMatchObject({ operation: "checks/create", requestBody: { head_sha: pull.headSha } });
  });

  test("wrong types in path and query parameters are refused", async () => {
    expect((await api("GET", "/repos/acme/agents/pulls/first/files")).status).toBe(422);
    expect((await api("PATCH", "/repos/acme/agents/check-runs/1", { status: "finished" })).status).toBe(422);
  });

  test("a semantically impossible request is refused like GitHub does", async () => {
    const answer = await api("POST", "/repos/acme/agents/check-runs", { name: "x", head_sha: "0".repeat(40) });
    expect(answer.status).toBe(422);
    expect(answer.body.message).toBe(`No commit found for SHA: ${"0".repeat(40)}`);
    expect(sim.rejected.at(-1)).toMatchObject({ kind: "invalid", operation: "checks/create" });
  });

  test("unknown routes are 404 and recorded", async () => {
    const answer = await api("GET", "/repos/acme/agents/secret-sauce");
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ message: "Not Found", status: "404" });
    expect(sim.rejected.at(-1)).toMatchObject({ kind: "unknown-route", operation: "unknown" });
  });

  test("a missing resource is a plain 404 that is not a rejection", async () => {
    const before = sim.rejected.length;
    expect((await api("GET", "/repos/acme/agents/contents/.github/charter.yml")).status).toBe(404);
    expect(sim.rejected.length).toBe(before);
  });
});

describe("authentication and permissions", () => {
  test("no token, a wrong token and an app JWT on an installation route are refused", async () => {
    const anonymous = await restClient(sim, null)("GET", "/repos/acme/agents");
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ message: "Requires authentication", status: "401" });
    const forged = await restClient(sim, "ghs_not-a-real-token")("GET", "/repos/acme/agents");
    expect(forged.status).toBe(401);
    expect(forged.body.message).toBe("Bad credentials");
    expect(sim.rejected.at(-1)).toMatchObject({ kind: "unauthenticated" });
  });

  test("a token without checks:write cannot create check runs", async () => {
    const readOnly = restClient(sim, sim.installationToken(repo, { checks: "read", metadata: "read" }));
    const answer = await readOnly("POST", "/repos/acme/agents/check-runs", { name: "x", head_sha: pull.headSha });
    expect(answer.status).toBe(403);
    expect(answer.body.message).toBe("Resource not accessible by integration");
    expect(sim.rejected.at(-1)).toMatchObject({ kind: "forbidden", operation: "checks/create" });
  });

  test("a repository outside the installation is invisible", async () => {
    await sim.createRepository({ owner: "other-org", name: "private" });
    expect((await api("GET", "/repos/other-org/private")).status).toBe(404);
  });
});

describe("behaviour on the state", () => {
  test("annotations accumulate across updates; a conclusion completes the run", async () => {
    const created = await api("POST", "/repos/acme/agents/check-runs", {
      name: "accumulate",
      head_sha: pull.headSha,
      output: { title: "t", summary: "s", annotations: annotations(50) },
    });
    const id = created.body.id as number;
    const updated = await api("PATCH", `/repos/acme/agents/check-runs/${id}`, {
      conclusion: "failure",
      output: { title: "done", summary: "s", annotations: annotations(30) },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(updated.body.completed_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(updated.body.output.annotations_count).toBe(80);
    const listed = await api("GET", `/repos/acme/agents/commits/${encodeURIComponent(pull.headRef)}/check-runs?check_name=accumulate`);
    expect(listed.body.total_count).toBe(1);
    expect(listed.body.check_runs[0].id).toBe(id);
  });

  test("pulls/list-files is the real git diff from the merge base", async () => {
    const files = await api("GET", `/repos/acme/agents/pulls/${pull.issue.number}/files`);
    expect(files.status).toBe(200);
    expect(files.body).toEqual([
      expect.objectContaining({ filename: "agents/triage/agent.yaml", status: "modified", additions: 1, deletions: 1, changes: 2 }),
      expect.objectContaining({ filename: "docs/readme.md", status: "removed", additions: 0, deletions: 1 }),
    ]);
    expect(files.body[0]).not.toHaveProperty("patch");
    expect(await validateRestResponse("pulls/list-files", 200, files.body)).toEqual([]);
    const detail = await api("GET", `/repos/acme/agents/pulls/${pull.issue.number}`);
    expect(detail.body).toMatchObject({ changed_files: 2, additions: 1, deletions: 2, commits: 1, mergeable: true });
    expect(await validateRestResponse("pulls/get", 200, detail.body)).toEqual([]);
  });

  test("get-content takes raw or encoded slashes, follows in-repo symlinks and serves raw bytes", async () => {
    const raw = await api("GET", "/repos/acme/agents/contents/agents/triage/agent.yaml?ref=feature/triage-model");
    const encoded = await api("GET", "/repos/acme/agents/contents/agents%2Ftriage%2Fagent.yaml?ref=feature%2Ftriage-model");
    expect(raw.status).toBe(200);
    expect(encoded.body).toEqual(raw.body);
    expect(Buffer.from(raw.body.content as string, "base64").toString()).toBe("name: triage\nmodel: large\n");
    const link = await api("GET", "/repos/acme/agents/contents/current");
    expect(link.body).toMatchObject({ type: "file", path: "agents/triage/agent.yaml" });
    const bytes = await api("GET", "/repos/acme/agents/contents/agents/triage/prompt.md", undefined, {
      accept: "application/vnd.github.raw+json",
    });
    expect(bytes.body).toBe("Be kind.\n");
    const listing = await api("GET", "/repos/acme/agents/contents/agents/triage");
    expect((listing.body as { name: string }[]).map((entry) => entry.name)).toEqual(["agent.yaml", "prompt.md"]);
  });

  test("the Git Database API writes real objects: blob → tree → commit → ref", async () => {
    const main = await sim.branchHead(repo, "main");
    const blob = await api("POST", "/repos/acme/agents/git/blobs", { content: Buffer.from("evidence\n").toString("base64"), encoding: "base64" });
    const baseTree = await api("GET", `/repos/acme/agents/git/commits/${main ?? ""}`);
    const tree = await api("POST", "/repos/acme/agents/git/trees", {
      base_tree: baseTree.body.tree.sha,
      tree: [
        { path: "evidence/1.txt", mode: "100644", type: "blob", sha: blob.body.sha },
        { path: "docs/readme.md", mode: "100644", type: "blob", sha: null },
      ],
    });
    expect(tree.status).toBe(201);
    const commit = await api("POST", "/repos/acme/agents/git/commits", {
      message: "Record evidence",
      tree: tree.body.sha,
      parents: [main],
    });
    expect(commit.status).toBe(201);
    expect(commit.body.author.name).toBe("charter-sim[bot]");
    const moved = await api("PATCH", "/repos/acme/agents/git/refs/heads/main", { sha: commit.body.sha });
    expect(moved.status).toBe(200);
    const backwards = await api("PATCH", "/repos/acme/agents/git/refs/heads/main", { sha: main });
    expect(backwards.body.message).toBe("Update is not a fast forward");
    await sim.idle();
    expect(sim.deliveries.at(-1)).toMatchObject({ event: "push", payload: { ref: "refs/heads/main", after: commit.body.sha } });
    const log = await exec("git", ["--git-dir", sim.repoPath(repo), "log", "--format=%s", "main"]);
    expect(log.stdout.split("\n")[0]).toBe("Record evidence");
    await exec("git", ["--git-dir", sim.repoPath(repo), "fsck", "--strict"]);
    const exists = await api("POST", "/repos/acme/agents/git/refs", { ref: "refs/heads/main", sha: commit.body.sha });
    expect(exists.body.message).toBe("Reference already exists");
  });

  test("merging through the API moves the base branch in git and announces it", async () => {
    const { pull: toMerge } = await sim.openPullRequest(repo, {
      author: "carol",
      branch: "add-agent",
      title: "Add reviewer agent",
      files: { "agents/reviewer/agent.yaml": "name: reviewer\n" },
    });
    const stale = await api("PUT", `/repos/acme/agents/pulls/${toMerge.issue.number}/merge`, { sha: "f".repeat(40) });
    expect(stale.status).toBe(409);
    const merged = await api("PUT", `/repos/acme/agents/pulls/${toMerge.issue.number}/merge`, { merge_method: "squash" });
    expect(merged.status).toBe(200);
    expect(merged.body).toMatchObject({ merged: true, message: "Pull Request successfully merged" });
    expect(await sim.branchHead(repo, "main")).toBe(merged.body.sha);
    await sim.idle();
    const closed = sim.deliveries.find((delivery) => delivery.event === "pull_request" && delivery.action === "closed");
    expect(closed?.payload).toMatchObject({ pull_request: { merged: true, merge_commit_sha: merged.body.sha } });
    const again = await api("PUT", `/repos/acme/agents/pulls/${toMerge.issue.number}/merge`, {});
    expect(again.status).toBe(405);
  });

  test("memberships, permissions and users come from the state", async () => {
    sim.addTeam("acme", "agent-owners", ["alice"]);
    sim.addOrgMember("acme", "dana", "admin");
    sim.setCollaborator(repo, "erin", "maintain");
    const team = await api("GET", "/orgs/acme/teams/agent-owners/memberships/alice");
    expect(team.body).toMatchObject({ role: "member", state: "active" });
    expect((await api("GET", "/orgs/acme/teams/agent-owners/memberships/bob")).status).toBe(404);
    expect((await api("GET", "/orgs/acme/memberships/dana")).body).toMatchObject({ role: "admin", state: "active" });
    const erin = await api("GET", "/repos/acme/agents/collaborators/erin/permission");
    expect(erin.body).toMatchObject({ permission: "write", role_name: "maintain" });
    expect((await api("GET", "/repos/acme/agents/collaborators/dana/permission")).body.permission).toBe("admin");
    expect((await api("GET", "/repos/acme/agents/collaborators/nobody-here/permission")).status).toBe(404);
    sim.addUser("renovate[bot]", { type: "Bot" });
    expect((await api("GET", "/users/renovate%5Bbot%5D")).body).toMatchObject({ login: "renovate[bot]", type: "Bot" });
  });

  test("every implemented operation answers in the shape GitHub documents", async () => {
    const n = pull.issue.number;
    const calls: [string, string, string, unknown?][] = [
      ["repos/get", "GET", "/repos/acme/agents"],
      ["repos/get-content", "GET", "/repos/acme/agents/contents/agents"],
      ["repos/compare-commits", "GET", "/repos/acme/agents/compare/main...feature/triage-model"],
      ["repos/get-branch", "GET", "/repos/acme/agents/branches/feature/triage-model"],
      ["repos/list-pull-requests-associated-with-commit", "GET", `/repos/acme/agents/commits/${pull.headSha}/pulls`],
      ["pulls/list", "GET", "/repos/acme/agents/pulls?state=all"],
      ["pulls/list-commits", "GET", `/repos/acme/agents/pulls/${n}/commits`],
      ["pulls/list-reviews", "GET", `/repos/acme/agents/pulls/${n}/reviews`],
      ["issues/get", "GET", `/repos/acme/agents/issues/${n}`],
      ["issues/create", "POST", "/repos/acme/agents/issues", { title: "Agent drift", labels: ["charter"] }],
      ["issues/update", "PATCH", `/repos/acme/agents/issues/${n}`, { state: "open" }],
      ["issues/create-comment", "POST", `/repos/acme/agents/issues/${n}/comments`, { body: "Charter: approved" }],
      ["issues/list-comments", "GET", `/repos/acme/agents/issues/${n}/comments`],
      ["issues/list-labels-on-issue", "GET", `/repos/acme/agents/issues/${n}/labels`],
      ["git/get-ref", "GET", "/repos/acme/agents/git/ref/heads/main"],
      ["git/get-tree", "GET", `/repos/acme/agents/git/trees/${pull.headSha}?recursive=1`],
      ["git/get-commit", "GET", `/repos/acme/agents/git/commits/${pull.headSha}`],
      ["checks/list-for-ref", "GET", `/repos/acme/agents/commits/${pull.headSha}/check-runs`],
      ["users/get-by-username", "GET", "/users/bob"],
      ["repos/get-collaborator-permission-level", "GET", "/repos/acme/agents/collaborators/bob/permission"],
    ];
    await sim.submitReview(pull, { user: "alice", state: "APPROVED" });
    for (const [operation, method, path, body] of calls) {
      const answer = await api(method, path, body);
      expect(answer.status, `${operation} ${path}`).toBeLessThan(300);
      expect(await validateRestResponse(operation, answer.status, answer.body), operation).toEqual([]);
    }
    await sim.idle();
  });
});

describe("pagination", () => {
  test("list-files pages with per_page and a Link header, and stops at 3000 files like GitHub", async () => {
    const files: Record<string, string> = {};
    for (let index = 0; index < 3005; index += 1) files[`bulk/file-${String(index).padStart(4, "0")}.txt`] = `${index}\n`;
    const { pull: big } = await sim.openPullRequest(repo, { author: "bob", branch: "bulk", title: "Bulk", files });
    const first = await api("GET", `/repos/acme/agents/pulls/${big.issue.number}/files?per_page=100`);
    expect(first.body).toHaveLength(100);
    const link = first.headers.get("link") ?? "";
    expect(link).toContain('rel="next"');
    expect(link).toMatch(/[?&]page=30[^>]*>; rel="last"/);
    let url: string | undefined = `/repos/acme/agents/pulls/${big.issue.number}/files?per_page=100`;
    let total = 0;
    let pages = 0;
    while (url) {
      const page = await api("GET", url);
      total += (page.body as unknown[]).length;
      pages += 1;
      const next = /<https:\/\/api\.github\.com([^>]+)>; rel="next"/.exec(page.headers.get("link") ?? "");
      url = next?.[1];
    }
    expect({ total, pages }).toEqual({ total: 3000, pages: 30 });
    const defaultPage = await api("GET", `/repos/acme/agents/pulls/${big.issue.number}/files`);
    expect(defaultPage.body).toHaveLength(30);
    const capped = await api("GET", `/repos/acme/agents/pulls/${big.issue.number}/files?per_page=500`);
    expect(capped.body).toHaveLength(100);
  });
});

describe("listing pull requests", () => {
  // A clock the scenario moves by whole days, so "created", "updated" and "long-running" have
  // something to tell apart (GitHub's timestamps have second precision).
  const DAY_MS = 24 * 60 * 60 * 1000;
  let clock = new Date("2025-03-03T09:00:00Z");
  const day = (n: number) => {
    clock = new Date(Date.parse("2025-03-03T09:00:00Z") + n * DAY_MS);
  };
  let listing: GitHubSimulator;
  let repo2: Repository;
  const pulls: Record<string, PullRequest> = {};
  let squashSha: string;
  let mainBefore: string;
  // Tokens expire an hour after the clock at minting time, so mint one per call.
  const call = (path: string, permissions?: Record<string, "read" | "write">) =>
    restClient(listing, listing.installationToken(repo2, permissions))("GET", path);
  const numbers = (body: unknown) => (body as { number: number }[]).map((entry) => entry.number);

  beforeAll(async () => {
    listing = await GitHubSimulator.create({ now: () => clock });
    repo2 = await listing.createRepository({ owner: "acme", name: "fleet", files: { "agents/a/agent.yaml": "name: a\n" } });
    mainBefore = (await listing.branchHead(repo2, "main")) ?? "";
    await listing.push(repo2, { branch: "release", files: { "RELEASE.md": "v1\n" }, author: "dana" });
    const open = async (key: string, branch: string, options: { base?: string; draft?: boolean } = {}) => {
      const { pull: opened } = await listing.openPullRequest(repo2, {
        author: "bob",
        branch,
        title: key,
        files: { [`agents/${key}/agent.yaml`]: `name: ${key}\n` },
        ...options,
      });
      pulls[key] = opened;
      return opened;
    };
    day(0);
    await open("old", "feature/old");
    day(1);
    const hotfix = await open("hotfix", "hotfix", { base: "release" });
    await listing.comment(hotfix, { user: "carol", body: "Backport too?" });
    day(2);
    ({ sha: squashSha } = await listing.mergePullRequest(await open("merged", "merged"), { by: "alice", method: "squash" }));
    day(3);
    await listing.closePullRequest(await open("abandoned", "abandoned"), { by: "bob" });
    day(4);
    const draft = await open("draft", "draft", { draft: true });
    await listing.comment(draft, { user: "carol", body: "Nice" });
    await listing.comment(draft, { user: "erin", body: "+1" });
    day(5);
    // A release backport branched from main after the squash merge: it carries that commit.
    await listing.push(repo2, { branch: "backport", files: { "NOTES.md": "backport\n" }, author: "bob" });
    await open("backport", "backport", { base: "release" });
    day(35);
    await listing.editPullRequest(pulls["old"] as PullRequest, { by: "bob", title: "old, still going" });
    day(36);
  });

  afterAll(async () => {
    await listing.close();
  });

  const n = (key: string) => (pulls[key] as PullRequest).issue.number;

  test("open pull requests by default, newest first, in GitHub's documented shape", async () => {
    const answer = await call("/repos/acme/fleet/pulls");
    expect(answer.status).toBe(200);
    expect(numbers(answer.body)).toEqual([n("backport"), n("draft"), n("hotfix"), n("old")]);
    expect(answer.body[1]).toMatchObject({ state: "open", draft: true, base: { ref: "main" }, head: { label: "acme:draft" } });
    expect(answer.body[0]).not.toHaveProperty("mergeable");
    expect(await validateRestResponse("pulls/list", 200, answer.body)).toEqual([]);
  });

  test("state: closed includes merged pull requests; all lists everything", async () => {
    const closed = await call("/repos/acme/fleet/pulls?state=closed");
    expect(numbers(closed.body)).toEqual([n("abandoned"), n("merged")]);
    expect(closed.body).toEqual([
      expect.objectContaining({ state: "closed", merged_at: null, merge_commit_sha: null }),
      expect.objectContaining({ state: "closed", merged_at: "2025-03-05T09:00:00Z", merge_commit_sha: squashSha }),
    ]);
    const all = await call("/repos/acme/fleet/pulls?state=all&direction=asc");
    expect(numbers(all.body)).toEqual(["old", "hotfix", "merged", "abandoned", "draft", "backport"].map(n));
    expect(await validateRestResponse("pulls/list", 200, all.body)).toEqual([]);
  });

  test("base filters by base branch; head only in owner:branch form, a bare branch is ignored as on GitHub", async () => {
    expect(numbers((await call("/repos/acme/fleet/pulls?base=release")).body)).toEqual([n("backport"), n("hotfix")]);
    expect(numbers((await call("/repos/acme/fleet/pulls?base=release&state=closed")).body)).toEqual([]);
    expect(numbers((await call("/repos/acme/fleet/pulls?state=all&base=main")).body)).toEqual(
      ["draft", "abandoned", "merged", "old"].map(n),
    );
    expect(numbers((await call("/repos/acme/fleet/pulls?head=acme:feature/old")).body)).toEqual([n("old")]);
    expect(numbers((await call("/repos/acme/fleet/pulls?head=ACME:feature/old")).body)).toEqual([n("old")]);
    expect(numbers((await call("/repos/acme/fleet/pulls?head=mallory:feature/old")).body)).toEqual([]);
    expect(numbers((await call("/repos/acme/fleet/pulls?head=feature/old")).body)).toHaveLength(4);
  });

  test("sort by updated, popularity and long-running, with GitHub's default directions", async () => {
    // updated: hotfix (comment, day 1) < draft (comments, day 4) < backport (day 5) < old (edited, day 35).
    expect(numbers((await call("/repos/acme/fleet/pulls?sort=updated")).body)).toEqual(["hotfix", "draft", "backport", "old"].map(n));
    expect(numbers((await call("/repos/acme/fleet/pulls?sort=updated&direction=desc")).body)).toEqual(
      ["old", "backport", "draft", "hotfix"].map(n),
    );
    // popularity counts comments; equal counts keep number order.
    expect(numbers((await call("/repos/acme/fleet/pulls?sort=popularity")).body)).toEqual(["old", "backport", "hotfix", "draft"].map(n));
    // Open for more than a month and active within the last one: only "old" (hotfix is old but quiet).
    expect(numbers((await call("/repos/acme/fleet/pulls?sort=long-running")).body)).toEqual([n("old")]);
  });

  test("pages with per_page and a Link header that keeps the filters", async () => {
    const first = await call("/repos/acme/fleet/pulls?state=all&per_page=4");
    expect(numbers(first.body)).toEqual(["backport", "draft", "abandoned", "merged"].map(n));
    const link = first.headers.get("link") ?? "";
    expect(link).toMatch(/<[^>]*[?&]state=all[^>]*[?&]page=2[^>]*>; rel="next"/);
    expect(link).toMatch(/[?&]page=2[^>]*>; rel="last"/);
    const second = await call("/repos/acme/fleet/pulls?state=all&per_page=4&page=2");
    expect(numbers(second.body)).toEqual([n("hotfix"), n("old")]);
    expect(second.headers.get("link")).toContain('rel="prev"');
    expect(second.headers.get("link")).not.toContain('rel="next"');
  });

  test("an unknown state is GitHub's 422, and listing needs pull_requests read", async () => {
    const before = listing.rejected.length;
    const invalid = await call("/repos/acme/fleet/pulls?state=merged");
    expect(invalid.status).toBe(422);
    expect(listing.rejected.slice(before)).toEqual([expect.objectContaining({ kind: "invalid", operation: "pulls/list" })]);
    const denied = await call("/repos/acme/fleet/pulls", { contents: "read", metadata: "read" });
    expect(denied.status).toBe(403);
    expect(listing.rejected.at(-1)).toMatchObject({ kind: "forbidden", operation: "pulls/list" });
  });

  test("the pull requests of a commit: the merged one that brought it to the default branch", async () => {
    const merged = pulls["merged"] as PullRequest;
    // The squash commit is on main, so only the merged pull request is listed, not the open
    // backport that also carries it.
    const squash = await call(`/repos/acme/fleet/commits/${squashSha}/pulls`);
    expect(squash.status).toBe(200);
    expect(numbers(squash.body)).toEqual([n("merged")]);
    expect(squash.body[0]).toMatchObject({ merged_at: expect.any(String), merge_commit_sha: squashSha });
    expect(await validateRestResponse("repos/list-pull-requests-associated-with-commit", 200, squash.body)).toEqual([]);
    // The branch commit the squash replaced is not on main, and still belongs to its pull request.
    expect(numbers((await call(`/repos/acme/fleet/commits/${merged.headSha}/pulls`)).body)).toEqual([n("merged")]);
    expect(numbers((await call(`/repos/acme/fleet/commits/${mainBefore}/pulls`)).body)).toEqual([]);
  });

  test("off the default branch, open pull requests are listed too; closed unmerged ones never", async () => {
    const old = pulls["old"] as PullRequest;
    expect(numbers((await call(`/repos/acme/fleet/commits/${old.headSha}/pulls`)).body)).toEqual([n("old")]);
    const backport = pulls["backport"] as PullRequest;
    expect(numbers((await call(`/repos/acme/fleet/commits/${backport.headSha}/pulls`)).body)).toEqual([n("backport")]);
    const abandoned = pulls["abandoned"] as PullRequest;
    expect(numbers((await call(`/repos/acme/fleet/commits/${abandoned.headSha}/pulls`)).body)).toEqual([]);
    // A branch name stands for its tip, with raw or encoded slashes.
    expect(numbers((await call("/repos/acme/fleet/commits/feature/old/pulls")).body)).toEqual([n("old")]);
    expect(numbers((await call("/repos/acme/fleet/commits/feature%2Fold/pulls")).body)).toEqual([n("old")]);
    const before = listing.rejected.length;
    const unknown = await call(`/repos/acme/fleet/commits/${"e".repeat(40)}/pulls`);
    expect(unknown.status).toBe(422);
    expect(unknown.body.message).toBe(`No commit found for SHA: ${"e".repeat(40)}`);
    expect(listing.rejected.length).toBe(before);
  });
});
