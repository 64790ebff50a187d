import { afterEach, expect, test } from "vitest";
import type { Probot } from "probot";
import { startApp, type StartedApp } from "./probot-harness.js";
import { GitHubSimulator } from "./simulator.js";

let sim: GitHubSimulator | undefined;
let app: StartedApp | undefined;

afterEach(async () => {
  await app?.close();
  await sim?.close();
  app = undefined;
  sim = undefined;
});

test("signed webhook → Probot middleware → installation token → validated REST call", async () => {
  sim = await GitHubSimulator.create();
  const repo = await sim.createRepository({ owner: "acme", name: "agents", files: { "agents/a/agent.yaml": "name: a\n" } });
  // Octokit's throttling sends one POST at a time, a second apart; the harness must turn it off.
  // Three queries sent together are held until all three reached the network: a queue that sends
  // the second only after the first was answered never gets there, and the barrier's safety
  // timeout then records that they came one by one.
  const barrier = heldUntil(3);
  app = await startApp(sim, (probot: Probot) => {
    probot.on("pull_request.opened", async (context) => {
      await Promise.all([0, 1, 2].map(() => context.octokit.graphql("{ rateLimit { remaining } }")));
      const manifest = await context.octokit.graphql<{ repository: { object: { text: string } | null } }>(
        `query($owner: String!, $name: String!, $expression: String!) {
          repository(owner: $owner, name: $name) { object(expression: $expression) { ... on Blob { text } } }
        }`,
        { ...context.repo({}), name: context.payload.repository.name, expression: `${context.payload.pull_request.head.sha}:agents/a/agent.yaml` },
      );
      await context.octokit.rest.checks.create(
        context.repo({
          name: "Charter",
          head_sha: context.payload.pull_request.head.sha,
          status: "completed" as const,
          conclusion: "success" as const,
          output: { title: "1 agent changed", summary: manifest.repository.object?.text ?? "missing" },
        }),
      );
    });
  }, { observe: ({ body }) => (body?.includes("rateLimit") === true ? barrier.arrive() : undefined) });

  const { pull, delivery } = await sim.openPullRequest(repo, {
    author: "bob",
    branch: "change-a",
    title: "Change a",
    files: { "agents/a/agent.yaml": "name: a\nmodel: large\n" },
  });

  // The delivery resolves only after the app answered, and Probot answers after its handlers ran.
  expect(delivery).toMatchObject({ event: "pull_request", action: "opened", status: 200, error: null });
  const runs = sim.checkRunsFor(repo, pull.headSha);
  expect(runs).toHaveLength(1);
  expect(runs[0]).toMatchObject({
    name: "Charter",
    status: "completed",
    conclusion: "success",
    output: { title: "1 agent changed", summary: "name: a\nmodel: large\n" },
  });
  expect(sim.calls).toMatchObject({ "apps/create-installation-access-token": 1, graphql: 4, "checks/create": 1 });
  expect(barrier.together).toBe(true);
  expect(sim.rejected).toEqual([]);
});

/** Holds arrivals until `count` of them are waiting, or until a safety timeout that marks them as not together. */
function heldUntil(count: number): { arrive: () => Promise<void>; readonly together: boolean } {
  let waiting = 0;
  let together = false;
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const safety = setTimeout(release, 20_000);
  return {
    arrive: async () => {
      waiting += 1;
      if (waiting === count) {
        together = true;
        clearTimeout(safety);
        release();
      }
      await released;
    },
    get together() {
      return together;
    },
  };
}

test("an app request GitHub would refuse surfaces in sim.rejected", async () => {
  sim = await GitHubSimulator.create();
  const repo = await sim.createRepository({ owner: "acme", name: "agents" });
  const failures: unknown[] = [];
  app = await startApp(sim, (probot: Probot) => {
    probot.on("pull_request.opened", async (context) => {
      const annotations = Array.from({ length: 51 }, (_, index) => ({
        path: "README.md",
        start_line: index + 1,
        end_line: index + 1,
        annotation_level: "notice" as const,
        message: "too many for one request",
      }));
      try {
        await context.octokit.rest.checks.create(
          context.repo({ name: "Charter", head_sha: context.payload.pull_request.head.sha, output: { title: "t", summary: "s", annotations } }),
        );
      } catch (error: unknown) {
        failures.push(error);
      }
    });
  });
  await sim.openPullRequest(repo, { author: "bob", branch: "x", title: "x", files: { "README.md": "x\n" } });
  expect(failures).toEqual([expect.objectContaining({ status: 422 })]);
  expect(sim.rejected).toEqual([expect.objectContaining({ operation: "checks/create", status: 422, kind: "invalid" })]);
});
