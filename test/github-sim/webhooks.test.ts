/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment --
   answers are GitHub's JSON, read field by field in assertions (see RestAnswer in rest-client.ts) */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { verify } from "@octokit/webhooks-methods";
import { Ajv } from "ajv";
import addFormatsImport from "ajv-formats";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { restClient } from "./rest-client.js";
import { GitHubSimulator } from "./simulator.js";
import type { Repository } from "./state.js";
import { WebhookSchemaError } from "./webhook-schema.js";

// ajv-formats is CommonJS with `exports.default`; NodeNext types see the module object.
const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

let sim: GitHubSimulator;
let repo: Repository;
let server: Server;
const received: Received[] = [];
let answerWith = 200;

/** An independent validator: the event-level definitions (oneOf over actions), compiled here. */
function eventValidator() {
  const schema = createRequire(import.meta.url)("@octokit/webhooks-schemas") as { definitions: Record<string, unknown> };
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: "webhooks", definitions: schema.definitions });
  return (event: string, payload: unknown) => {
    const name = event === "push" ? "push$event" : `${event}_event`;
    const validate = ajv.getSchema(`webhooks#/definitions/${name}`) ?? ajv.compile({ $ref: `webhooks#/definitions/${name}` });
    return validate(payload) ? [] : (validate.errors ?? []);
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(answerWith).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  sim = await GitHubSimulator.create({ webhookSecret: "It's a Secret to Everybody" });
  sim.webhookTarget = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`;
  repo = await sim.createRepository({ owner: "acme", name: "agents", files: { "agents/a/agent.yaml": "name: a\n" } });
});

afterAll(async () => {
  await sim.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
});

describe("a pull request's life, as webhooks", () => {
  test("every event is signed, carries the installation and passes the schemas", async () => {
    const start = received.length;
    const { pull } = await sim.openPullRequest(repo, {
      author: "bob",
      branch: "change-a",
      title: "Change a",
      body: "Tighten a",
      draft: true,
      files: { "agents/a/agent.yaml": "name: a\nmodel: large\n" },
    });
    await sim.markReadyForReview(pull, { by: "bob" });
    await sim.editPullRequest(pull, { by: "bob", title: "Change agent a" });
    await sim.addLabels(pull, ["charter:review"], { by: "alice" });
    const pushed = await sim.pushToPullRequest(pull, { "agents/a/agent.yaml": "name: a\nmodel: medium\n" });
    expect(pushed.delivery).toMatchObject({ event: "pull_request", action: "synchronize", status: 200 });
    const { review } = await sim.submitReview(pull, { user: "alice", state: "APPROVED" });
    await sim.submitReview(pull, { user: "carol", state: "CHANGES_REQUESTED", body: "Why medium?" });
    await sim.submitReview(pull, { user: "dave", state: "COMMENTED", body: "Looks fine" });
    await sim.dismissReview(review, { by: "alice" });
    await sim.comment(pull, { user: "bob", body: "/charter recheck" });
    await sim.closePullRequest(pull, { by: "bob" });
    await sim.reopenPullRequest(pull, { by: "bob" });

    const api = restClient(sim, sim.installationToken(repo));
    const run = await api("POST", "/repos/acme/agents/check-runs", { name: "Charter", head_sha: pull.headSha, conclusion: "success", output: { title: "ok", summary: "ok" } });
    await sim.rerequestCheckRun(run.body.id as number, { by: "alice" });
    const suite = sim.checkRunsFor(repo, pull.headSha)[0]?.suite;
    await sim.rerequestCheckSuite(suite?.id ?? 0, { by: "alice" });

    const merged = await sim.mergePullRequest(pull, { by: "alice" });
    expect(merged.delivery.action).toBe("closed");
    const { issue } = await sim.openIssue(repo, { author: "erin", title: "Agent a misbehaves" });
    await sim.closeIssue(issue, { by: "erin" });
    await sim.idle();

    const validate = eventValidator();
    const seen = received.slice(start);
    const events: string[] = [];
    for (const delivery of seen) {
      const payload = JSON.parse(delivery.body) as { action?: string; installation?: unknown };
      const event = String(delivery.headers["x-github-event"]);
      events.push(payload.action ? `${event}.${payload.action}` : event);
      expect(delivery.headers["content-type"]).toBe("application/json");
      expect(delivery.headers["x-github-delivery"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(await verify("It's a Secret to Everybody", delivery.body, String(delivery.headers["x-hub-signature-256"]))).toBe(true);
      expect(payload.installation).toEqual({ id: sim.installationOf(repo).id, node_id: expect.any(String) });
      expect(validate(event, payload), `${event}.${payload.action ?? ""}`).toEqual([]);
    }
    expect(events).toEqual([
      "push",
      "pull_request.opened",
      "pull_request.ready_for_review",
      "pull_request.edited",
      "pull_request.labeled",
      "push",
      "pull_request.synchronize",
      "pull_request_review.submitted",
      "pull_request_review.submitted",
      "pull_request_review.submitted",
      "pull_request_review.dismissed",
      "issue_comment.created",
      "pull_request.closed",
      "pull_request.reopened",
      "check_run.rerequested",
      "check_suite.rerequested",
      "push",
      "pull_request.closed",
      "issues.opened",
      "issues.closed",
    ]);
    const closedMerged = JSON.parse(seen[17]?.body ?? "{}") as { pull_request: { merged: boolean; merged_by: { login: string } } };
    expect(closedMerged.pull_request).toMatchObject({ merged: true, merged_by: { login: "alice" } });
    const approval = JSON.parse(seen[7]?.body ?? "{}") as { review: { state: string; commit_id: string } };
    expect(approval.review).toMatchObject({ state: "approved", commit_id: pushed.sha });
  });
});

describe("delivery mechanics", () => {
  test("the app's status code is reported, and redelivery resends the same bytes under the same id", async () => {
    answerWith = 500;
    const { delivery } = await sim.openIssue(repo, { author: "bob", title: "Flaky" });
    answerWith = 200;
    expect(delivery.status).toBe(500);
    const original = received.at(-1);
    const again = await sim.redeliver(delivery.id);
    expect(again).toMatchObject({ id: delivery.id, status: 200 });
    const resent = received.at(-1);
    expect(resent?.body).toBe(original?.body);
    expect(resent?.headers["x-github-delivery"]).toBe(delivery.id);
    expect(resent?.headers["x-hub-signature-256"]).toBe(original?.headers["x-hub-signature-256"]);
  });

  test("dropped deliveries are recorded but never sent", async () => {
    const before = received.length;
    sim.faults.dropWebhooks(2);
    const first = await sim.openIssue(repo, { author: "bob", title: "One" });
    const second = await sim.openIssue(repo, { author: "bob", title: "Two" });
    const third = await sim.openIssue(repo, { author: "bob", title: "Three" });
    expect([first.delivery.dropped, second.delivery.dropped, third.delivery.dropped]).toEqual([true, true, false]);
    expect(first.delivery.status).toBeNull();
    expect(received.length - before).toBe(1);
    const redelivered = await sim.redeliver(first.delivery.id);
    expect(redelivered).toMatchObject({ dropped: false, status: 200 });
  });

  test("a payload that does not match the schemas is a simulator bug and throws", async () => {
    await expect(sim.core.deliver("pull_request", { action: "opened", number: 1 })).rejects.toBeInstanceOf(WebhookSchemaError);
  });
});
