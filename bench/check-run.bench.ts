import type { ApplicationFunction } from "probot";
import { performance } from "node:perf_hooks";
import { affectedAgentDirectories, manifestCandidates } from "../src/change/affected-agents.js";
import { createCharterApp } from "../src/github/app.js";
import { DEFAULT_LIMITS } from "../src/manifest/limits.js";
import type { RepoEntry, RepoReader } from "../src/manifest/repo-reader.js";
import { validateManifests } from "../src/manifest/validate.js";
import { GitHubSimulator, startApp } from "../test/github-sim/index.js";
import { median, report, round, time } from "./measure.js";
import { loadTemplates, syntheticAgent } from "./seed-repository.js";

const AGENTS = Number(process.env["CHARTER_BENCH_AGENTS"] ?? 10_000);

/** Files of a repository in memory, read the way the core reads them: the baseline's reader. */
class MemoryReader implements RepoReader {
  constructor(private readonly files: ReadonlyMap<string, string>) {}
  read(paths: readonly string[]): Promise<ReadonlyMap<string, RepoEntry>> {
    const out = new Map<string, RepoEntry>();
    for (const p of paths) {
      const text = this.files.get(p);
      out.set(p, text === undefined ? { kind: "missing" } : { kind: "file", bytes: new TextEncoder().encode(text) });
    }
    return Promise.resolve(out);
  }
}

/**
 * Time from a pull_request webhook reaching the app to the app's request creating the check run,
 * for a typical pull request (3 manifests) and a large one (1,000 manifests) in a repository of
 * 10,000 agents, with the simulator adding no latency. Baseline, same run: the core validation of
 * the same files at base and head, in memory. Also: GitHub API requests per pull request.
 */
export async function run(): Promise<void> {
  const templates = loadTemplates();
  const files = new Map<string, string>();
  for (let i = 0; i < AGENTS; i++) for (const [path, text] of syntheticAgent(templates, i).files) files.set(path, text);

  const sim = await GitHubSimulator.create();
  const marks = { receivedAt: 0, checkAt: 0 };
  const observe = ({ method, url }: { method: string; url: string }): void => {
    if (method === "POST" && url.endsWith("/check-runs") && marks.checkAt === 0) marks.checkAt = performance.now();
  };
  const charter = createCharterApp({ appId: sim.appId, scheduleIntervalMs: 0 });
  // Registered before Charter's own handlers, so it runs first when a delivery arrives.
  const appFn: ApplicationFunction = async (app, options) => {
    app.on("pull_request.opened", () => {
      marks.receivedAt = performance.now();
    });
    await charter(app, options);
  };

  try {
    sim.addOrganization("acme");
    const repo = await sim.createRepository({ owner: "acme", name: "agents", files: Object.fromEntries(files) });
    const app = await startApp(sim, appFn, { observe });
    const manifests = [...files.keys()].filter((p) => p.endsWith("/agent.yaml"));
    let branch = 0;

    const measure = async (name: string, size: number, rounds: number): Promise<void> => {
      const latencies: number[] = [];
      const baselines: number[] = [];
      let calls: Record<string, number> = {};
      for (let r = 0; r < rounds; r++) {
        const changed = manifests.slice(r * size, (r + 1) * size);
        const edits: Record<string, string> = {};
        for (const path of changed) edits[path] = (files.get(path) ?? "").replace("purpose: >", `purpose: >\n  Revision ${r}.`);
        sim.resetCalls();
        marks.receivedAt = 0;
        marks.checkAt = 0;
        const { sha, delivery } = await sim.openPullRequest(repo, { author: "bob", branch: `bench-${branch++}`, title: name, body: "## Rollback plan\nRevert.\n", files: edits });
        // Probot answers 202 when handling outlasts GitHub's patience; the work goes on.
        if (delivery.status !== 200 && delivery.status !== 202) throw new Error(`${name}: webhook answered ${String(delivery.status)}`);
        const checkRun = await waitFor(() => sim.checkRunsFor(repo, sha)[0]);
        // The full path ran: valid manifests, classified, judged by the default policy, which
        // waits for the owners' approval.
        if (checkRun.conclusion !== "action_required") throw new Error(`${name}: unexpected check run: ${checkRun.conclusion ?? "none"} ${checkRun.output.title ?? ""}`);
        if (sim.rejected.length > 0) throw new Error(`${name}: ${sim.rejected.length} requests rejected`);
        latencies.push(marks.checkAt - marks.receivedAt);
        calls = { ...sim.calls };

        // Baseline: validating the same agents at base and head with the core alone.
        const head = new Map(files);
        for (const [p, t] of Object.entries(edits)) head.set(p, t);
        const dirs = affectedAgentDirectories(changed);
        const candidates = dirs.flatMap(manifestCandidates).filter((p) => files.has(p));
        baselines.push(
          await time(() =>
            Promise.all([validateManifests(candidates, new MemoryReader(head), DEFAULT_LIMITS), validateManifests(candidates, new MemoryReader(files), DEFAULT_LIMITS)]),
          ),
        );
      }
      const latency = median(latencies);
      const baseline = median(baselines);
      report({
        bench: `check-run/${name}`,
        repository_agents: AGENTS,
        manifests_changed: size,
        webhook_to_check_run_ms: round(latency),
        baseline: "core validation of the same files at base and head, in memory",
        baseline_ms: round(baseline),
        ratio: round(latency / baseline, 2),
        api_calls: Object.values(calls).reduce((a, b) => a + b, 0),
        api_calls_by_operation: calls,
        rounds,
      });
    };

    // Warm up: the first delivery also fetches the installation token.
    await sim.openPullRequest(repo, { author: "bob", branch: "warm-up", title: "warm up", files: { "README.md": "# warm\n" } });
    await measure("typical", 3, 5);
    // Rounds take disjoint agents, so a small repository (the test smoke run) scales the large case down.
    await measure("large", Math.min(1_000, Math.floor(AGENTS / 2)), 2);
    await app.close();
  } finally {
    await sim.close();
  }
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 600_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting for the check run");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
