import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { GitHubSimulator } from "../github-sim/index.js";
import { agentFiles, mutate, VALID_MANIFEST } from "../helpers/manifests.js";
import { startPostgres } from "../helpers/postgres.js";
import { type CharterProcess, startCharterProcess } from "../helpers/start-charter-process.js";
import { waitFor } from "../jobs/wait-for.js";
import { AGENTS, approvedPullRequest, changeRecords, ledger, tally, verifyClone } from "./fault-fixture.js";

const KEYS = generateSignerKey("charter-test-process-faults");
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Starts Charter as its own process on the given queue; killed at the end of the test. */
async function startAppProcess(sim: GitHubSimulator, simUrl: string, queueEnv: Record<string, string>): Promise<CharterProcess> {
  const app = await startCharterProcess(sim, { simUrl, signingKey: KEYS.signerKey, env: queueEnv });
  cleanups.push(() => app.kill());
  return app;
}

/** A load balancer in front of replicas: each webhook goes to the next one in turn. */
async function roundRobin(targets: readonly string[]): Promise<{ url: string; server: Server }> {
  let next = 0;
  const server = createServer((req, res) => {
    const target = new URL(req.url ?? "/", targets[next++ % targets.length]);
    const forward = request(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on("error", () => res.writeHead(502).end());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`, server };
}

async function simulator(files: Record<string, string>): Promise<{ sim: GitHubSimulator; simUrl: string; repo: Awaited<ReturnType<GitHubSimulator["createRepository"]>> }> {
  const sim = await GitHubSimulator.create();
  cleanups.push(() => sim.close());
  sim.addOrganization("acme");
  const repo = await sim.createRepository({ owner: "acme", name: "agents", files });
  const http = await sim.listen();
  cleanups.push(() => http.close());
  return { sim, simUrl: http.url, repo };
}

describe("faults with Charter running as real processes", () => {
  it("resumes after SIGKILL in the middle of an append: the ledger verifies and is complete", async () => {
    const { sim, simUrl, repo } = await simulator(AGENTS);
    const dir = mkdtempSync(join(tmpdir(), "charter-kill-"));
    cleanups.push(() => { rmSync(dir, { recursive: true, force: true }); });
    const queueEnv = { CHARTER_QUEUE_DB: join(dir, "queue.sqlite") };

    const first = await startAppProcess(sim, simUrl, queueEnv);
    sim.webhookTarget = first.webhookUrl;
    const one = await approvedPullRequest(sim, repo, "one", "20251101");
    await sim.mergePullRequest(one.pull, { by: "dana-support" });
    await waitFor(() => changeRecords(sim, repo).length === 1, "the first merge recorded", 60_000);

    const two = await approvedPullRequest(sim, repo, "two", "20251201");
    await sim.idle();
    // The append begins by reading the evidence branch's head; slow GitHub down from there on
    // so that the kill lands inside the append, after the job was taken and before it finished.
    const before = sim.calls["git/get-ref"] ?? 0;
    sim.faults.inject({ kind: "latency", ms: 1_500 }, { count: 4, operation: "graphql" });
    await sim.mergePullRequest(two.pull, { by: "dana-support" });
    await waitFor(() => (sim.calls["git/get-ref"] ?? 0) > before, "the append to start", 60_000);
    await first.kill();
    sim.faults.clear();
    const recordedAtKill = changeRecords(sim, repo).length;

    const second = await startAppProcess(sim, simUrl, queueEnv);
    sim.webhookTarget = second.webhookUrl;
    await waitFor(() => changeRecords(sim, repo).length === 2, "the interrupted merge recorded after the restart", 60_000);
    const report = tally(changeRecords(sim, repo), [one.pull.issue.number, two.pull.issue.number]);
    expect({ recordedAtKill, ...report }).toEqual({ recordedAtKill: 1, expected: 2, written: 2, duplicated: 0, lost: 0 });
    expect(ledger(sim, repo).filter((r) => r.kind === "exception")).toEqual([]);
    expect(await verifyClone(sim, repo, KEYS.verifierKey)).toMatchObject({ ok: true, problems: [] });
  }, 180_000);

  it("writes exactly one change record per merge when 50 merge at once across two replicas sharing PostgreSQL", async () => {
    const server = await startPostgres();
    cleanups.push(() => { server.stop(); });
    const policy = "version: 1\nrules:\n  - name: Owners approve\n    require: { approvals: 1, from: { owners: true } }\n";
    const { sim, simUrl, repo } = await simulator({ "README.md": "# agents\n", ".github/charter.yml": policy });
    const queueEnv = { DATABASE_URL: server.url };
    const replicas = [await startAppProcess(sim, simUrl, queueEnv), await startAppProcess(sim, simUrl, queueEnv)];
    const balancer = await roundRobin(replicas.map((r) => r.url));
    cleanups.push(() => new Promise<void>((resolve) => balancer.server.close(() => { resolve(); })));
    sim.webhookTarget = `${balancer.url}/api/github/webhooks`;

    const manifest = mutate(VALID_MANIFEST, "  - user: alice\n  - team: acme/support\n", "  - user: alice\n");
    const pulls = [];
    for (let i = 0; i < 50; i++) {
      const id = `agent-${String(i).padStart(2, "0")}`;
      const opened = await sim.openPullRequest(repo, { author: "bob", branch: id, title: `Add ${id}`, body: "## Rollback plan\nRevert.\n", files: agentFiles(id, manifest.replace("id: sample-agent", `id: ${id}`)) });
      await sim.submitReview(opened.pull, { user: "alice", state: "APPROVED" });
      pulls.push(opened.pull);
    }
    await sim.idle();
    await Promise.all(pulls.map((pull) => sim.mergePullRequest(pull, { by: "alice" })));
    await sim.idle();
    await waitFor(() => changeRecords(sim, repo).length >= 50, "fifty change records", 280_000);
    const report = tally(changeRecords(sim, repo), pulls.map((p) => p.issue.number));
    expect(report).toEqual({ expected: 50, written: 50, duplicated: 0, lost: 0 });
    // The log stayed one line: seq 0..n without gaps, one chain (verify checks the chain).
    const records = ledger(sim, repo);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i));
    expect(await verifyClone(sim, repo, KEYS.verifierKey)).toMatchObject({ ok: true, problems: [] });
  }, 420_000);
});
