import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostgresProvider } from "../../../src/providers/postgres/index.js";
import { agent, type Cluster, PROVISIONER, startCluster, sync } from "./fixture.js";

const CRM = `
CREATE TABLE public.customers (id int);
CREATE TABLE public.invoices (id int);
CREATE TABLE public.secrets (id int);
CREATE ROLE dba LOGIN PASSWORD 'dba-password';
GRANT SELECT ON public.invoices TO dba WITH GRANT OPTION;`;

const GRANTABLE = ["postgres:select:crm.public.customers@crm-prod", "postgres:select:crm.public.invoices@crm-prod"];
const IDENTITY = "charter_agent_support_triage";

let cluster: Cluster;
let provider: PostgresProvider;
const triage = agent("support-triage", ["postgres:select:crm.public.customers@crm-prod"]);

beforeAll(async () => {
  cluster = await startCluster({ crm: CRM }, GRANTABLE);
  provider = cluster.provider({ databases: ["crm"] });
  const first = await sync(provider, [triage]);
  expect(first.after).toEqual({ operations: [], findings: [] });
});
afterAll(async () => {
  await cluster.stop();
});

const asProvisioner = (sql: string): Promise<unknown> => cluster.sqlAs("crm", PROVISIONER, cluster.provisionerPassword, sql);

describe("postgres drift", () => {
  it("reports a grant the provisioner made by hand as extra-grant, and the sync revokes it", async () => {
    await asProvisioner(`GRANT SELECT ON public.invoices TO ${IDENTITY}`);
    const { before, applied, after } = await sync(provider, [triage]);
    expect(before.findings).toEqual([
      { provider: "postgres", instance: "crm-prod", agent: "support-triage", kind: "extra-grant", detail: `SELECT on table crm.public.invoices to ${IDENTITY} is held but not approved` },
    ]);
    expect(applied).toEqual([
      { provider: "postgres", instance: "crm-prod", agent: "support-triage", action: "revoke", target: `SELECT on table crm.public.invoices from ${IDENTITY}`, status: "applied" },
    ]);
    expect(after).toEqual({ operations: [], findings: [] });
  });

  it("reports a grant revoked by hand as missing-grant, and the sync restores it", async () => {
    await asProvisioner(`REVOKE SELECT ON public.customers FROM ${IDENTITY}`);
    const { before, after } = await sync(provider, [triage]);
    expect(before.findings.map((f) => f.kind)).toEqual(["missing-grant"]);
    expect(before.operations.map((o) => o.action)).toEqual(["grant"]);
    expect(after).toEqual({ operations: [], findings: [] });
  });

  it("reports a grant made by another role as foreign-grant with its grantor, and it is still there to escalate after apply", async () => {
    await cluster.sqlAs("crm", "dba", "dba-password", `GRANT SELECT ON public.invoices TO ${IDENTITY}`);
    const { before, applied, after } = await sync(provider, [triage]);
    const foreign = {
      provider: "postgres",
      instance: "crm-prod",
      agent: "support-triage",
      kind: "foreign-grant",
      grantor: "dba",
      detail: `SELECT on table crm.public.invoices to ${IDENTITY} was granted by dba; only that role (or a superuser acting as it) can revoke it`,
      fix: `SET ROLE "dba"; REVOKE SELECT ON TABLE "public"."invoices" FROM "${IDENTITY}"; RESET ROLE;`,
    };
    expect(before.findings).toEqual([foreign]);
    expect(before.operations).toEqual([]);
    expect(applied).toEqual([]);
    expect(after.findings).toEqual([foreign]);
  });

  it("a superuser's grant is recorded with the object's owner as grantor, so it is foreign too", async () => {
    await cluster.sql("crm", `GRANT SELECT ON public.secrets TO ${IDENTITY}`);
    const { after } = await sync(provider, [triage]);
    const bySuperuser = after.findings.filter((f) => f.kind === "foreign-grant" && f.grantor === "postgres");
    expect(bySuperuser.map((f) => f.detail)).toEqual([`SELECT on table crm.public.secrets to ${IDENTITY} was granted by postgres; only that role (or a superuser acting as it) can revoke it`]);
    await cluster.sql("crm", `REVOKE SELECT ON public.secrets FROM ${IDENTITY}`);
  });

  it("revokes memberships granted by hand, both ways, and repairs an identity someone let log in", async () => {
    await cluster.sql("postgres", `GRANT pg_read_all_data TO ${IDENTITY}; CREATE ROLE alice LOGIN; GRANT ${IDENTITY} TO alice; ALTER ROLE ${IDENTITY} LOGIN`);
    const { before, after } = await sync(provider, [triage]);
    expect(before.findings.map((f) => [f.kind, f.grantor])).toEqual(
      expect.arrayContaining([
        ["identity-login", undefined],
        ["extra-membership", "postgres"],
        ["extra-member", undefined],
      ]),
    );
    expect(before.operations.map((o) => [o.action, o.target])).toEqual([
      ["update-identity", IDENTITY],
      ["revoke-membership", `${IDENTITY} from pg_read_all_data`],
      ["revoke-membership", `alice from ${IDENTITY}`],
    ]);
    // Only the DBA's grant of the test before is left: Charter may not revoke it.
    expect(after.findings.map((f) => f.kind)).toEqual(["foreign-grant"]);
    const [role] = await cluster.sql<{ rolcanlogin: boolean }>("postgres", "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", [IDENTITY]);
    expect(role?.rolcanlogin).toBe(false);
    expect(await cluster.sql("postgres", "SELECT 1 FROM pg_auth_members WHERE member = $1::regrole OR roleid = $1::regrole", [IDENTITY])).toHaveLength(1);
    await cluster.sql("postgres", "DROP ROLE alice");
  });

  it("revokes a privilege granted straight to a lease: leases hold nothing themselves", async () => {
    const lease = await provider.issueLease("support-triage", { ttlSeconds: 600 });
    await asProvisioner(`GRANT SELECT ON public.invoices TO ${lease.username}`);
    const { before, after } = await sync(provider, [triage]);
    expect(before.findings).toContainEqual(expect.objectContaining({ kind: "extra-grant", detail: `SELECT on table crm.public.invoices is held by lease ${lease.username}; leases hold nothing themselves` }));
    expect(before.operations).toEqual([expect.objectContaining({ action: "revoke", target: `SELECT on table crm.public.invoices from ${lease.username}` })]);
    expect(after.operations).toEqual([]);
  });

  it("a foreign grant blocks retirement: the drop fails with the server's reason and stays escalated", async () => {
    const retired = { ...triage, status: "retired" as const };
    const { before, applied, after } = await sync(provider, [retired]);
    expect(before.findings).toEqual([expect.objectContaining({ kind: "foreign-grant", grantor: "dba" })]);
    const drop = applied.find((o) => o.action === "drop-identity");
    expect(drop?.status).toBe("failed");
    expect(drop?.error).toMatch(/cannot be dropped because some objects depend on it/);
    // Everything else was still done: no lease left, no login possible.
    expect(applied.filter((o) => o.action !== "drop-identity").every((o) => o.status === "applied")).toBe(true);
    expect(after.operations.map((o) => o.action)).toContain("drop-identity");
    expect(after.findings).toEqual([expect.objectContaining({ kind: "foreign-grant", grantor: "dba" })]);

    // Once the DBA revokes their grant, the next sync completes the retirement.
    await cluster.sqlAs("crm", "dba", "dba-password", `REVOKE SELECT ON public.invoices FROM ${IDENTITY}`);
    const again = await sync(provider, [retired]);
    expect(again.applied.filter((o) => o.status !== "applied")).toEqual([]);
    expect(again.after).toEqual({ operations: [], findings: [] });
    expect(await cluster.sql("postgres", "SELECT 1 FROM pg_roles WHERE rolname = $1", [IDENTITY])).toEqual([]);
  });
});
