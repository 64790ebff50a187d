import { appendToLedger, CHECKPOINT_PATH, checkpointFor, EMPTY_LEDGER, PUBLIC_KEY_PATH } from "../src/evidence/ledger.js";
import { formatTip, TIP_PATH } from "../src/evidence/tip-file.js";
import { appendChangeRecord, EVIDENCE_BRANCH } from "../src/github/merge/evidence-writer.js";
import { createCharterApp } from "../src/github/app.js";
import { generateSignerKey } from "../src/evidence/signed-note.js";
import { GitHubSimulator, startApp } from "../test/github-sim/index.js";
import { appendChanges, changeBody, genesisBody, observedAt } from "../test/evidence/ledger-fixture.js";
import { tempRepo } from "../test/helpers/temp-repo.js";
import { median, report, round, time } from "./measure.js";

const LARGE = Number(process.env["CHARTER_BENCH_LEDGER"] ?? 10_000);
const APPENDS = Number(process.env["CHARTER_BENCH_APPENDS"] ?? 20);

/**
 * GitHub API requests and time per evidence append, on a fresh ledger (the baseline) and on one
 * already holding LARGE records, in the same run against the simulator. The claim under test:
 * an append reads the tip, its marker and the pages it rewrites, never the log, so requests per
 * append stay flat (ratio 1) however long the log grows.
 */
export async function run(): Promise<void> {
  const keys = generateSignerKey("charter-bench-append");
  const sim = await GitHubSimulator.create();
  try {
    sim.addOrganization("acme");
    const fresh = await sim.createRepository({ owner: "acme", name: "fresh", files: { "README.md": "# fresh\n" } });
    const large = await sim.createRepository({ owner: "acme", name: "large", files: { "README.md": "# large\n" } });
    seedLedger(sim.repoPath(large), keys, LARGE);
    const app = await startApp(sim, createCharterApp({ appId: sim.appId, scheduleIntervalMs: 0 }), {});
    try {
      const measure = async (repo: typeof fresh, from: number): Promise<{ requests: number; ms: number }> => {
        const octokit = await app.probot.auth(sim.installationOf(repo).id);
        const target = { owner: "acme", repo: repo.name, repositoryId: String(repo.id), signerKey: keys.signerKey };
        // The first append on a fresh repository creates the branch; both sides start measuring after it.
        await appendChangeRecord(octokit, target, changeBody(from), [], () => observedAt(from));
        const requests: number[] = [];
        const times: number[] = [];
        for (let i = 1; i <= APPENDS; i++) {
          let outcome: Awaited<ReturnType<typeof appendChangeRecord>> | undefined;
          times.push(await time(async () => (outcome = await appendChangeRecord(octokit, target, changeBody(from + i), [], () => observedAt(from + i)))));
          requests.push(outcome?.requests ?? Number.NaN);
        }
        return { requests: median(requests), ms: median(times) };
      };
      const small = await measure(fresh, 1);
      const big = await measure(large, LARGE + 1);
      report({
        bench: "evidence-append",
        appends: APPENDS,
        ledgerRecords: LARGE,
        requestsPerAppend: big.requests,
        baselineRequestsPerAppend: small.requests,
        requestsRatio: round(big.requests / small.requests, 3),
        msPerAppend: round(big.ms),
        baselineMsPerAppend: round(small.ms),
        timeRatio: round(big.ms / small.ms, 3),
      });
    } finally {
      await app.close();
    }
  } finally {
    await sim.close();
  }
}

/** Writes a signed ledger of `changes` records straight into the simulated repository's evidence branch. */
function seedLedger(bareRepo: string, keys: { signerKey: string; verifierKey: string }, changes: number): void {
  const genesis = appendToLedger(EMPTY_LEDGER, { kind: "genesis", body: genesisBody(keys.verifierKey), observedAt: observedAt(0) }, { signerKey: keys.signerKey });
  const appended = appendChanges(genesis.tip, 1, changes);
  const tip = appended.at(-1)?.tip ?? genesis.tip;
  const repo = tempRepo({});
  try {
    repo.git("checkout", "-q", "--orphan", EVIDENCE_BRANCH);
    const files: Record<string, Uint8Array | string> = {
      [genesis.path]: genesis.bytes,
      [CHECKPOINT_PATH]: checkpointFor(tip, [keys.signerKey]),
      [PUBLIC_KEY_PATH]: `${keys.verifierKey}\n`,
      [TIP_PATH]: formatTip(tip),
    };
    for (const r of appended) files[r.path] = r.bytes;
    repo.write(files);
    repo.commitAll("seed evidence");
    repo.git("push", "-q", bareRepo, `${EVIDENCE_BRANCH}:${EVIDENCE_BRANCH}`);
  } finally {
    repo.remove();
  }
}
