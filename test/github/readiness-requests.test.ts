import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { appendToLedger, CHECKPOINT_PATH, checkpointFor, EMPTY_LEDGER, PUBLIC_KEY_PATH } from "../../src/evidence/ledger.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { formatTip, TIP_PATH } from "../../src/evidence/tip-file.js";
import { createCharterApp } from "../../src/github/app.js";
import { EVIDENCE_BRANCH } from "../../src/github/merge/evidence-writer.js";
import { auditIndexOpener } from "../../src/github/scheduled/access-review-run.js";
import { READINESS_DEFAULTS, runReadiness } from "../../src/github/scheduled/readiness-run.js";
import { openTrailRuntime, type TrailRuntime } from "../../src/github/trail/trail-runtime.js";
import type { ReadinessRecord } from "../../src/schema-types/evidence-record.generated.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import type { DecidedEvent } from "../../src/trail/decide.js";
import { series } from "../detect/trail-events.js";
import { appendChanges, genesisBody, observedAt } from "../evidence/ledger-fixture.js";
import { ledger } from "../faults/fault-fixture.js";
import { GitHubSimulator, startApp, type StartedApp } from "../github-sim/index.js";
import { tempRepo } from "../helpers/temp-repo.js";

/**
 * The scheduled readiness record's GitHub requests, at two ledger sizes: the record for the trail
 * repository verifies the trail against every anchor on the evidence branch, and those come from
 * the audit index the run brings up to date (reading only the records appended since the last
 * run), not from reading every record through GraphQL again. An installation has 5,000 requests
 * an hour, so what one record costs must not grow with the ledger.
 */
const KEYS = generateSignerKey("charter-test-readiness-requests");
const DAY = 86_400_000;
const PERIOD_SECONDS = 7 * 86_400;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A signed ledger of a genesis record and `changes` change records (merged long before the period), pushed as the evidence branch. */
function seedLedger(bareRepo: string, changes: number): void {
  const genesis = appendToLedger(EMPTY_LEDGER, { kind: "genesis", body: genesisBody(KEYS.verifierKey), observedAt: observedAt(0) }, { signerKey: KEYS.signerKey });
  const appended = appendChanges(genesis.tip, 1, changes);
  const tip = appended.at(-1)?.tip ?? genesis.tip;
  const repo = tempRepo({});
  try {
    repo.git("checkout", "-q", "--orphan", EVIDENCE_BRANCH);
    const files: Record<string, Uint8Array | string> = {
      [genesis.path]: genesis.bytes,
      [CHECKPOINT_PATH]: checkpointFor(tip, [KEYS.signerKey]),
      [PUBLIC_KEY_PATH]: `${KEYS.verifierKey}\n`,
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

interface Measured {
  /** Requests of the second readiness record, by route, and in all. */
  readonly calls: Record<string, number>;
  readonly total: number;
  readonly record: ReadinessRecord;
  readonly anchors: number;
}

/**
 * A ledger of `changes` change records, then the app's own trail anchored on it twice (by the
 * trail runtime's round, as the app does), then two readiness records a period apart: the first
 * builds the audit index, the second is counted.
 */
async function secondRecord(changes: number): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), "charter-readiness-requests-"));
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const sim = await GitHubSimulator.create();
  cleanups.push(() => sim.close());
  sim.addOrganization("acme");
  const repo = await sim.createRepository({ owner: "acme", name: "agents", files: { "README.md": "# agents\n" } });
  seedLedger(sim.repoPath(repo), changes);

  const db = join(dir, "trail.sqlite");
  const since = new Date(Date.now() - DAY).toISOString();
  const events = (start: string, prefix: string): DecidedEvent[] => series(4, start, 1000).map(({ seq: _seq, hash: _hash, ...rest }, i) => ({ ...rest, id: `${prefix}-${i}`, sourceKey: `${prefix}-${i}` }));
  const seeded = openSqliteTrail(db);
  expect((await seeded.append(events(since, "first"))).stored).toHaveLength(4);
  await seeded.close();
  // Every round seals and anchors: no interval has to pass between the two rounds below.
  const trail = (await openTrailRuntime({ CHARTER_TRAIL_DB: db, CHARTER_TRAIL_REPOSITORY: "acme/agents", CHARTER_DETECTION: "off", CHARTER_TRAIL_REFRESH_INTERVAL: "1h", CHARTER_TRAIL_SEAL_INTERVAL: "1s", CHARTER_TRAIL_ANCHOR_INTERVAL: "1s" })) as TrailRuntime;
  cleanups.push(() => trail.close());

  const app: StartedApp = await startApp(sim, createCharterApp({ appId: sim.appId, scheduleIntervalMs: 0 }), {});
  cleanups.push(() => app.close());
  const octokit = await app.probot.auth(sim.installationOf(repo).id);
  const identity = { owner: "acme", repo: "agents", repositoryId: String(repo.id), repositoryUrl: `https://github.com/acme/agents` };
  const log = (): void => undefined;
  await trail.tick(octokit, identity, KEYS.signerKey, log);
  const more = await trail.store.append(events(new Date(Date.parse(since) + 60_000).toISOString(), "second"));
  expect(more.stored).toHaveLength(4);
  // The intervals are a second long, measured on the wall clock.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await trail.tick(octokit, identity, KEYS.signerKey, log);
  const anchors = ledger(sim, repo).filter((r) => r.kind === "trail-anchor").length;

  const target = { owner: "acme", repo: "agents", repositoryId: String(repo.id), signerKey: KEYS.signerKey };
  const options = (now: number) => ({
    openIndex: auditIndexOpener({ CHARTER_AUDIT_DIR: join(dir, "audit") }),
    now: () => new Date(now),
    periodSeconds: PERIOD_SECONDS,
    trail: { store: trail.store, repository: trail.repository, detection: null, intervals: trail.intervals },
    queryBudgetMs: READINESS_DEFAULTS.queryBudgetMs,
    respondWithinMs: READINESS_DEFAULTS.respondWithinMs,
    retroDays: READINESS_DEFAULTS.retroDays,
  });
  const now = Date.now();
  expect((await runReadiness(octokit, target, options(now)))?.status).toBe("appended");
  sim.resetCalls();
  expect((await runReadiness(octokit, target, options(now + PERIOD_SECONDS * 1000 + DAY)))?.status).toBe("appended");
  const calls = { ...sim.calls };
  const record = ledger(sim, repo).filter((r): r is ReadinessRecord => r.kind === "readiness").at(-1);
  if (record === undefined) throw new Error("no readiness record was written");
  return { calls, total: Object.values(calls).reduce((a, b) => a + b, 0), record, anchors };
}

describe("the scheduled readiness record's GitHub requests", () => {
  it("are the same for a ledger of 10 and of 1,200 records, and the trail still verifies against every anchor", async () => {
    const small = await secondRecord(10);
    const large = await secondRecord(1_200);
    expect(small.record.seq).toBeLessThan(20);
    expect(large.record.seq).toBeGreaterThan(1_200);
    for (const m of [small, large]) {
      // Two anchors, each found and checked: all eight events are sealed and anchored.
      expect(m.anchors).toBe(2);
      expect(m.record.body.facts.trail?.verification).toMatchObject({ ok: true, events: 8, sealedThrough: 8, anchoredThrough: 8, problems: [] });
      expect(m.record.body.items.find((i) => i.id === "integrity")?.status).toBe("pass");
    }
    // Reading every record of the larger ledger again, a hundred per query, would take 12 more.
    expect(large.calls).toEqual(small.calls);
  }, 300_000);
});
