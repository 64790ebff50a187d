import { afterEach, describe, expect, it } from "vitest";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import type { RepositorySchedule } from "../../src/github/scheduled/schedule.js";
import type { SqliteJobQueue } from "../../src/jobs/sqlite-queue.js";
import { TestQueues } from "../helpers/test-queues.js";
import { type AppFixture, startCharter } from "../github/app-fixture.js";
import { waitFor } from "../jobs/wait-for.js";
import { AGENTS, approvedPullRequest, changeRecords, ledger, tally, verifyClone } from "./fault-fixture.js";

let fx: AppFixture | undefined;
let queue: SqliteJobQueue | undefined;
const queues = new TestQueues();
afterEach(async () => {
  await queues.closeWith(fx);
  fx = undefined;
  queue = undefined;
});

const KEYS = generateSignerKey("charter-test-faults");

describe("faults, with webhooks stored as jobs", () => {
  it("records every merge exactly once through bursts of 5xx answers and secondary rate limits", async () => {
    queue = queues.open();
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey, jobs: queue });
    const { sim, repo } = fx;
    const numbers: number[] = [];
    for (const [i, version] of ["20251001", "20251002", "20251003", "20251004", "20251005"].entries()) {
      const opened = await approvedPullRequest(sim, repo, `burst-${i}`, version);
      numbers.push(opened.pull.issue.number);
      // GitHub misbehaves around each merge: GraphQL (the reads and the ledger commit) answers
      // 502 twice, and reading the branch head is refused once for a secondary rate limit.
      sim.faults.inject({ kind: "server-error", status: 502 }, { count: 2, operation: "graphql" });
      sim.faults.inject({ kind: "secondary-rate-limit", retryAfterSeconds: 0 }, { count: 1, operation: "git/get-ref" });
      await sim.mergePullRequest(opened.pull, { by: "dana-support" });
      await sim.idle();
    }
    const merged = numbers.filter((n) => sim.core.state.findPullRequest(repo, n)?.merged);
    await waitFor(() => changeRecords(sim, repo).length >= merged.length, "every merge recorded", 60_000);
    const drained = async (): Promise<boolean> => {
      const stats = await queue?.stats();
      return stats?.queued === 0 && stats.running === 0;
    };
    await waitFor(drained, "the queue drained", 60_000);
    const report = tally(changeRecords(sim, repo), merged);
    expect(report).toEqual({ expected: merged.length, written: merged.length, duplicated: 0, lost: 0 });
    expect(sim.faults.pending).toBe(0);
    // A merge commit is never mistaken for a direct push, however late its job runs.
    expect(ledger(sim, repo).filter((r) => r.kind === "exception")).toEqual([]);
    expect((await queue.stats()).dead).toBe(0);
    expect(await verifyClone(sim, repo, KEYS.verifierKey)).toMatchObject({ ok: true, problems: [] });
  });

  it("stores a webhook redelivered 10 times once, and records its merge once", async () => {
    queue = queues.open();
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey, jobs: queue });
    const { sim, repo } = fx;
    const opened = await approvedPullRequest(sim, repo, "once", "20251101");
    await sim.mergePullRequest(opened.pull, { by: "dana-support" });
    await sim.idle();
    const closed = sim.deliveries.filter((d) => d.event === "pull_request" && d.action === "closed");
    expect(closed).toHaveLength(1);
    for (let i = 0; i < 10; i++) await sim.redeliver(closed[0]?.id ?? "");
    await waitFor(() => changeRecords(sim, repo).length === 1, "the merge recorded");
    await waitFor(async () => (await queue?.stats())?.queued === 0, "the queue drained");
    expect(tally(changeRecords(sim, repo), [opened.pull.issue.number])).toEqual({ expected: 1, written: 1, duplicated: 0, lost: 0 });
  });

  it("backfills a merge whose webhooks were never delivered, from GitHub's list of merges", async () => {
    queue = queues.open();
    let schedule: RepositorySchedule | undefined;
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey, jobs: queue, onSchedule: (s) => (schedule = s) });
    const { sim, repo } = fx;
    const first = await approvedPullRequest(sim, repo, "first", "20251101");
    await sim.mergePullRequest(first.pull, { by: "dana-support" });
    await sim.idle();
    await waitFor(() => changeRecords(sim, repo).length === 1, "the first merge recorded");

    const dropped = await approvedPullRequest(sim, repo, "dropped", "20251201");
    sim.faults.dropWebhooks(10);
    await sim.mergePullRequest(dropped.pull, { by: "dana-support" });
    await sim.idle();
    sim.faults.clear();
    expect(sim.deliveries.filter((d) => d.event === "pull_request" && d.action === "closed").map((d) => d.dropped)).toEqual([false, true]);
    expect(changeRecords(sim, repo)).toHaveLength(1);

    await schedule?.tick();
    await waitFor(() => changeRecords(sim, repo).length === 2, "the dropped merge backfilled");
    expect(tally(changeRecords(sim, repo), [first.pull.issue.number, dropped.pull.issue.number])).toEqual({ expected: 2, written: 2, duplicated: 0, lost: 0 });
    // A second reconciliation finds nothing missing.
    await schedule?.tick();
    await waitFor(async () => (await queue?.stats())?.queued === 0, "the queue drained");
    expect(changeRecords(sim, repo)).toHaveLength(2);
    expect(await verifyClone(sim, repo, KEYS.verifierKey)).toMatchObject({ ok: true, problems: [] });
  });
});
