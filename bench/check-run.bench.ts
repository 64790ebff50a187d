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
/** Operations that write to GitHub (counted apart from reads: the bound is on reads). */
const CREATING = /(^|\/)(create|update|delete|merge)(-|$)/;

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
 * the same files at base and head, in memory. Three sizes (3, 100 and 1,000 changed manifests) so
 * growth shows, three samples each (min and median). The simulator runs in this process, so the
 * time it spends answering is reported apart: charter_share_ms is the latency without it. Also:
 * GitHub API requests per pull request, reads apart from content-creating ones, against the
 * bound of 6 + ceil(changed / 100) reads.
 */
export async function run(): Promise<void> {
  const templates = loadTemplates();
  const files = new Map<string, string>();
  for (let i = 0; i < AGENTS; i++) for (const [path, text] of syntheticAgent(templates, i).files) files.set(path, text);

  const sim = await GitHubSimulator.create();
  const marks = { receivedAt: 0, checkAt: 0, busyAtReceived: 0, busyAtCheck: 0 };
  const observe = ({ method, url }: { method: string; url: string }): void => {
    if (method === "POST" && url.endsWith("/check-runs") && marks.checkAt === 0) {
      marks.checkAt = performance.now();
      marks.busyAtCheck = sim.busyMs;
    }
  };
  const charter = createCharterApp({ appId: sim.appId, scheduleIntervalMs: 0 });
  // Registered before Charter's own handlers, so it runs first when a delivery arrives.
  const appFn: ApplicationFunction = async (app, options) => {
    app.on("pull_request.opened", () => {
      marks.receivedAt = performance.now();
      marks.busyAtReceived = sim.busyMs;
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
      const charterShares: number[] = [];
      const baselines: number[] = [];
      let calls: Record<string, number> = {};
      for (let r = 0; r < rounds; r++) {
        const changed = manifests.slice(offset, offset + size);
        offset += size;
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
        const latency = marks.checkAt - marks.receivedAt;
        latencies.push(latency);
        // The simulator answers on the app's own event loop; GitHub would answer elsewhere.
        charterShares.push(latency - (marks.busyAtCheck - marks.busyAtReceived));
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
      const baseline = median(baselines);
      const creating = Object.entries(calls).filter(([operation]) => CREATING.test(operation)).reduce((a, [, n]) => a + n, 0);
      const requests = Object.values(calls).reduce((a, b) => a + b, 0);
      const reads = requests - creating;
      const bound = 6 + Math.ceil(size / 100);
      report({
        bench: `check-run/${name}`,
        repository_agents: AGENTS,
        manifests_changed: size,
        samples: rounds,
        webhook_to_check_run_ms: { min: round(Math.min(...latencies)), median: round(median(latencies)) },
        charter_share_ms: { min: round(Math.min(...charterShares)), median: round(median(charterShares)) },
        baseline: "core validation of the same files at base and head, in memory",
        baseline_ms: { min: round(Math.min(...baselines)), median: round(baseline) },
        ratio: round(median(latencies) / baseline, 2),
        charter_share_ratio: round(median(charterShares) / baseline, 2),
        api_calls: requests,
        api_reads: reads,
        api_content_creating: creating,
        api_reads_bound: bound,
        api_reads_within_bound: reads <= bound,
        api_calls_by_operation: calls,
      });
    };

    // Warm up: the first delivery also fetches the installation token.
    await sim.openPullRequest(repo, { author: "bob", branch: "warm-up", title: "warm up", files: { "README.md": "# warm\n" } });
    // Rounds take disjoint agents; a small repository (the test smoke run) scales the sizes down.
    let offset = 0;
    const share = Math.floor(AGENTS / (3 * 3));
    await measure("typical", Math.min(3, share), 3);
    await measure("medium", Math.min(100, share), 3);
    await measure("large", Math.min(1_000, share), 3);
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
