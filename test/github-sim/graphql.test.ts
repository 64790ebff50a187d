/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment --
   answers are GitHub's JSON, read field by field in assertions (see RestAnswer in rest-client.ts) */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { restClient, type RestAnswer } from "./rest-client.js";
import { GitHubSimulator } from "./simulator.js";
import type { Repository } from "./state.js";

let sim: GitHubSimulator;
let repo: Repository;
let graphql: (query: string, variables?: Record<string, unknown>) => Promise<RestAnswer>;

beforeAll(async () => {
  sim = await GitHubSimulator.create();
  repo = await sim.createRepository({
    owner: "acme",
    name: "agents",
    files: {
      "agents/triage/agent.yaml": "name: triage\n",
      "agents/triage/prompts/system.md": "Be brief.\n",
      "agents/current": { symlink: "triage/agent.yaml" },
      "assets/logo.bin": Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]),
      "tools/run.sh": { content: "#!/bin/sh\n", executable: true },
    },
  });
  const api = restClient(sim, sim.installationToken(repo));
  graphql = (query, variables) => api("POST", "/graphql", { query, variables });
});

afterAll(async () => {
  await sim.close();
});

describe("repository.object(expression:)", () => {
  test("batched, aliased lookups return real contents from git, with nested tree entries", async () => {
    const main = await sim.branchHead(repo, "main");
    const { status, body } = await graphql(
      `query Read($owner: String!, $name: String!) {
        repository(owner: $owner, name: $name) {
          manifest: object(expression: "main:agents/triage/agent.yaml") { __typename oid ... on Blob { text byteSize isBinary isTruncated } }
          pinned: object(expression: "${main ?? ""}:agents/triage/prompts/system.md") { ... on Blob { text } }
          binary: object(expression: "main:assets/logo.bin") { ... on Blob { text isBinary byteSize } }
          missing: object(expression: "main:agents/nope.yaml") { __typename }
          dir: object(expression: "main:agents") {
            __typename
            ... on Tree {
              entries {
                name path type mode oid
                object {
                  __typename
                  ... on Blob { text }
                  ... on Tree { entries { name path type mode object { ... on Blob { text } } } }
                }
              }
            }
          }
        }
        rateLimit { cost remaining }
      }`,
      { owner: "acme", name: "agents" },
    );
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const data = body.data.repository;
    expect(data.manifest).toMatchObject({ __typename: "Blob", text: "name: triage\n", byteSize: 13, isBinary: false, isTruncated: false });
    expect(data.manifest.oid).toMatch(/^[0-9a-f]{40}$/);
    expect(data.pinned.text).toBe("Be brief.\n");
    expect(data.binary).toEqual({ text: null, isBinary: true, byteSize: 6 });
    expect(data.missing).toBeNull();
    expect(data.dir.entries).toEqual([
      expect.objectContaining({ name: "current", path: "agents/current", type: "blob", mode: 40960, object: { __typename: "Blob", text: "triage/agent.yaml" } }),
      expect.objectContaining({
        name: "triage",
        path: "agents/triage",
        type: "tree",
        mode: 16384,
        object: {
          __typename: "Tree",
          entries: [
            { name: "agent.yaml", path: "agents/triage/agent.yaml", type: "blob", mode: 33188, object: { text: "name: triage\n" } },
            { name: "prompts", path: "agents/triage/prompts", type: "tree", mode: 16384, object: {} },
          ],
        },
      }),
    ]);
    expect(body.data.rateLimit.cost).toBe(1);
    expect(body.data.rateLimit.remaining).toBeLessThan(5000);
    expect(sim.rejected).toEqual([]);
  });

  test("executable files have mode 33261", async () => {
    const { body } = await graphql(`{ repository(owner: "acme", name: "agents") { object(expression: "main:tools") { ... on Tree { entries { name mode } } } } }`);
    expect(body.data.repository.object.entries).toEqual([{ name: "run.sh", mode: 33261 }]);
  });

  test("an unknown repository answers GitHub's NOT_FOUND error", async () => {
    const { body } = await graphql(`{ repository(owner: "acme", name: "ghost") { id } }`);
    expect(body.data).toEqual({ repository: null });
    expect(body.errors).toEqual([
      expect.objectContaining({ type: "NOT_FOUND", path: ["repository"], message: "Could not resolve to a Repository with the name 'acme/ghost'." }),
    ]);
  });
});

describe("invalid documents", () => {
  test("a field GitHub's schema does not have is refused and recorded", async () => {
    const before = sim.rejected.length;
    const { status, body } = await graphql(`{ repository(owner: "acme", name: "agents") { object(expression: "main:x") { ... on Blob { contents } } } }`);
    expect(status).toBe(200);
    expect(body.data).toBeUndefined();
    expect(body.errors[0].message).toContain('Cannot query field "contents" on type "Blob"');
    expect(sim.rejected.slice(before)).toEqual([expect.objectContaining({ kind: "invalid", operation: "graphql" })]);
  });

  test("syntax errors, missing arguments and missing variables are refused", async () => {
    const before = sim.rejected.length;
    expect((await graphql("{ repository(owner: ")).body.errors).toHaveLength(1);
    expect((await graphql(`{ repository(owner: "acme") { id } }`)).body.errors[0].message).toContain('argument "name"');
    expect((await graphql("query($n: String!) { repository(owner: \"acme\", name: $n) { id } }")).body.errors[0].message).toContain("$n");
    expect(sim.rejected.length - before).toBe(3);
  });

  test("valid GitHub fields the simulator does not model are reported, not silently null", async () => {
    const before = sim.rejected.length;
    const { body } = await graphql(`{ repository(owner: "acme", name: "agents") { stargazerCount } }`);
    expect(body.errors[0]).toMatchObject({ type: "UNSIMULATED", message: "github-sim does not simulate Repository.stargazerCount" });
    expect(sim.rejected.slice(before)).toEqual([expect.objectContaining({ kind: "unsimulated" })]);
  });
});

describe("createCommitOnBranch", () => {
  const mutation = `mutation Commit($input: CreateCommitOnBranchInput!) {
    createCommitOnBranch(input: $input) { commit { oid url } }
  }`;

  function input(expectedHeadOid: string, additions: { path: string; contents: string }[], deletions: { path: string }[] = []) {
    return {
      input: {
        branch: { repositoryNameWithOwner: "acme/agents", branchName: "main" },
        expectedHeadOid,
        message: { headline: "Record evidence", body: "Signed by Charter." },
        fileChanges: { additions, deletions },
      },
    };
  }

  test("commits on the expected head, and refuses a stale one with STALE_DATA", async () => {
    const head = await sim.branchHead(repo, "main");
    if (!head) throw new Error("main has no head");
    const contents = Buffer.from("evidence: 1\n").toString("base64");
    const first = await graphql(mutation, input(head, [{ path: "evidence/1.yaml", contents }], [{ path: "tools/run.sh" }]));
    expect(first.body.errors).toBeUndefined();
    const { oid, url } = first.body.data.createCommitOnBranch.commit;
    expect(url).toBe(`https://github.com/acme/agents/commit/${oid}`);
    expect(await sim.branchHead(repo, "main")).toBe(oid);

    const stale = await graphql(mutation, input(head, [{ path: "evidence/2.yaml", contents }]));
    expect(stale.body.data).toEqual({ createCommitOnBranch: null });
    expect(stale.body.errors).toEqual([
      expect.objectContaining({
        type: "STALE_DATA",
        path: ["createCommitOnBranch"],
        message: `Expected branch to point to "${head}" but it did not. Pull and try again.`,
      }),
    ]);
    expect(await sim.branchHead(repo, "main")).toBe(oid);

    const read = await graphql(`{ repository(owner: "acme", name: "agents") {
      evidence: object(expression: "main:evidence/1.yaml") { ... on Blob { text } }
      gone: object(expression: "main:tools/run.sh") { __typename }
      commit: object(expression: "main") { ... on Commit { messageHeadline messageBody } }
    } }`);
    expect(read.body.data.repository).toEqual({
      evidence: { text: "evidence: 1\n" },
      gone: null,
      commit: { messageHeadline: "Record evidence", messageBody: "Signed by Charter." },
    });
    await sim.idle();
    expect(sim.deliveries.at(-1)).toMatchObject({ event: "push", payload: { after: oid, pusher: { name: "charter-sim[bot]" } } });
  });

  test("two writers racing on the same head: exactly one wins", async () => {
    const head = await sim.branchHead(repo, "main");
    if (!head) throw new Error("main has no head");
    const contents = Buffer.from("x\n").toString("base64");
    const results = await Promise.all(
      ["a", "b", "c"].map((name) => graphql(mutation, input(head, [{ path: `race/${name}`, contents }]))),
    );
    const winners = results.filter((result) => result.body.errors === undefined);
    expect(winners).toHaveLength(1);
    expect(results.filter((result) => result.body.errors?.[0]?.type === "STALE_DATA")).toHaveLength(2);
  });

  test("deleting a path that does not exist is refused", async () => {
    const head = await sim.branchHead(repo, "main");
    const { body } = await graphql(mutation, input(head ?? "", [], [{ path: "no/such/file" }]));
    expect(body.errors[0].message).toContain("A path was requested for deletion which does not exist");
    expect(await sim.branchHead(repo, "main")).toBe(head);
  });
});

describe("Commit.history, parents and associatedPullRequests", () => {
  test("history is git log from the commit, by path and date, paged by `first`; a commit names its parents and the merged pull request that brought it", async () => {
    // A clock of its own: commit dates are whole seconds, and `since` needs them apart.
    let now = Date.parse("2026-03-01T10:00:00Z");
    const own = await GitHubSimulator.create({ now: () => new Date(now) });
    try {
      const other = await own.createRepository({ owner: "acme", name: "history", files: { "agents/a/agent.yaml": "name: a\n", "README.md": "# h\n" } });
      const api = restClient(own, own.installationToken(other));
      const seeded = await own.branchHead(other, "main");
      now += 60_000;
      const direct = await own.push(other, { branch: "main", author: "mallory", message: "Direct", files: { "agents/a/agent.yaml": "name: a2\n" } });
      now += 60_000;
      await own.push(other, { branch: "main", author: "mallory", message: "Docs", files: { "README.md": "# h2\n" } });
      const { pull } = await own.openPullRequest(other, { author: "bob", branch: "change", title: "Change", files: { "agents/a/agent.yaml": "name: a3\n" } });
      const merged = await own.mergePullRequest(pull, { by: "bob", method: "squash" });
      await own.idle();
      const query = `query History($owner: String!, $name: String!, $path: String, $first: Int!, $after: String, $since: GitTimestamp) {
        repository(owner: $owner, name: $name) {
          defaultBranchRef { target { ... on Commit {
            history(first: $first, after: $after, path: $path, since: $since) {
              pageInfo { hasNextPage endCursor }
              nodes { oid messageHeadline parents(first: 2) { totalCount nodes { oid } } associatedPullRequests(first: 5) { nodes { number merged mergeCommit { oid } } } }
            }
          } } }
        }
      }`;
      type History = { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: { oid: string; associatedPullRequests: { nodes: unknown[] } }[] };
      const read = async (variables: Record<string, unknown>): Promise<History> => {
        const { status, body } = await api("POST", "/graphql", { query, variables: { owner: "acme", name: "history", ...variables } });
        expect(status).toBe(200);
        expect(body.errors).toBeUndefined();
        return body.data.repository.defaultBranchRef.target.history as History;
      };

      const agents = await read({ path: "agents", first: 2 });
      expect(agents.nodes.map((n) => n.oid)).toEqual([merged.sha, direct.sha]);
      expect(agents.pageInfo.hasNextPage).toBe(true);
      expect(agents.nodes[0]?.associatedPullRequests.nodes).toEqual([{ number: pull.issue.number, merged: true, mergeCommit: { oid: merged.sha } }]);
      expect(agents.nodes[1]).toMatchObject({ messageHeadline: "Direct", parents: { totalCount: 1, nodes: [{ oid: seeded }] }, associatedPullRequests: { nodes: [] } });
      const rest = await read({ path: "agents/", first: 2, after: agents.pageInfo.endCursor });
      expect(rest.nodes.map((n) => n.oid)).toEqual([seeded]);
      expect(rest.pageInfo.hasNextPage).toBe(false);
      expect((await read({ path: "agents", first: 10, since: "2026-03-01T10:00:30Z" })).nodes.map((n) => n.oid)).toEqual([merged.sha, direct.sha]);
      expect((await read({ first: 10 })).nodes).toHaveLength(4);

      const { body } = await api("POST", "/graphql", { query, variables: { owner: "acme", name: "history", first: 101 } });
      expect(body.errors[0].type).toBe("EXCESSIVE_PAGINATION");
      expect(own.rejected).toEqual([]);
    } finally {
      await own.close();
    }
  });
});

describe("the cost limit (limitGraphqlCost)", () => {
  const two = `{ repository(owner: "acme", name: "agents") { a: object(expression: "main:agents") { __typename } b: object(expression: "main:assets") { __typename } } }`;

  test("answers a query over the limit as GitHub answers one it gave up on, and lets one at the limit through", async () => {
    const refusedBefore = sim.graphqlCostRefusals;
    try {
      sim.limitGraphqlCost({ maxAliases: 2, answer: "timeout" });
      const passed = await graphql(two);
      expect(passed.status).toBe(200);
      expect(passed.body).toEqual({ data: { repository: { a: { __typename: "Tree" }, b: { __typename: "Tree" } } } });

      sim.limitGraphqlCost({ maxAliases: 1, answer: "timeout" });
      const timeout = await graphql(two);
      expect(timeout.status).toBe(200);
      expect(timeout.body.data).toBeNull();
      expect(timeout.body.errors[0].message).toMatch(/^Something went wrong while executing your query\. This may be the result of a timeout/);

      sim.limitGraphqlCost({ maxAliases: 1, answer: "timeout-502" });
      expect((await graphql(two)).status).toBe(502);
      sim.limitGraphqlCost({ maxAliases: 1, answer: "gateway-timeout" });
      expect((await graphql(two)).status).toBe(504);
      sim.limitGraphqlCost({ maxAliases: 1, answer: "resource-limits" });
      expect((await graphql(two)).body.errors[0].type).toBe("RESOURCE_LIMITS_EXCEEDED");
      sim.limitGraphqlCost({ maxAliases: 1, answer: "max-nodes" });
      const nodes = await graphql(two);
      expect(nodes.body.errors[0].type).toBe("MAX_NODE_LIMIT_EXCEEDED");
      expect(nodes.body.data).toBeUndefined();
      expect(sim.graphqlCostRefusals - refusedBefore).toBe(5);

      sim.limitGraphqlCost(null);
      expect((await graphql(two)).body).toEqual(passed.body);
      expect(sim.graphqlCostRefusals - refusedBefore).toBe(5);
    } finally {
      sim.limitGraphqlCost(null);
    }
  });

  test("refuses a limit it cannot apply", () => {
    expect(() => {
      sim.limitGraphqlCost({ maxAliases: -1, answer: "timeout" });
    }).toThrow(/maxAliases/);
    expect(() => {
      sim.limitGraphqlCost({ maxAliases: 1, answer: "slow" as never });
    }).toThrow(/answer must be one of/);
  });
});
