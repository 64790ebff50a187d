// Two replicas of the app sharing one PostgreSQL job queue, each running its own schedule: the
// scheduled work (drift detection, access review, reconciliation) runs once per interval between
// them, not once per replica.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Logger } from "graphile-worker";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DriftRecord } from "../../src/schema-types/evidence-record.generated.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { createCharterApp } from "../../src/github/app.js";
import type { KnownRepository, RepositorySchedule } from "../../src/github/scheduled/schedule.js";
import { PostgresJobQueue } from "../../src/jobs/postgres-queue.js";
import { identityRoleName, roleNames } from "../../src/providers/postgres/index.js";
import { GitHubSimulator, startApp, type StartedApp } from "../github-sim/index.js";
import type { Issue } from "../github-sim/state.js";
import { ledger } from "../helpers/evidence-branch.js";
import { agentFiles, mutate, VALID_MANIFEST } from "../helpers/manifests.js";
import { waitFor } from "../jobs/wait-for.js";
import { type Cluster, PROVISIONER, startCluster } from "../providers/postgres/fixture.js";

const KEYS = generateSignerKey("charter-test-schedule-replicas");
const POLICY = `version: 1
rules:
  - name: Owners approve agent changes
    require: { approvals: 1, from: { owners: true } }
provisioning:
  driftInterval: 1h
  providers:
    postgres:
      - instance: shop-prod
        databases: [shop]
`;
const AGENT = mutate(VALID_MANIFEST, "  - user: alice\n  - team: acme/support\n", "  - user: alice\n");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const quiet = new Logger(() => () => undefined);

interface Replica {
  readonly queue: PostgresJobQueue;
  readonly app: StartedApp;
  readonly schedule: RepositorySchedule;
  readonly auditDir: string;
}

let cluster: Cluster;
let queueUrl: string;

beforeAll(async () => {
  cluster = await startCluster({ shop: "CREATE TABLE orders (id int); CREATE TABLE refunds (id int);" }, ["postgres:select:shop.public.orders@shop-prod"]);
  // The job queue shares the provider's server, in a database of its own.
  await cluster.sql("postgres", "CREATE DATABASE charter_queue");
  queueUrl = cluster.server.urlFor("charter_queue");
}, 120_000);
afterAll(async () => {
  await cluster.stop();
});

async function scheduleRows(): Promise<{ key: string; next_due_ms: string; token: string | null }[]> {
  const client = new pg.Client({ connectionString: queueUrl });
  await client.connect();
  try {
    return (await client.query<{ key: string; next_due_ms: string; token: string | null }>(`SELECT key, next_due_ms, token FROM charter_jobs.charter_schedule ORDER BY key`)).rows;
  } finally {
    await client.end();
  }
}

describe("scheduled work with two replicas sharing a PostgreSQL job queue", () => {
  it("runs drift detection and the access review once per interval between the replicas", async () => {
    const sim = await GitHubSimulator.create();
    sim.addOrganization("acme");
    const repo = await sim.createRepository({ owner: "acme", name: "agents", files: { "README.md": "# agents\n", ".github/charter.yml": POLICY } });
    let now = new Date("2026-11-27T10:00:00Z");
    // The local provider's registry (every agent gets a local identity) is one file on the replicas' one host.
    const localDir = mkdtempSync(join(tmpdir(), "charter-replicas-local-"));
    const environment = { CHARTER_LOCAL_DB: join(localDir, "local.sqlite"), CHARTER_POSTGRES_URL_SHOP_PROD: cluster.server.urlFor("postgres", PROVISIONER, cluster.provisionerPassword) };
    const replicas: Replica[] = [];
    try {
      for (const name of ["a", "b"]) {
        const auditDir = mkdtempSync(join(tmpdir(), `charter-replica-${name}-`));
        const queue = new PostgresJobQueue({ connectionString: queueUrl, logger: quiet, pollIntervalMs: 50, heartbeatMs: 200, backoff: { baseMs: 20, capMs: 200 } });
        let schedule: RepositorySchedule | undefined;
        // Each replica keeps its audit index in its own directory, so the directories say which replica ran the access review.
        const app = await startApp(
          sim,
          createCharterApp({ appId: sim.appId, signingKey: KEYS.signerKey, environment: { ...environment, CHARTER_AUDIT_DIR: auditDir }, scheduleIntervalMs: 0, now: () => now, onSchedule: (s) => (schedule = s), jobs: queue }),
        );
        if (!schedule) throw new Error(`replica ${name} did not hand over its schedule`);
        replicas.push({ queue, app, schedule, auditDir });
      }
      // Webhooks go to the replica started last; jobs are taken by both.
      const { pull } = await sim.openPullRequest(repo, { author: "bob", branch: "create", title: "create", body: "## Rollback plan\nRevert.\n", files: agentFiles("sample-agent", AGENT) });
      await sim.submitReview(pull, { user: "alice", state: "APPROVED" });
      await sim.mergePullRequest(pull, { by: "alice" });
      await sim.idle();
      await waitFor(() => ledger(sim, repo).some((r) => r.kind === "provisioning"), "the merge recorded and provisioned", 60_000);

      // Both replicas know the repository (at start they list every installation's repositories).
      const known: KnownRepository = { owner: "acme", repo: "agents", repositoryId: String(repo.id), installationId: sim.installationOf(repo).id, repositoryUrl: `https://github.com/${repo.fullName}` };
      for (const r of replicas) r.schedule.note(known);
      const tickBoth = async (): Promise<void> => {
        await Promise.all(replicas.map((r) => r.schedule.tick()));
      };
      const driftIssues = (): Issue[] => [...sim.core.state.issues.values()].filter((i) => i.labels.includes("charter-drift"));
      const driftRecords = (): DriftRecord[] => ledger(sim, repo).filter((r): r is DriftRecord => r.kind === "drift");
      const stillPresent = (issue: Issue): number => sim.commentsOn(issue).filter((c) => c.body.startsWith("Drift is still present")).length;
      const indexed = (): boolean[] => replicas.map((r) => existsSync(join(r.auditDir, `${String(repo.id)}.sqlite`)));

      await tickBoth();
      expect(driftIssues()).toEqual([]);
      // The access review and the readiness record ran once between the replicas: one record each
      // (the audit index is built by both tasks, which may have run on different replicas).
      expect(indexed().filter(Boolean).length).toBeGreaterThanOrEqual(1);
      expect(ledger(sim, repo).filter((r) => r.kind === "access-review")).toHaveLength(1);
      expect(ledger(sim, repo).filter((r) => r.kind === "readiness")).toHaveLength(1);
      const start = Date.parse("2026-11-27T10:00:00Z");
      expect(await scheduleRows()).toEqual([
        { key: `access-review:${String(repo.id)}`, next_due_ms: String(start + 30 * DAY), token: null },
        { key: `drift:${String(repo.id)}`, next_due_ms: String(start + HOUR), token: null },
        { key: `readiness:${String(repo.id)}`, next_due_ms: String(start + 7 * DAY), token: null },
        { key: `reconcile:${String(repo.id)}`, next_due_ms: String(start + 10 * 60_000), token: null },
      ]);

      // A grant made by hand: at the next interval one issue is opened, not one per replica.
      const role = identityRoleName(roleNames(), "sample-agent");
      await cluster.sql("shop", `GRANT SELECT ON refunds TO ${pg.escapeIdentifier(role)}`);
      now = new Date("2026-11-27T11:00:00Z");
      await tickBoth();
      const [issue, ...more] = driftIssues();
      expect(more).toEqual([]);
      if (!issue) throw new Error("no drift issue was opened");
      expect(driftRecords()).toHaveLength(1);
      expect(stillPresent(issue)).toBe(0);

      // The next interval: one comment between the two replicas; ticking again within it adds none.
      now = new Date("2026-11-27T12:00:00Z");
      await tickBoth();
      expect(stillPresent(issue)).toBe(1);
      now = new Date("2026-11-27T12:30:00Z");
      await tickBoth();
      await tickBoth();
      expect(stillPresent(issue)).toBe(1);

      // Past the interval it runs once again.
      now = new Date("2026-11-27T13:00:01Z");
      await tickBoth();
      expect(stillPresent(issue)).toBe(2);
      expect(driftIssues()).toHaveLength(1);
      // The same findings the same day are recorded once.
      expect(driftRecords()).toHaveLength(1);
      // The access review is not due again for 30 days, the readiness record for 7: still one each.
      expect(ledger(sim, repo).filter((r) => r.kind === "access-review")).toHaveLength(1);
      expect(ledger(sim, repo).filter((r) => r.kind === "readiness")).toHaveLength(1);

      // A period later the access review is due again, and runs once.
      now = new Date(start + 30 * DAY);
      await tickBoth();
      expect(ledger(sim, repo).filter((r) => r.kind === "access-review")).toHaveLength(2);
      // The readiness record, overdue since day 7, runs once now too (not once per missed interval).
      expect(ledger(sim, repo).filter((r) => r.kind === "readiness")).toHaveLength(2);
      expect((await scheduleRows()).find((row) => row.key.startsWith("access-review:"))).toEqual({ key: `access-review:${String(repo.id)}`, next_due_ms: String(start + 60 * DAY), token: null });
      expect(stillPresent(issue)).toBe(3);
      expect(sim.rejected).toEqual([]);
    } finally {
      // Workers stop before the simulator they talk to goes away.
      for (const r of replicas) await r.queue.stop();
      for (const r of replicas) await r.app.close();
      await sim.close();
      rmSync(localDir, { recursive: true, force: true });
      for (const r of replicas) {
        await r.queue.close();
        rmSync(r.auditDir, { recursive: true, force: true });
      }
    }
  }, 120_000);
});
