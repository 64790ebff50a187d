import type { Probot } from "probot";
import { afterEach, describe, expect, it } from "vitest";
import { type KnownRepository, RepositorySchedule } from "../../src/github/scheduled/schedule.js";
import { TestQueues } from "../helpers/test-queues.js";

const queues = new TestQueues();
afterEach(() => queues.close());

const REPOSITORY: KnownRepository = { owner: "acme", repo: "agents", repositoryId: "42", installationId: 7, repositoryUrl: "https://github.com/acme/agents" };
const HOUR_MS = 60 * 60 * 1000;
// The schedule only logs failures; none are expected here.
const QUIET = { error: () => undefined, warn: () => undefined, info: () => undefined } as unknown as Probot["log"];

/**
 * A replica that starts reconciles every repository itself, even when the schedule it shares
 * with other replicas says reconciliation ran minutes ago: what it must catch up on is what
 * happened while nothing was listening. Other tasks keep to the shared schedule.
 */
describe("the schedule on start", () => {
  it("runs a forced task whatever the shared schedule says, and leaves the others to it", async () => {
    const queue = queues.open();
    const now = Date.UTC(2026, 10, 27, 10);
    // Another replica ran both tasks a moment ago and set them due in an hour.
    for (const task of ["reconcile", "drift"]) {
      const claim = await queue.claimScheduled(`${task}:${REPOSITORY.repositoryId}`, now - 1000, 60_000);
      if (!claim.claimed) throw new Error("the first claim must win");
      expect(await queue.finishScheduled(`${task}:${REPOSITORY.repositoryId}`, claim.token, now + HOUR_MS)).toBe(true);
    }
    const ran: string[] = [];
    const task = (name: string) => () => {
      ran.push(name);
      return Promise.resolve({ nextInSeconds: 600 });
    };
    const schedule = new RepositorySchedule({ reconcile: task("reconcile"), drift: task("drift") }, () => new Date(now), QUIET, queue);
    schedule.note(REPOSITORY);

    await schedule.tick();
    expect(ran).toEqual([]);
    await schedule.tick({ force: ["reconcile"] });
    expect(ran).toEqual(["reconcile"]);
    // The forced run took no claim: the shared due time is still the other replica's.
    expect(await queue.claimScheduled(`reconcile:${REPOSITORY.repositoryId}`, now, 60_000)).toEqual({ claimed: false, nextDueMs: now + HOUR_MS });
  });
});
