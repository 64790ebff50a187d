import { afterEach, describe, expect, it } from "vitest";
import { ANNOTATIONS_PER_REQUEST } from "../../src/github/pull-request/publish-check-run.js";
import { ownAgents } from "../helpers/agents-fixture.js";
import { lineOf, mutate } from "../helpers/manifests.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

let fx: AppFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const AGENTS = ownAgents();
const TRIAGE = "agents/support-triage/agent.yaml";
const TRIAGE_TEXT = AGENTS[TRIAGE] ?? "";
const ROLLBACK = "## Rollback plan\nRevert this pull request.\n";

function charterRuns(f: AppFixture, sha: string) {
  return f.sim.checkRunsFor(f.repo, sha).filter((run) => run.name === "Charter");
}

describe("the Charter check run", () => {
  it("classifies a valid change and waits for the owners' approval", async () => {
    fx = await startCharter(AGENTS);
    const { sha, delivery } = await fx.sim.openPullRequest(fx.repo, {
      author: "bob",
      branch: "tune-triage",
      title: "Clarify triage priorities",
      body: ROLLBACK,
      files: { "agents/support-triage/prompts/system.md": (AGENTS["agents/support-triage/prompts/system.md"] ?? "") + "\nEscalate P1 tickets within five minutes.\n" },
    });
    expect(delivery.status).toBe(200);
    const runs = charterRuns(fx, sha);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: "completed", conclusion: "action_required" });
    expect(runs[0]?.output.title).toBe("Waiting: Needs 1 more approval from @acme/support-eng, @dana-support (support-triage)");
    expect(runs[0]?.output.summary).toContain("| `support-triage` | prompt-changed | high |");
    expect(runs[0]?.output.summary).toContain("Charter's default policy");
    expect(runs[0]?.output.annotations).toEqual([]);
    expect(fx.sim.rejected).toEqual([]);
  });

  it("fails an invalid change with annotations on the offending lines", async () => {
    fx = await startCharter(AGENTS);
    let broken = mutate(TRIAGE_TEXT, 'version: "20250929"', "version: latest");
    broken = mutate(broken, "environment: production", "environment: prod");
    const { sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "float", title: "Float the model", files: { [TRIAGE]: broken } });
    const [run, ...others] = charterRuns(fx, sha);
    expect(others).toEqual([]);
    expect(run?.conclusion).toBe("failure");
    // A schema error in one field does not hide a lint finding in another: both are annotated.
    expect(run?.output.annotations).toEqual([
      expect.objectContaining({
        path: TRIAGE,
        start_line: lineOf(broken, "environment:").line,
        end_line: lineOf(broken, "environment:").line,
        start_column: 14,
        annotation_level: "failure",
        title: "Charter schema/enum",
      }),
      expect.objectContaining({ path: TRIAGE, start_line: lineOf(broken, "version: latest").line, start_column: 12, title: "Charter model/unpinned" }),
    ]);
    expect(run?.output.summary).toContain("schema/enum");
    expect(fx.sim.rejected).toEqual([]);
  });

  it("annotates every problem when there are more than GitHub takes in one request", async () => {
    fx = await startCharter(AGENTS);
    const count = 2 * ANNOTATIONS_PER_REQUEST + 7;
    // Split over two tools: the schema allows at most 100 permissions per tool.
    const bad = (from: number, to: number): string =>
      Array.from({ length: to - from }, (_, i) => `      - postgres:select:crm.public.t${from + i}.extra@crm-prod`).join("\n");
    const half = Math.floor(count / 2);
    let broken = mutate(TRIAGE_TEXT, "      - postgres:select:crm.public.orders@crm-prod", bad(0, half));
    broken = mutate(broken, "      - postgres:update:helpdesk.public.tickets@helpdesk-prod", bad(half, count));
    fx.sim.resetCalls();
    const { sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "many", title: "Many problems", files: { [TRIAGE]: broken } });
    const [run] = charterRuns(fx, sha);
    expect(run?.output.annotations, JSON.stringify(run?.output.annotations.slice(0, 2))).toHaveLength(count);
    const lines = run?.output.annotations.map((a) => a.start_line) ?? [];
    expect(new Set(lines).size).toBe(count);
    expect(lines[0]).toBe(lineOf(broken, "crm.public.t0.extra").line);
    expect(fx.sim.calls["checks/create"]).toBe(1);
    expect(fx.sim.calls["checks/update"]).toBe(2);
    expect(fx.sim.rejected).toEqual([]);
  });

  it("moves from failure to waiting for approval when the fix is pushed", async () => {
    fx = await startCharter(AGENTS);
    const broken = mutate(TRIAGE_TEXT, "maxLifetime: 1h", "maxLifetime: 30d");
    const opened = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "lifetime", title: "Longer credentials", files: { [TRIAGE]: broken } });
    expect(charterRuns(fx, opened.sha)[0]?.conclusion).toBe("failure");
    const fixed = await fx.sim.pushToPullRequest(opened.pull, { [TRIAGE]: mutate(TRIAGE_TEXT, "maxLifetime: 1h", "maxLifetime: 2h") });
    expect(charterRuns(fx, fixed.sha)).toEqual([expect.objectContaining({ conclusion: "action_required" })]);
  });

  it("reports new, retired and deleted agents", async () => {
    fx = await startCharter(AGENTS);
    const retired = mutate(
      mutate(AGENTS["agents/code-review/agent.yaml"] ?? "", "status: active", "status: retired"),
      "contact:",
      'retirement:\n  date: "2026-11-01"\n  reason: Replaced by the platform team review bot.\ncontact:',
    ).replace(/permissions:\n( {6}- .*\n)+/g, "permissions: []\n");
    const added = mutate(TRIAGE_TEXT, "id: support-triage", "id: support-triage-eu");
    const { sha } = await fx.sim.openPullRequest(fx.repo, {
      author: "bob",
      branch: "lifecycle",
      title: "Agent lifecycle",
      files: {
        "agents/code-review/agent.yaml": retired,
        "agents/support-triage-eu/agent.yaml": added,
        "agents/support-triage-eu/prompts/system.md": AGENTS["agents/support-triage/prompts/system.md"] ?? "",
        "agents/support-triage-eu/prompts/categories.md": AGENTS["agents/support-triage/prompts/categories.md"] ?? "",
        "agents/legacy-refund-bot/agent.yaml": null,
        "agents/legacy-refund-bot/prompts/system.md": null,
      },
    });
    const [run] = charterRuns(fx, sha);
    expect(run?.output.annotations).toEqual([]);
    expect(run?.conclusion).toBe("action_required");
    const summary = run?.output.summary ?? "";
    expect(summary).toContain("| `code-review` | agent-retired | medium |");
    expect(summary).toContain("| `support-triage-eu` | agent-created | high |");
    expect(summary).toContain("| `legacy-refund-bot` | agent-deleted | medium |");
  });

  it("gives a pull request that touches no agent a quick success", async () => {
    fx = await startCharter({ ...AGENTS, "README.md": "# agents\n" });
    fx.sim.resetCalls();
    const { sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "docs", title: "Docs", files: { "README.md": "# Our agents\n" } });
    expect(charterRuns(fx, sha)).toEqual([expect.objectContaining({ conclusion: "success" })]);
    expect(charterRuns(fx, sha)[0]?.output.title).toBe("No agent changes");
    expect(fx.sim.calls["graphql"] ?? 0).toBe(0);
  });

  it("re-runs on request, updating the same check run without duplicating annotations", async () => {
    fx = await startCharter(AGENTS);
    const broken = mutate(TRIAGE_TEXT, "maxLifetime: 1h", "maxLifetime: 30d");
    const { sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "rerun", title: "Rerun", files: { [TRIAGE]: broken } });
    const [first] = charterRuns(fx, sha);
    if (!first) throw new Error("no check run");
    const delivery = await fx.sim.rerequestCheckRun(first.id, { by: "bob" });
    expect(delivery.status).toBe(200);
    const runs = charterRuns(fx, sha);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.id).toBe(first.id);
    expect(runs[0]?.output.annotations).toHaveLength(1);
    expect(fx.sim.rejected).toEqual([]);
  });

  it("handles a redelivered webhook once", async () => {
    fx = await startCharter(AGENTS);
    const { sha, delivery } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "redeliver", title: "Redeliver", files: { [TRIAGE]: mutate(TRIAGE_TEXT, "maxLifetime: 1h", "maxLifetime: 30d") } });
    fx.sim.resetCalls();
    for (let i = 0; i < 3; i++) expect((await fx.sim.redeliver(delivery.id)).status).toBe(200);
    expect(charterRuns(fx, sha)).toHaveLength(1);
    expect(charterRuns(fx, sha)[0]?.output.annotations).toHaveLength(1);
    expect(fx.sim.calls["checks/create"] ?? 0).toBe(0);
    expect(fx.sim.calls["graphql"] ?? 0).toBe(0);
  });

  it("refuses a webhook with a bad signature", async () => {
    fx = await startCharter(AGENTS);
    const response = await fetch(`${fx.app.url}/api/github/webhooks`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": "forged-1", "x-hub-signature-256": "sha256=" + "0".repeat(64) },
      body: JSON.stringify({ action: "opened" }),
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(fx.sim.calls["checks/create"] ?? 0).toBe(0);
  });
});

describe("the Charter check run, at GitHub's edges", () => {
  it("fails closed on a pull request with more files than GitHub lists", async () => {
    fx = await startCharter(AGENTS);
    const files: Record<string, string> = {};
    for (let i = 0; i < 3_001; i++) files[`generated/file-${i}.txt`] = `${i}\n`;
    files[TRIAGE] = mutate(TRIAGE_TEXT, "maxLifetime: 1h", "maxLifetime: 30d");
    fx.sim.resetCalls();
    const { sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "huge", title: "Huge", files });
    const [run] = charterRuns(fx, sha);
    expect(run?.conclusion).toBe("failure");
    expect(run?.output.title).toBe("Charter cannot check this pull request");
    expect(run?.output.summary).toContain("changes 3002 files; GitHub lists at most 3000");
    // It does not page through files it could not see all of anyway.
    expect(fx.sim.calls["pulls/list-files"] ?? 0).toBe(0);
    expect(fx.sim.rejected).toEqual([]);
  });

  it("re-runs the whole suite on request", async () => {
    fx = await startCharter(AGENTS);
    const { sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "suite", title: "Suite", files: { [TRIAGE]: mutate(TRIAGE_TEXT, "maxLifetime: 1h", "maxLifetime: 2h") } });
    const [first] = charterRuns(fx, sha);
    if (!first) throw new Error("no check run");
    fx.sim.resetCalls();
    const delivery = await fx.sim.rerequestCheckSuite(first.suite.id, { by: "bob" });
    expect(delivery.status).toBe(200);
    expect(fx.sim.calls["pulls/get"]).toBe(1);
    expect(charterRuns(fx, sha)).toEqual([expect.objectContaining({ id: first.id, conclusion: "action_required" })]);
    expect(fx.sim.rejected).toEqual([]);
  });

  it("works against GitHub Enterprise Server through the API base URL", async () => {
    const urls: string[] = [];
    fx = await startCharter(AGENTS, { baseUrl: "https://ghe.acme.example/api/v3", observe: ({ url }) => urls.push(url) });
    const { sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "ghes", title: "GHES", files: { [TRIAGE]: mutate(TRIAGE_TEXT, "maxLifetime: 1h", "maxLifetime: 30d") } });
    expect(charterRuns(fx, sha)).toEqual([expect.objectContaining({ conclusion: "failure" })]);
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.every((u) => u.startsWith("https://ghe.acme.example/api/"))).toBe(true);
    expect(urls).toContain("https://ghe.acme.example/api/graphql");
    expect(fx.sim.rejected).toEqual([]);
  });
});

describe("the Charter check run when GitHub fails", () => {
  it("leaves a failing check that says to re-run, and the re-run succeeds", async () => {
    fx = await startCharter(AGENTS);
    fx.sim.faults.inject({ kind: "server-error", status: 502 }, { operation: "graphql", count: 1 });
    const { sha, delivery } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "outage", title: "Outage", files: { [TRIAGE]: mutate(TRIAGE_TEXT, "maxLifetime: 1h", "maxLifetime: 2h") } });
    expect(delivery.status).toBeGreaterThanOrEqual(500);
    const [failed] = charterRuns(fx, sha);
    expect(failed?.conclusion).toBe("failure");
    expect(failed?.output.summary).toContain("Charter could not finish checking this pull request: GitHub answered HTTP 502");
    if (!failed) throw new Error("no check run");
    expect((await fx.sim.rerequestCheckRun(failed.id, { by: "bob" })).status).toBe(200);
    expect(charterRuns(fx, sha)).toEqual([expect.objectContaining({ id: failed.id, conclusion: "action_required" })]);
    expect(fx.sim.rejected).toEqual([]);
  });
});
