import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProbotOctokit } from "probot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Alert } from "../../src/detect/alert.js";
import { escalateIssue } from "../../src/github/trail/alert-escalation.js";
import type { AlertStore } from "../../src/sources/alert-store.js";
import { openSqliteAlerts } from "../../src/sources/sqlite-alert-store.js";
import { GitHubSimulator, UnthrottledOctokit } from "../github-sim/index.js";
import { restClient } from "../github-sim/rest-client.js";
import type { Repository } from "../github-sim/state.js";

/**
 * The GitHub issue that escalates an agent's alerts of one rule, against the simulator: opened
 * once, reopened when an owner closed it and the rule fires again, and left alone for alerts
 * recorded under a suppression.
 */
let sim: GitHubSimulator;
let repo: Repository;
let store: AlertStore;
let octokit: ProbotOctokit;
const dir = mkdtempSync(join(tmpdir(), "charter-escalation-"));
const target = { owner: "acme", repo: "agents", repositoryUrl: "https://github.com/acme/agents" };

beforeAll(async () => {
  sim = await GitHubSimulator.create();
  sim.addOrganization("acme");
  repo = await sim.createRepository({ owner: "acme", name: "agents", files: { "README.md": "# agents\n" } });
  octokit = new UnthrottledOctokit({ auth: { token: sim.installationToken(repo) }, request: { fetch: sim.fetch } });
  store = openSqliteAlerts(join(dir, "trail.sqlite"));
});
afterAll(async () => {
  await store.close();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

function alertOf(name: string): Alert {
  const at = new Date().toISOString();
  return {
    id: createHash("sha256").update(name).digest("hex"),
    rule: { id: "charter/out-of-scope", kind: "manifest", title: "Action outside the approved permissions", file: null },
    agent: "support-triage",
    principal: "support_triage",
    owners: ["@dana-support"],
    manifest: { seq: 4, commit: "0123456789abcdef0123456789abcdef01234567" },
    severity: "high",
    dataClasses: ["customer-pii"],
    events: [{ id: `${name}-event`, seq: 1, traceId: null, observedAt: at }],
    eventCount: 1,
    window: { start: at, end: at },
    firedAt: at,
    why: { text: "crm.public.payments is not in the approved permissions", children: [] },
  };
}

async function issue(number: number): Promise<{ state: string; comments: number }> {
  const answer = await restClient(sim, sim.installationToken(repo))("GET", `/repos/acme/agents/issues/${String(number)}`);
  return answer.body as { state: string; comments: number };
}

describe("alert escalation issues", () => {
  it("opens one issue, reopens it with a comment when the rule fires after an owner closed it, and skips suppressed alerts", async () => {
    const first = alertOf("first");
    await store.record([first], null, Date.now());
    const stored = await store.get(first.id);
    const key = stored?.escalationKey ?? "";
    expect(await escalateIssue(octokit, store, target, key)).toBe(1);
    const number = (await store.issueOf(key)) ?? 0;
    expect(number).toBeGreaterThan(0);
    expect(await issue(number)).toMatchObject({ state: "open", comments: 0 });

    // An owner closes it; the rule fires again for the same agent: the same issue, reopened.
    const found = [...sim.core.state.issues.values()].find((i) => i.repo === repo && i.number === number);
    if (found === undefined) throw new Error("the escalation issue is not in the simulator");
    await sim.closeIssue(found, { by: "dana-support" });
    expect((await issue(number)).state).toBe("closed");
    await store.record([alertOf("second")], null, Date.now());
    expect(await escalateIssue(octokit, store, target, key)).toBe(2);
    expect(await issue(number)).toMatchObject({ state: "open", comments: 1 });
    expect(sim.rejected).toEqual([]);

    // Suppressed: later alerts of the key are recorded and not escalated, not even as a comment.
    await store.suppress(first.id, "dana-support", "nightly reconciliation reads payments", Date.now() + 3_600_000, Date.now());
    await store.record([alertOf("third")], null, Date.now());
    expect((await store.get(alertOf("third").id))?.status).toBe("suppressed");
    expect(await escalateIssue(octokit, store, target, key)).toBe(0);
    expect(await issue(number)).toMatchObject({ state: "open", comments: 1 });
  });
});
