import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresProvider } from "../../src/providers/postgres/index.js";
import { rememberLeases } from "../../src/sources/open-trail-store.js";
import { PgauditFollower } from "../../src/sources/pgaudit-follower.js";
import { openSqliteTrail, type SqliteTrailStore } from "../../src/sources/sqlite-trail-store.js";
import { TrailContext } from "../../src/sources/trail-context.js";
import { TrailIngestor } from "../../src/sources/trail-ingestor.js";
import { eventFromBytes } from "../../src/trail/event-bytes.js";
import type { TrailEvent } from "../../src/trail/event.js";
import { runCli } from "../cli/run-cli.js";
import { agentTree, tempDir, type TempDir } from "../helpers/provisioning.js";
import { saveEnv } from "../helpers/saved-env.js";
import { tempRepo, type TempRepo } from "../helpers/temp-repo.js";
import { type Cluster, login, PROVISIONER, startCluster } from "../providers/postgres/fixture.js";

/**
 * A real PostgreSQL 15 with pgaudit writing its JSON log, agents provisioned by charter sync
 * through pg, a lease issued through the provider, and the follower reading what the server
 * wrote: every line once, across restarts, rotation and truncation.
 */
const CRM = "CREATE TABLE public.customers (id int PRIMARY KEY, name text); CREATE TABLE public.payments (id int PRIMARY KEY); INSERT INTO customers VALUES (1, 'Ada');";
const TRIAGE = { id: "support-triage", provider: "postgres" as const, permissions: ["postgres:select:crm.public.customers@crm-prod"] };

let cluster: Cluster;
let repo: TempRepo;
let state: TempDir;
let restoreEnv: () => void;
let leaseUrl: string;
let leaseName: string;

beforeAll(async () => {
  cluster = await startCluster({ crm: CRM }, TRIAGE.permissions, { audit: true });
  restoreEnv = saveEnv(["CHARTER_LOCAL_DB", "CHARTER_POSTGRES_URL_CRM_PROD"]);
  state = tempDir();
  repo = tempRepo({ ...agentTree([TRIAGE]), ".github/charter.yml": "version: 1\nprovisioning:\n  providers:\n    local: { enabled: false }\n    postgres:\n      - instance: crm-prod\n        databases: [crm]\n" });
  repo.commitAll("agents");
  process.env["CHARTER_POSTGRES_URL_CRM_PROD"] = cluster.server.urlFor("postgres", PROVISIONER, cluster.provisionerPassword);
  const synced = await runCli(["sync"], repo.root);
  expect(synced.code).toBe(0);
}, 120_000);
afterAll(async () => {
  restoreEnv();
  repo.remove();
  state.remove();
  await cluster.stop();
});

function logDir(): string {
  return cluster.server.logDirectory ?? "";
}

async function all(store: SqliteTrailStore): Promise<TrailEvent[]> {
  return (await store.readChain(1, 100_000)).map((l) => eventFromBytes(l.bytes, l.hash.toString("hex")));
}

/** Waits until the server has flushed a line containing `text` to its current log file. */
async function logged(text: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (readdirSync(logDir()).some((f) => f.endsWith(".json") && readFileSync(join(logDir(), f), "utf8").includes(text))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the server never logged ${text}`);
}

describe("following a PostgreSQL instance's pgaudit JSON log", () => {
  it("attributes a lease login's reads and denials to its agent, records every line once across restarts and rotation", async () => {
    const dir = mkdtempSync(join(tmpdir(), "charter-follow-"));
    const store = openSqliteTrail(join(dir, "trail.sqlite"));
    try {
      const provider = createPostgresProvider({ instance: "crm-prod", connectionString: process.env["CHARTER_POSTGRES_URL_CRM_PROD"] ?? "", onLease: rememberLeases(store) });
      const lease = await provider.issueLease("support-triage", { ttlSeconds: 600, database: "crm" });
      await provider.close();
      leaseUrl = lease.connectionString;
      leaseName = lease.username;
      const context = new TrailContext();
      await context.loadBindings(store);
      const follow = (): { ingestor: TrailIngestor; follower: PgauditFollower } => {
        const ingestor = new TrailIngestor(store, () => context.current());
        return { ingestor, follower: new PgauditFollower(store, ingestor, { instance: "crm-prod", path: logDir() }) };
      };

      const client = await login(leaseUrl);
      await client.query("/*traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'*/ SELECT name FROM customers WHERE id = 1");
      await client.query("SELECT * FROM payments").catch(() => undefined);
      await client.query("SELECT 'marker-1'");
      await logged("marker-1");
      let { follower } = follow();
      await follower.catchUp();
      const first = (await all(store)).filter((e) => e.principal === leaseName);
      expect(first.map((e) => [e.action, e.resource, e.outcome, e.agent])).toEqual([
        ["connect", "crm", "allowed", "support-triage"],
        ["select", "crm.public.customers", "allowed", "support-triage"],
        ["select", "crm.payments", "denied", "support-triage"],
        ["select", null, "allowed", "support-triage"],
      ]);
      expect(first[1]).toMatchObject({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", attested: true, errorCode: null });
      expect(first[2]).toMatchObject({ errorCode: "42501" });
      // The statement's text (and its literals) is not kept, only its hash.
      expect(JSON.stringify(first)).not.toContain("WHERE id = 1");

      // A restart: a new follower on the same store resumes at the saved position.
      const countBefore = (await store.tip()).seq;
      ({ follower } = follow());
      await follower.catchUp();
      expect((await store.tip()).seq).toBe(countBefore);

      // Rotation, with lines on both sides of it.
      await client.query("SELECT 'marker-2'");
      await cluster.sql("postgres", "SELECT pg_rotate_logfile()");
      await new Promise((r) => setTimeout(r, 300));
      await client.query("SELECT count(*) FROM customers");
      await client.query("SELECT 'marker-3'");
      await logged("marker-3");
      await client.end();
      ({ follower } = follow());
      await follower.catchUp();
      const after = (await all(store)).filter((e) => e.principal === leaseName);
      expect(after.filter((e) => e.resource === "crm.public.customers").length).toBe(2);
      const keys = (await all(store)).map((e) => e.sourceKey);
      expect(new Set(keys).size).toBe(keys.length);
      expect(readdirSync(logDir()).filter((f) => f.endsWith(".json")).length).toBeGreaterThan(1);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("waits for a line torn mid-write, reports a file truncated before it was read, and never counts a line twice", async () => {
    const dir = mkdtempSync(join(tmpdir(), "charter-torn-"));
    const logs = join(dir, "log");
    const store = openSqliteTrail(join(dir, "trail.sqlite"));
    try {
      // Real lines the server wrote, replayed into files this test controls.
      const source = readdirSync(logDir()).filter((f) => f.endsWith(".json")).sort()[0] ?? "";
      const lines = readFileSync(join(logDir(), source), "utf8").split("\n").filter((l) => l.includes("AUDIT: "));
      expect(lines.length).toBeGreaterThan(1);
      const [a = "", b = ""] = lines;
      rmSync(logs, { recursive: true, force: true });
      (await import("node:fs")).mkdirSync(logs);
      const file = join(logs, "postgresql-1.json");
      writeFileSync(file, `${a}\n${b.slice(0, 40)}`);
      let now = 0;
      const ingestor = new TrailIngestor(store, () => new TrailContext().current());
      const follower = new PgauditFollower(store, ingestor, { instance: "crm-prod", path: logs, now: () => now, tornPatienceMs: 1000 });
      await follower.catchUp();
      expect((await store.tip()).seq).toBe(1);
      appendFileSync(file, `${b.slice(40)}\n`);
      await follower.catchUp();
      expect((await store.tip()).seq).toBe(2);
      await follower.catchUp();
      expect((await store.tip()).seq).toBe(2);

      // A torn tail that is never finished, once the next file has started: passed, and reported.
      appendFileSync(file, a.slice(0, 30));
      writeFileSync(join(logs, "postgresql-2.json"), `${b.replace("AUDIT: SESSION,1", "AUDIT: SESSION,9")}\n`);
      await follower.catchUp();
      expect((await store.tip()).seq).toBe(2);
      now = 5000;
      await follower.catchUp();
      expect((await store.tip()).seq).toBe(3);
      expect((await store.gaps()).map((g) => g.detail)).toEqual([expect.stringContaining("torn")]);

      // Truncated before it was read to its end: the lost lines are a gap on the record.
      copyFileSync(join(logs, "postgresql-2.json"), join(logs, "postgresql-3.json"));
      appendFileSync(join(logs, "postgresql-3.json"), `${a.replace("AUDIT: SESSION,1", "AUDIT: SESSION,8")}\n`);
      // One small read takes the first line of the new file; the second is still unread when the file is cut.
      const partial = new PgauditFollower(store, ingestor, { instance: "crm-prod", path: logs, chunkBytes: 10 + b.length });
      await partial.step();
      truncateSync(join(logs, "postgresql-3.json"), 0);
      writeFileSync(join(logs, "postgresql-3.json"), `${a.replace("AUDIT: SESSION,1", "AUDIT: SESSION,7")}\n`);
      await partial.catchUp();
      expect((await store.gaps()).map((g) => g.detail)).toEqual(expect.arrayContaining([expect.stringContaining("truncated or removed")]));
      const keys = (await all(store)).map((e) => e.sourceKey);
      expect(new Set(keys).size).toBe(keys.length);
      const status = await runCli(["trail", "status", "--db", join(dir, "trail.sqlite"), "--format", "json"], dir);
      expect(JSON.parse(status.stdout)).toMatchObject({ sources: [{ source: "pgaudit", instance: "crm-prod", state: "gapped" }] });
      expect(status.code).toBe(1);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
