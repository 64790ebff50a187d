import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PROVISIONER, type Cluster, startCluster } from "../providers/postgres/fixture.js";
import { agentTree, manifestText, signingKeyPem, tempDir, type TempDir } from "../helpers/provisioning.js";
import { saveEnv } from "../helpers/saved-env.js";
import { tempRepo, type TempRepo } from "../helpers/temp-repo.js";
import { runCli } from "./run-cli.js";

/** The whole path a merge takes, minus GitHub: manifests → routing → local and PostgreSQL providers → verification. */

const CRM = "CREATE TABLE public.customers (id int PRIMARY KEY); CREATE TABLE public.orders (id int PRIMARY KEY);";
const TRIAGE = { id: "support-triage", provider: "postgres" as const, permissions: ["postgres:select:crm.public.customers@crm-prod", "postgres:select:crm.public.orders@crm-prod", "http:post:api.example.com/v1/tags"] };
const REVIEW = { id: "code-review", permissions: ["github:contents:read:acme/app"] };
const VARIABLES = ["CHARTER_LOCAL_DB", "CHARTER_TOKEN_SIGNING_KEY", "CHARTER_POSTGRES_URL_CRM_PROD"] as const;

let cluster: Cluster;
let repo: TempRepo;
let state: TempDir;
let restoreEnv: () => void = () => undefined;

beforeAll(async () => {
  cluster = await startCluster({ crm: CRM }, TRIAGE.permissions.filter((p) => p.startsWith("postgres:")));
});
afterAll(async () => {
  await cluster.stop();
});

beforeEach(() => {
  restoreEnv = saveEnv(VARIABLES);
  state = tempDir();
  repo = tempRepo({ ...agentTree([TRIAGE, REVIEW]), ".github/charter.yml": "version: 1\nprovisioning:\n  providers:\n    postgres:\n      - instance: crm-prod\n        databases: [crm]\n" });
  repo.commitAll("agents");
  process.env["CHARTER_LOCAL_DB"] = state.file("local.db");
  process.env["CHARTER_TOKEN_SIGNING_KEY"] = signingKeyPem();
  process.env["CHARTER_POSTGRES_URL_CRM_PROD"] = cluster.server.urlFor("postgres", PROVISIONER, cluster.provisionerPassword);
});
afterEach(() => {
  restoreEnv();
  repo.remove();
  state.remove();
});

interface SyncJson {
  outcome: string;
  applied: { provider: string; instance?: string; agent: string; action: string; status: string }[];
  verification: { remaining: unknown[]; escalations: unknown[] };
}

describe("charter sync with the local and PostgreSQL providers", () => {
  it("provisions each permission where it is enforced, converges, and deprovisions everywhere on retirement", async () => {
    const first = await runCli(["sync", "--format", "json"], repo.root);
    expect(first.stderr).toBe("");
    expect(first.stdout).not.toContain(cluster.provisionerPassword);
    const result = JSON.parse(first.stdout) as SyncJson;
    expect(result).toMatchObject({ outcome: "converged", verification: { remaining: [], escalations: [] } });
    expect(first.code).toBe(0);
    const where = (provider: string) => result.applied.filter((op) => op.provider === provider).map((op) => `${op.agent} ${op.action}`);
    expect(where("local")).toEqual(["code-review create-identity", "code-review grant", "support-triage create-identity", "support-triage grant"]);
    expect(where("postgres")).toEqual(expect.arrayContaining(["support-triage create-identity", "support-triage grant"]));
    expect(where("postgres").some((op) => op.startsWith("code-review"))).toBe(false);

    const grants = await cluster.sql<{ table_name: string }>("crm", "SELECT table_name FROM information_schema.role_table_grants WHERE grantee = 'charter_agent_support_triage' ORDER BY table_name");
    expect(grants.map((g) => g.table_name)).toEqual(["customers", "orders"]);

    expect(JSON.parse((await runCli(["sync", "--format", "json"], repo.root)).stdout)).toMatchObject({ outcome: "converged", plan: [], applied: [] });
    expect((await runCli(["drift"], repo.root)).code).toBe(0);

    repo.write({ "agents/support-triage/agent.yaml": manifestText({ ...TRIAGE, status: "retired" }) });
    repo.commitAll("retire support-triage");
    const drift = await runCli(["drift", "--format", "json"], repo.root);
    expect(drift.code).toBe(1);
    const kinds = (JSON.parse(drift.stdout) as { findings: { provider: string; kind: string }[] }).findings.map((f) => `${f.provider} ${f.kind}`);
    expect(new Set(kinds)).toEqual(new Set(["local retired-identity", "postgres retired-identity"]));

    const retired = await runCli(["sync"], repo.root);
    expect(retired.code).toBe(0);
    const roles = await cluster.sql("postgres", "SELECT 1 FROM pg_roles WHERE rolname = 'charter_agent_support_triage'");
    expect(roles).toEqual([]);
    expect((await runCli(["drift"], repo.root)).code).toBe(0);
    expect((await runCli(["token", "issue", "support-triage"], repo.root)).stderr).toContain("is retired");
  });

  it("reports a grant to the marker role once for every agent, with its path and the fix, and sync escalates it with the fix", async () => {
    expect((await runCli(["sync"], repo.root)).code).toBe(0);
    await cluster.sql("crm", "GRANT SELECT ON public.orders TO charter_managed");
    try {
      const fix = 'SET ROLE "postgres"; REVOKE SELECT ON TABLE "public"."orders" FROM "charter_managed"; RESET ROLE;';
      const drift = await runCli(["drift"], repo.root);
      expect(drift.code).toBe(1);
      expect(drift.stdout).toContain("postgres@crm-prod  every agent  foreign-grant  SELECT on table crm.public.orders is granted to charter_managed");
      expect(drift.stdout).toContain("[via charter_managed]");
      expect(drift.stdout).toContain(`      fix: ${fix}\n`);
      const synced = await runCli(["sync", "--format", "json"], repo.root);
      expect(synced.code).toBe(1);
      expect((JSON.parse(synced.stdout) as SyncJson).verification.escalations).toEqual([expect.objectContaining({ provider: "postgres", instance: "crm-prod", agent: "*", fix })]);
    } finally {
      await cluster.sql("crm", "REVOKE SELECT ON public.orders FROM charter_managed");
    }
    expect((await runCli(["drift"], repo.root)).code).toBe(0);
  });
});
