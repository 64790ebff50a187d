import { afterEach, describe, expect, it } from "vitest";
import type { ExceptionRecord } from "../../src/schema-types/evidence-record.generated.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { findMissedEvents } from "../../src/github/scheduled/reconcile.js";
import type { RepositorySchedule } from "../../src/github/scheduled/schedule.js";
import { TestQueues } from "../helpers/test-queues.js";
import { mutate } from "../helpers/manifests.js";
import { waitFor } from "../jobs/wait-for.js";
import { AGENTS, approvedPullRequest, changeRecords, ledger, TRIAGE, verifyClone } from "../faults/fault-fixture.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

const KEYS = generateSignerKey("charter-test-reconcile-pushes");
const RECONCILE_INTERVAL_MS = 600_000;

let fx: AppFixture | undefined;
const queues = new TestQueues();
afterEach(async () => {
  await queues.closeWith(fx);
  fx = undefined;
});

function bump(version: string): string {
  return mutate(AGENTS[TRIAGE] ?? "", 'version: "20250929"', `version: "${version}"`);
}

/**
 * Charter with a job queue and two clocks the test moves: GitHub's (commit dates are whole
 * seconds, and a commit dated the ledger's first second is not the ledger's, so pushes are made
 * a few seconds later) and the app's (the reconciler runs again once ten minutes have passed).
 */
async function start(options: { inline?: boolean } = {}): Promise<{ f: AppFixture; tick: () => Promise<void>; later: () => void; drained: () => Promise<void> }> {
  let github = 0;
  let app = 0;
  let schedule: RepositorySchedule | undefined;
  const jobs = options.inline === true ? undefined : queues.open();
  const f = await startCharter(AGENTS, {
    signingKey: KEYS.signerKey,
    ...(jobs ? { jobs } : {}),
    githubNow: () => new Date(Date.now() + github),
    now: () => new Date(Date.now() + app),
    onSchedule: (s) => (schedule = s),
  });
  fx = f;
  const opened = await approvedPullRequest(f.sim, f.repo, "first", "20251101");
  await f.sim.mergePullRequest(opened.pull, { by: "dana-support" });
  await f.sim.idle();
  await waitFor(() => changeRecords(f.sim, f.repo).length === 1, "the first merge recorded, which starts the ledger");
  const drained = async (): Promise<void> => {
    if (!jobs) return;
    await waitFor(async () => {
      const stats = await jobs.stats();
      return stats.queued === 0 && stats.running === 0;
    }, "the queue drained");
  };
  return {
    f,
    drained,
    later: () => {
      github += 2_000;
    },
    tick: async () => {
      app += RECONCILE_INTERVAL_MS + 1_000;
      await schedule?.tick();
      await drained();
    },
  };
}

function exceptions(f: AppFixture): ExceptionRecord[] {
  return ledger(f.sim, f.repo).filter((r): r is ExceptionRecord => r.kind === "exception");
}

function exceptionIssues(f: AppFixture): number[] {
  return [...f.sim.core.state.issues.values()].filter((i) => i.title.startsWith("Exception:")).map((i) => i.number);
}

async function dropped<T>(f: AppFixture, action: () => Promise<T>): Promise<T> {
  f.sim.faults.dropWebhooks(100);
  try {
    const result = await action();
    await f.sim.idle();
    return result;
  } finally {
    f.sim.faults.clear();
  }
}

describe("the reconciler and direct pushes", () => {
  it("records a direct push to agents/ whose push event was lost, once, saying reconciliation found it", async () => {
    const { f, tick, later } = await start();
    later();
    const pushed = await dropped(f, () => f.sim.push(f.repo, { branch: "main", author: "mallory", message: "Widen triage access", files: { [TRIAGE]: bump("20251105") } }));
    expect(f.sim.deliveries.filter((d) => d.event === "push" && d.payload["after"] === pushed.sha).map((d) => d.dropped)).toEqual([true]);
    expect(exceptions(f)).toEqual([]);

    await tick();
    const found = exceptions(f);
    expect(found).toHaveLength(1);
    expect(found[0]?.body).toMatchObject({ kind: "direct-push", commits: [pushed.sha], pullRequest: null, agents: ["support-triage"] });
    expect(found[0]?.body.reason).toMatch(/^mallory committed [0-9a-f]{12} changing agents \(support-triage\) directly on the default branch, without a pull request; found by reconciliation/);
    expect(exceptionIssues(f)).toEqual([found[0]?.body.issue]);

    // Another run, and the push event arriving late after all, add nothing.
    await tick();
    const late = f.sim.deliveries.find((d) => d.event === "push" && d.payload["after"] === pushed.sha);
    await f.sim.redeliver(late?.id ?? "");
    await tick();
    expect(exceptions(f)).toHaveLength(1);
    expect(exceptionIssues(f)).toHaveLength(1);
    // charter verify's completeness check, which named such a commit before, is now satisfied.
    expect(await verifyClone(f.sim, f.repo, KEYS.verifierKey)).toMatchObject({ ok: true, problems: [] });
    expect(f.sim.rejected).toEqual([]);
  });

  it("records it within the run when the app has no job queue", async () => {
    const { f, tick, later } = await start({ inline: true });
    later();
    const pushed = await dropped(f, () => f.sim.push(f.repo, { branch: "main", author: "mallory", message: "Edit the policy", files: { ".github/charter.yml": "version: 1\nrules: []\n" } }));
    await tick();
    expect(exceptions(f).map((r) => [r.body.commits, r.body.agents])).toEqual([[[pushed.sha], []]]);
    expect(exceptions(f)[0]?.body.reason).toMatch(/changing governance files directly on the default branch, without a pull request; found by reconciliation/);
    await tick();
    expect(exceptions(f)).toHaveLength(1);
    expect(f.sim.rejected).toEqual([]);
  });

  it("does not record again a direct push its push event recorded", async () => {
    const { f, tick, later } = await start();
    later();
    const pushed = await f.sim.push(f.repo, { branch: "main", author: "mallory", message: "Widen triage access", files: { [TRIAGE]: bump("20251105") } });
    await f.sim.idle();
    await waitFor(() => exceptions(f).length === 1, "the push recorded from its event");
    expect(exceptions(f)[0]?.body.commits).toEqual([pushed.sha]);
    expect(exceptions(f)[0]?.body.reason).not.toMatch(/reconciliation/);

    await tick();
    await tick();
    expect(exceptions(f)).toHaveLength(1);
    expect(exceptionIssues(f)).toHaveLength(1);
    expect(f.sim.rejected).toEqual([]);
  });

  it("leaves commits of merged pull requests (merge, squash, rebase) to their merges, and ignores a push to non-governed files", async () => {
    const { f, tick, later } = await start();
    later();
    const merged: number[] = [];
    for (const [i, method] of (["merge", "squash", "rebase"] as const).entries()) {
      const opened = await approvedPullRequest(f.sim, f.repo, `by-${method}`, `2025120${String(i + 1)}`);
      // Every event of these merges is lost: the closed pull request and the pushes alike.
      await dropped(f, () => f.sim.mergePullRequest(opened.pull, { by: "dana-support", method }));
      merged.push(opened.pull.issue.number);
    }
    await dropped(f, () => f.sim.push(f.repo, { branch: "main", author: "mallory", message: "Docs only", files: { "README.md": "# agents, documented\n" } }));
    expect(changeRecords(f.sim, f.repo)).toHaveLength(1);

    await tick();
    expect(changeRecords(f.sim, f.repo).map((r) => r.body.pullRequest.number).sort((a, b) => a - b)).toEqual([1, ...merged]);
    expect(exceptions(f)).toEqual([]);
    await tick();
    expect(changeRecords(f.sim, f.repo)).toHaveLength(4);
    expect(exceptions(f)).toEqual([]);
    expect(f.sim.rejected).toEqual([]);
  });

  it("costs the same requests per run for one direct push in the window as for five", async () => {
    const { f, tick, later } = await start();
    await tick();
    const octokit = await f.app.probot.auth(f.sim.installationOf(f.repo).id);
    const target = { owner: "acme", repo: "agents", repositoryId: String(f.repo.id) };
    // The reconciler's own reads, nothing missing or something missing alike.
    const scan = async (provisioning = false): Promise<{ requests: number; pushes: number }> => {
      f.sim.resetCalls();
      const missed = await findMissedEvents(octokit, target, new Date(), { provisioning });
      return { requests: Object.values(f.sim.calls).reduce((a, b) => a + b, 0), pushes: missed.pushes.length };
    };
    const push = async (n: number): Promise<void> => {
      later();
      await dropped(f, () => f.sim.push(f.repo, { branch: "main", author: "mallory", message: `Push ${String(n)}`, files: { [TRIAGE]: bump(`202512${String(10 + n)}`) } }));
    };

    await push(1);
    const one = await scan();
    const oneProvisioned = await scan(true);
    for (let n = 2; n <= 5; n++) await push(n);
    const five = await scan();
    expect(one.pushes).toBe(1);
    expect(five.pushes).toBe(5);
    expect(five.requests).toBe(one.requests);
    expect(one.requests).toBe(5);
    // With provisioning configured the merges' records and provisioning markers are read too.
    expect(await scan(true)).toEqual({ requests: oneProvisioned.requests, pushes: 5 });
    expect(oneProvisioned.requests).toBe(7);

    // The run that backfills them: the policy read and the scan, then per direct push its job's
    // compare, head, marker query, issue and append (head, state, commit).
    f.sim.resetCalls();
    await tick();
    expect(exceptions(f).map((r) => r.body.commits.length)).toEqual([1, 1, 1, 1, 1]);
    expect(Object.values(f.sim.calls).reduce((a, b) => a + b, 0)).toBe(1 + one.requests + 5 * 7);

    // Once all five are recorded, the same again.
    const recorded = await scan();
    expect(recorded).toEqual({ requests: one.requests, pushes: 0 });
    f.sim.resetCalls();
    await tick();
    // A whole run that finds nothing missing: the policy read, then the scan.
    expect(Object.values(f.sim.calls).reduce((a, b) => a + b, 0)).toBe(1 + one.requests);
    expect(exceptions(f)).toHaveLength(5);
    expect(f.sim.rejected).toEqual([]);
  });
});
