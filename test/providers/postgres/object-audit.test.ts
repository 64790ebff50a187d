import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresProvider } from "../../../src/providers/postgres/index.js";
import { rememberLeases } from "../../../src/sources/open-trail-store.js";
import { PgauditFollower } from "../../../src/sources/pgaudit-follower.js";
import { openSqliteTrail } from "../../../src/sources/sqlite-trail-store.js";
import { TrailContext } from "../../../src/sources/trail-context.js";
import { TrailIngestor } from "../../../src/sources/trail-ingestor.js";
import { eventFromBytes } from "../../../src/trail/event-bytes.js";
import { runCli } from "../../cli/run-cli.js";
import { agentTree } from "../../helpers/provisioning.js";
import { saveEnv } from "../../helpers/saved-env.js";
import { tempRepo, type TempRepo } from "../../helpers/temp-repo.js";
import { type Cluster, login, PROVISIONER, startCluster } from "./fixture.js";

/**
 * charter sync setting up pgaudit object auditing on a real PostgreSQL 15 with pgaudit: the role
 * pgaudit.role names gets the audited privileges on exactly the tables the resource catalog
 * classifies. Session auditing is off in the database, so every AUDIT line the server writes
 * comes from the grants sync made.
 */
const ODD = `odd"name; DROP TABLE public.notes; --`;
const CRM = [
  "CREATE TABLE public.customers (id int PRIMARY KEY, name text)",
  "CREATE TABLE public.notes (id int PRIMARY KEY)",
  "CREATE SCHEMA billing",
  "CREATE TABLE billing.invoices (id int PRIMARY KEY)",
  `CREATE TABLE billing."odd""name; DROP TABLE public.notes; --" (id int)`,
  "INSERT INTO customers VALUES (1, 'Ada')",
].join(";\n");
const TRIAGE = { id: "support-triage", provider: "postgres" as const, permissions: ["postgres:select:crm.public.customers@crm-prod", "postgres:select:crm.public.notes@crm-prod"] };
const CATALOG = [
  "apiVersion: charter/v1",
  "kind: ResourceCatalog",
  "resources:",
  "  - match: postgres:crm.public.customers@crm-prod",
  "    dataClasses: [customer-pii]",
  "  - match: postgres:crm.billing.*",
  "    dataClasses: [payment-card]",
  "",
].join("\n");
const POLICY = "version: 1\nprovisioning:\n  providers:\n    local: { enabled: false }\n    postgres:\n      - instance: crm-prod\n        databases: [crm]\n        objectAudit: {}\n";
const AUDITOR = "charter_auditor";

interface Operation {
  action: string;
  target: string;
  agent: string;
}
interface Finding {
  kind: string;
  detail: string;
  fix?: string;
}

let cluster: Cluster;
let repo: TempRepo;
let restoreEnv: () => void;

beforeAll(async () => {
  cluster = await startCluster({ crm: CRM }, TRIAGE.permissions, { audit: true });
  // The documented setup: the provisioner may grant the audited privileges on the classified tables.
  await cluster.sql("crm", `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, billing TO ${PROVISIONER} WITH GRANT OPTION; GRANT USAGE ON SCHEMA billing TO ${PROVISIONER}`);
  await cluster.sql("postgres", "ALTER DATABASE crm SET pgaudit.log = 'none'");
  restoreEnv = saveEnv(["CHARTER_LOCAL_DB", "CHARTER_POSTGRES_URL_CRM_PROD"]);
  repo = tempRepo({ ...agentTree([TRIAGE]), ".github/charter.yml": POLICY, ".github/charter-resources.yml": CATALOG });
  repo.commitAll("agents, policy and catalog");
  process.env["CHARTER_POSTGRES_URL_CRM_PROD"] = cluster.server.urlFor("postgres", PROVISIONER, cluster.provisionerPassword);
}, 120_000);
afterAll(async () => {
  restoreEnv();
  repo.remove();
  await cluster.stop();
});

async function plan(): Promise<{ operations: Operation[]; findings: Finding[] }> {
  const result = await runCli(["plan", "--format", "json"], repo.root);
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout) as { operations: Operation[]; findings: Finding[] };
}

/** The auditor role's table privileges, as the catalog holds them: "schema.table PRIVILEGE by grantor". */
async function auditorGrants(): Promise<string[]> {
  const rows = await cluster.sql<{ g: string }>(
    "crm",
    `SELECT n.nspname || '.' || c.relname || ' ' || a.privilege_type || ' by ' || pg_get_userbyid(a.grantor) AS g
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN LATERAL aclexplode(c.relacl) a
     WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1) ORDER BY 1`,
    [AUDITOR],
  );
  return rows.map((r) => r.g);
}

function every(table: string): string[] {
  return ["DELETE", "INSERT", "SELECT", "UPDATE"].map((p) => `${table} ${p} by ${PROVISIONER}`);
}

async function logged(text: string): Promise<string[]> {
  const dir = cluster.server.logDirectory ?? "";
  for (let i = 0; i < 200; i++) {
    const lines = readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n"));
    if (lines.some((l) => l.includes(text))) return lines;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the server never logged ${text}`);
}

describe("charter sync sets up pgaudit object auditing for the classified tables", () => {
  it("refuses while pgaudit.role is not set, saying what to set, and grants nothing", async () => {
    const planned = await plan();
    const refusal = planned.findings.find((f) => f.kind === "audit-role-unset");
    expect(refusal?.detail).toContain("pgaudit.role is not set in database crm");
    expect(refusal?.detail).toContain("3 tables");
    expect(refusal?.fix).toBe(`CREATE ROLE "${AUDITOR}" NOLOGIN;\nALTER DATABASE "crm" SET pgaudit.role = '${AUDITOR}';`);
    expect(planned.operations.filter((o) => o.action.startsWith("audit-"))).toEqual([]);
    const synced = await runCli(["sync"], repo.root);
    expect(synced.code).toBe(1);
    expect(synced.stdout).toContain("audit-role-unset");
  });

  it("grants the auditor role the audited privileges on exactly the classified tables, shown by plan, idempotent", async () => {
    await cluster.sql("postgres", `CREATE ROLE ${AUDITOR} NOLOGIN; ALTER DATABASE crm SET pgaudit.role = '${AUDITOR}'`);
    const planned = await plan();
    expect(planned.findings.filter((f) => f.kind.startsWith("audit-"))).toEqual([]);
    expect(planned.operations.filter((o) => o.action === "audit-grant").map((o) => o.target)).toEqual([
      `SELECT, INSERT, UPDATE, DELETE on table crm.billing.invoices to ${AUDITOR}`,
      `SELECT, INSERT, UPDATE, DELETE on table crm.billing.${ODD} to ${AUDITOR}`,
      `SELECT, INSERT, UPDATE, DELETE on table crm.public.customers to ${AUDITOR}`,
    ]);
    const synced = await runCli(["sync", "--format", "json"], repo.root);
    expect(JSON.parse(synced.stdout)).toMatchObject({ outcome: "converged" });
    expect(synced.code).toBe(0);
    // The table whose name carries SQL got its grants like the others, and the table it names is still there.
    expect(await auditorGrants()).toEqual([...every("billing.invoices"), ...every(`billing.${ODD}`), ...every("public.customers")]);
    expect(await cluster.sql("crm", "SELECT 1 FROM public.notes")).toEqual([]);
    expect((await plan()).operations).toEqual([]);
  });

  it("makes an agent's read of a classified table an OBJECT audit line that the pgaudit follower ingests, and leaves the unclassified one unaudited", async () => {
    const dir = mkdtempSync(join(tmpdir(), "charter-object-audit-"));
    const store = openSqliteTrail(join(dir, "trail.sqlite"));
    try {
      const provider = createPostgresProvider({ instance: "crm-prod", connectionString: process.env["CHARTER_POSTGRES_URL_CRM_PROD"] ?? "", onLease: rememberLeases(store) });
      const lease = await provider.issueLease("support-triage", { ttlSeconds: 600, database: "crm" });
      await provider.close();
      const client = await login(lease.connectionString);
      try {
        await client.query("SELECT id FROM public.notes");
        await client.query("SELECT name FROM public.customers WHERE id = 1");
        await client.query("SELECT 1 FROM public.customers WHERE name = 'object-audit-marker'");
      } finally {
        await client.end();
      }
      const lines = await logged("object-audit-marker");
      const agents = lines.filter((l) => l.includes(`"user":"${lease.username}"`) && l.includes("AUDIT: "));
      expect(agents.some((l) => l.includes("AUDIT: OBJECT") && l.includes("public.customers"))).toBe(true);
      expect(agents.some((l) => l.includes("public.notes"))).toBe(false);

      const context = new TrailContext();
      await context.loadBindings(store);
      const follower = new PgauditFollower(store, new TrailIngestor(store, () => context.current()), { instance: "crm-prod", path: cluster.server.logDirectory ?? "" });
      await follower.catchUp();
      const events = (await store.readChain(1, 100_000)).map((l) => eventFromBytes(l.bytes, l.hash.toString("hex"))).filter((e) => e.principal === lease.username && e.action === "select");
      expect(events.map((e) => [e.resource, e.agent, e.attested, (e.detail as Record<string, unknown>)["audit"]])).toEqual([
        ["crm.public.customers", "support-triage", true, "object"],
        ["crm.public.customers", "support-triage", true, "object"],
      ]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reports a removed audit grant as drift, and sync puts it back", async () => {
    // REVOKE removes only the grants of the role that runs it: the administrator acts as the grantor.
    await cluster.sql("crm", `SET ROLE ${PROVISIONER}; REVOKE SELECT ON public.customers FROM ${AUDITOR}; RESET ROLE`);
    const drift = await runCli(["drift", "--format", "json"], repo.root);
    expect(drift.code).toBe(1);
    const findings = (JSON.parse(drift.stdout) as { findings: Finding[] }).findings;
    expect(findings.map((f) => [f.kind, f.detail.split(":")[0]])).toEqual([["missing-audit-grant", `SELECT on table crm.public.customers to ${AUDITOR}`]]);
    expect((await runCli(["sync"], repo.root)).code).toBe(0);
    expect(await auditorGrants()).toContain(`public.customers SELECT by ${PROVISIONER}`);
  });

  it("revokes what it granted once the catalog stops classifying a table, and leaves others' grants alone", async () => {
    await cluster.sql("crm", `GRANT SELECT ON public.notes TO ${AUDITOR}`);
    repo.write({ ".github/charter-resources.yml": CATALOG.replace("  - match: postgres:crm.billing.*\n    dataClasses: [payment-card]\n", "") });
    repo.commitAll("billing is no longer classified");
    const planned = await plan();
    expect(planned.operations.filter((o) => o.action.startsWith("audit-")).map((o) => [o.action, o.target])).toEqual([
      ["audit-revoke", `SELECT, INSERT, UPDATE, DELETE on table crm.billing.invoices from ${AUDITOR}`],
      ["audit-revoke", `SELECT, INSERT, UPDATE, DELETE on table crm.billing.${ODD} from ${AUDITOR}`],
    ]);
    expect((await runCli(["sync"], repo.root)).code).toBe(0);
    expect(await auditorGrants()).toEqual([...every("public.customers"), "public.notes SELECT by postgres"]);
  });

  it("refuses an auditor role someone can log in as, and takes back what it granted it", async () => {
    await cluster.sql("postgres", `ALTER ROLE ${AUDITOR} LOGIN`);
    const planned = await plan();
    const refusal = planned.findings.find((f) => f.kind === "audit-role-unsafe");
    expect(refusal?.detail).toContain("can log in");
    expect(refusal?.fix).toBe(`ALTER ROLE "${AUDITOR}" NOLOGIN;`);
    expect(planned.operations.filter((o) => o.action.startsWith("audit-")).map((o) => o.target)).toEqual([`SELECT, INSERT, UPDATE, DELETE on table crm.public.customers from ${AUDITOR}`]);
    expect((await runCli(["sync"], repo.root)).code).toBe(1);
    expect(await auditorGrants()).toEqual(["public.notes SELECT by postgres"]);
    await cluster.sql("postgres", `ALTER ROLE ${AUDITOR} NOLOGIN`);
    expect((await runCli(["sync"], repo.root)).code).toBe(0);
    expect(await auditorGrants()).toEqual([...every("public.customers"), "public.notes SELECT by postgres"]);
  });

  it("refuses an auditor role with members, who would inherit what it audits", async () => {
    await cluster.sql("postgres", `CREATE ROLE reporting LOGIN; GRANT ${AUDITOR} TO reporting`);
    try {
      const refusal = (await plan()).findings.find((f) => f.kind === "audit-role-unsafe");
      expect(refusal?.detail).toContain("has members (reporting)");
      expect(refusal?.fix).toBe(`REVOKE "${AUDITOR}" FROM "reporting";`);
      expect((await runCli(["sync"], repo.root)).code).toBe(1);
      expect(await auditorGrants()).toEqual(["public.notes SELECT by postgres"]);
    } finally {
      await cluster.sql("postgres", "DROP ROLE reporting");
    }
  });

  it("applies a forged audit step only to the role pgaudit.role names, and never to PUBLIC", async () => {
    await cluster.sql("postgres", "CREATE ROLE bystander NOLOGIN");
    const provider = createPostgresProvider({ instance: "crm-prod", connectionString: process.env["CHARTER_POSTGRES_URL_CRM_PROD"] ?? "" });
    try {
      const forged = (role: string) => ({
        provider: "postgres",
        instance: "crm-prod",
        agent: "*",
        action: "audit-grant",
        target: "forged",
        payload: { type: "audit-grant", database: "crm", role, schema: "public", name: "customers", privileges: ["SELECT"] },
      });
      const results = await provider.apply([forged("bystander"), forged("public")]);
      expect(results.map((r) => [r.status, r.error])).toEqual([
        ["failed", "pgaudit.role in database crm is no longer bystander; plan again"],
        ["failed", "postgres: PUBLIC is not an auditor role"],
      ]);
      expect(await cluster.sql("crm", "SELECT has_table_privilege('bystander', 'public.customers', 'SELECT') AS held")).toEqual([{ held: false }]);
    } finally {
      await provider.close();
      await cluster.sql("postgres", "DROP ROLE bystander");
    }
  });
});

describe("object auditing on a server without pgaudit", () => {
  it("says pgaudit is not loaded and what to change, and grants nothing", async () => {
    const plain = await startCluster({ crm: CRM }, TRIAGE.permissions);
    const saved = saveEnv(["CHARTER_POSTGRES_URL_CRM_PROD"]);
    const other = tempRepo({ ...agentTree([TRIAGE]), ".github/charter.yml": POLICY, ".github/charter-resources.yml": CATALOG });
    try {
      other.commitAll("agents, policy and catalog");
      process.env["CHARTER_POSTGRES_URL_CRM_PROD"] = plain.server.urlFor("postgres", PROVISIONER, plain.provisionerPassword);
      const planned = JSON.parse((await runCli(["plan", "--format", "json"], other.root)).stdout) as { operations: Operation[]; findings: Finding[] };
      expect(planned.findings.filter((f) => f.kind.startsWith("audit-")).map((f) => [f.kind, f.fix])).toEqual([
        ["audit-unavailable", "Add pgaudit to shared_preload_libraries in postgresql.conf and restart the server (docs/providers.md)."],
      ]);
      expect(planned.operations.filter((o) => o.action.startsWith("audit-"))).toEqual([]);
    } finally {
      saved();
      other.remove();
      await plain.stop();
    }
  }, 60_000);
});
