import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isCharterError } from "../../../src/errors.js";
import type { PostgresProvider } from "../../../src/providers/postgres/index.js";
import { agent, type Cluster, login, startCluster, sync } from "./fixture.js";

const CRM = `
CREATE TABLE public.customers (id int PRIMARY KEY, name text);
INSERT INTO public.customers VALUES (1, 'Ada');
CREATE TABLE public.invoices (id int PRIMARY KEY, amount int);
INSERT INTO public.invoices VALUES (1, 100);
CREATE SCHEMA billing;
CREATE TABLE billing.refunds (id int);
CREATE TABLE public.audit_log (id int);
CREATE FUNCTION billing.refund_total() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM billing.refunds';`;

const GRANTABLE = [
  "postgres:select:crm.public.customers@crm-prod",
  "postgres:select:crm.public.invoices@crm-prod",
  "postgres:insert:crm.billing.refunds@crm-prod",
  "postgres:execute:crm.billing.refund_total@crm-prod",
];

let cluster: Cluster;
let provider: PostgresProvider;

beforeAll(async () => {
  cluster = await startCluster({ crm: CRM }, GRANTABLE);
  provider = cluster.provider();
});
afterAll(async () => {
  await cluster.stop();
});

const triage = agent("support-triage", ["postgres:select:crm.public.customers@crm-prod"]);

describe("postgres provider, as a non-superuser provisioner", () => {
  it("creates one marked NOLOGIN identity per agent with exactly its grants, and a second sync is empty", async () => {
    const refunds = agent("refund-bot", ["postgres:insert:crm.billing.refunds@crm-prod", "postgres:execute:crm.billing.refund_total@crm-prod"]);
    const { before, applied, after } = await sync(provider, [triage, refunds]);

    expect(before.operations.map((o) => o.action)).toContain("create-identity");
    expect(applied.filter((o) => o.status !== "applied")).toEqual([]);
    expect(after).toEqual({ operations: [], findings: [] });

    const roles = await cluster.sql<{ rolname: string; rolcanlogin: boolean; comment: string }>(
      "postgres",
      "SELECT rolname, rolcanlogin, shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname LIKE 'charter\\_agent\\_%' ORDER BY rolname",
    );
    expect(roles.map((r) => [r.rolname, r.rolcanlogin])).toEqual([
      ["charter_agent_refund_bot", false],
      ["charter_agent_support_triage", false],
    ]);
    expect(JSON.parse(roles[1]?.comment ?? "{}")).toMatchObject({ agent: "support-triage", commit: triage.commit, maxLifetimeSeconds: 3600 });

    const observed = await provider.observe();
    const held = observed.identities.find((i) => i.role.name === "charter_agent_refund_bot")?.grants.map((g) => `${g.privilege} ${g.kind} ${g.path.join(".")}`);
    // The schema USAGE and database CONNECT a table privilege needs are granted with it.
    expect(held?.sort()).toEqual(["CONNECT database ", "EXECUTE function billing.refund_total", "INSERT table billing.refunds", "USAGE schema billing"]);
  });

  it("issues a lease that logs in over TCP, reads the allowed table and is refused another", async () => {
    const lease = await provider.issueLease("support-triage", { ttlSeconds: 600, database: "crm" });
    expect(lease.username).toMatch(/^charter_lease_[0-9a-f]{24}$/);
    const client = await login(lease.connectionString);
    try {
      const rows = await client.query<{ name: string }>("SELECT name FROM public.customers");
      expect(rows.rows).toEqual([{ name: "Ada" }]);
      await expect(client.query("SELECT * FROM public.invoices")).rejects.toThrow(/permission denied for table invoices/);
    } finally {
      await client.end();
    }
    const [role] = await cluster.sql<{ rolconnlimit: number; rolcanlogin: boolean }>("postgres", "SELECT rolconnlimit, rolcanlogin FROM pg_roles WHERE rolname = $1", [lease.username]);
    expect(role).toEqual({ rolconnlimit: 2, rolcanlogin: true });
  });

  it("refuses a lease longer than the manifest's maxLifetime, and one for an unknown agent", async () => {
    await expect(provider.issueLease("support-triage", { ttlSeconds: 3601 })).rejects.toSatisfy((e) => isCharterError(e) && e.code === "OUT_OF_RANGE");
    await expect(provider.issueLease("nobody", { ttlSeconds: 60 })).rejects.toSatisfy((e) => isCharterError(e) && e.code === "NOT_FOUND");
  });

  it("refuses a lease whose caller clock is set ahead far enough to outlive maxLifetime", async () => {
    const ahead = new Date(Date.now() + 7_200_000);
    await expect(provider.issueLease("support-triage", { ttlSeconds: 60, now: ahead })).rejects.toSatisfy((e) => isCharterError(e) && e.code === "OUT_OF_RANGE");
  });

  it("reports a grant the provisioner cannot hand out (no grant option: PostgreSQL only warns) as a failed step", async () => {
    await cluster.sql("crm", "GRANT SELECT ON public.audit_log TO charter_provisioner");
    // Connected to crm, the identity and its grants go in one batch: the warning must fail only its own step.
    const inCrm = cluster.provider({ database: "crm" });
    const auditor = agent("auditor", ["postgres:select:crm.public.audit_log@crm-prod"]);
    const { applied, after } = await sync(inCrm, [auditor]);
    expect(applied.map((o) => [o.action, o.target, o.status])).toEqual([
      ["create-identity", "charter_agent_auditor", "applied"],
      ["grant", "CONNECT on database crm to charter_agent_auditor", "applied"],
      ["grant", "USAGE on schema crm.public to charter_agent_auditor", "applied"],
      ["grant", "SELECT on table crm.public.audit_log to charter_agent_auditor", "failed"],
    ]);
    expect(applied[3]?.error).toBe('no privileges were granted for "audit_log"');
    expect(after.operations.map((o) => o.target)).toEqual(["SELECT on table crm.public.audit_log to charter_agent_auditor"]);
    // The others are left to the tests that own them (orphaned here, not pruned).
    const retired = await sync(inCrm, [{ ...auditor, status: "retired" }]);
    expect(retired.after.operations).toEqual([]);
    expect(retired.after.findings.filter((f) => f.agent === "auditor")).toEqual([]);
    expect(await cluster.sql("postgres", "SELECT 1 FROM pg_roles WHERE rolname = 'charter_agent_auditor'")).toEqual([]);
  });

  it("an expired lease cannot log in, and the next sync drops it", async () => {
    // Issued an hour ago for one minute: VALID UNTIL is already in the past.
    const lease = await provider.issueLease("support-triage", { ttlSeconds: 60, now: new Date(Date.now() - 3_600_000), database: "crm" });
    expect(Date.parse(lease.validUntil)).toBeLessThan(Date.now());
    await expect(login(lease.connectionString)).rejects.toThrow(/password authentication failed/);

    const { before, applied, after } = await sync(provider, [triage, agent("refund-bot", ["postgres:insert:crm.billing.refunds@crm-prod", "postgres:execute:crm.billing.refund_total@crm-prod"])]);
    expect(before.operations.filter((o) => o.action === "drop-expired-lease").map((o) => o.target)).toEqual([lease.username]);
    expect(applied.every((o) => o.status === "applied")).toBe(true);
    expect(after.operations).toEqual([]);
    expect(await cluster.sql("postgres", "SELECT 1 FROM pg_roles WHERE rolname = $1", [lease.username])).toEqual([]);
  });

  it("leaves an identity alone at a new commit that did not change its manifest: the marker keeps the commit that approved it", async () => {
    const [{ comment: before } = { comment: "" }] = await cluster.sql<{ comment: string }>("postgres", "SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = 'charter_agent_support_triage'");
    const later = { ...triage, commit: "d".repeat(40) };
    const { before: planned, after } = await sync(provider, [later], false);
    expect(planned.operations.filter((o) => o.agent === "support-triage")).toEqual([]);
    expect(planned.findings.filter((f) => f.agent === "support-triage")).toEqual([]);
    expect(after.operations).toEqual([]);
    const [{ comment } = { comment: "" }] = await cluster.sql<{ comment: string }>("postgres", "SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = 'charter_agent_support_triage'");
    expect(comment).toBe(before);
    expect(JSON.parse(comment)).not.toMatchObject({ commit: "d".repeat(40) });
  });

  it("keeps the approval in the marker: a new manifest at a new commit updates the identity without reporting drift", async () => {
    const approved = agent("support-triage", ["postgres:select:crm.public.customers@crm-prod", "postgres:select:crm.public.invoices@crm-prod"], {
      commit: "c".repeat(40),
      manifestSha256: "e".repeat(64),
      maxConcurrentSessions: 1,
    });
    const { before, after } = await sync(provider, [approved], false);
    expect(before.findings.filter((f) => f.agent === "support-triage")).toEqual([]);
    expect(before.operations.filter((o) => o.agent === "support-triage").map((o) => o.action)).toEqual(["update-identity", "grant"]);
    expect(after.operations).toEqual([]);
    const [{ comment } = { comment: "" }] = await cluster.sql<{ comment: string }>("postgres", "SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = 'charter_agent_support_triage'");
    expect(JSON.parse(comment)).toMatchObject({ commit: "c".repeat(40), manifestSha256: "e".repeat(64), maxConcurrentSessions: 1 });
  });

  it("reports a managed identity whose manifest is gone as orphaned without prune, and removes it with prune", async () => {
    const approved = agent("support-triage", ["postgres:select:crm.public.customers@crm-prod", "postgres:select:crm.public.invoices@crm-prod"], {
      commit: "c".repeat(40),
      manifestSha256: "e".repeat(64),
      maxConcurrentSessions: 1,
    });
    const kept = await sync(provider, [approved], false);
    expect(kept.before.operations).toEqual([]);
    expect(kept.before.findings).toEqual([
      expect.objectContaining({ agent: "refund-bot", kind: "orphaned-identity", provider: "postgres", instance: "crm-prod" }),
    ]);
    expect(await cluster.sql("postgres", "SELECT 1 FROM pg_roles WHERE rolname = 'charter_agent_refund_bot'")).toHaveLength(1);

    const pruned = await sync(provider, [approved], true);
    expect(pruned.before.operations.filter((o) => o.agent === "refund-bot").map((o) => o.action)).toContain("drop-identity");
    expect(pruned.applied.filter((o) => o.status !== "applied")).toEqual([]);
    expect(pruned.after).toEqual({ operations: [], findings: [] });
    expect(await cluster.sql("postgres", "SELECT 1 FROM pg_roles WHERE rolname = 'charter_agent_refund_bot'")).toEqual([]);
  });

  it("reports a look-alike role without the marker and never touches it", async () => {
    await cluster.sql("crm", "CREATE ROLE charter_agent_impostor NOLOGIN; GRANT SELECT ON public.invoices TO charter_agent_impostor");
    const desired = [agent("impostor", ["postgres:select:crm.public.customers@crm-prod"]), agent("support-triage", ["postgres:select:crm.public.customers@crm-prod", "postgres:select:crm.public.invoices@crm-prod"], { commit: "c".repeat(40), manifestSha256: "e".repeat(64), maxConcurrentSessions: 1 })];
    for (const prune of [false, true]) {
      const { before, applied } = await sync(provider, desired, prune);
      expect(before.operations.filter((o) => o.agent === "impostor")).toEqual([]);
      expect(applied.filter((o) => o.agent === "impostor")).toEqual([]);
      expect(before.findings).toEqual([expect.objectContaining({ agent: "impostor", kind: "unmanaged-identity" })]);
    }
    // Also when no manifest names it, pruning or not.
    const unnamed = provider.diff([], await provider.observe(), { prune: true });
    expect(unnamed.findings).toContainEqual(expect.objectContaining({ agent: "charter_agent_impostor", kind: "unmanaged-identity" }));
    expect(unnamed.operations.filter((o) => o.target.includes("impostor"))).toEqual([]);
    const grants = await cluster.sql("crm", "SELECT 1 FROM information_schema.role_table_grants WHERE grantee = 'charter_agent_impostor' AND table_name = 'invoices'");
    expect(grants).toHaveLength(1);
    await cluster.sql("crm", "DROP OWNED BY charter_agent_impostor; DROP ROLE charter_agent_impostor");
  });

  it("retirement ends open lease sessions, hands owned objects to the provisioner and drops the identity", async () => {
    const active = agent("support-triage", ["postgres:select:crm.public.customers@crm-prod", "postgres:select:crm.public.invoices@crm-prod"], { commit: "c".repeat(40), manifestSha256: "e".repeat(64), maxConcurrentSessions: 1 });
    const lease = await provider.issueLease("support-triage", { ttlSeconds: 600, database: "crm" });
    const session = await login(lease.connectionString);
    // A terminated client reports more than one error; every one is taken so none goes unhandled.
    const ended = new Promise<Error>((resolve) => session.on("error", resolve));
    await session.query("SELECT 1");
    // An object the identity came to own (made by an administrator here) must not block the drop.
    await cluster.sql("crm", "CREATE TABLE public.triage_notes (id int); ALTER TABLE public.triage_notes OWNER TO charter_agent_support_triage");

    const { before, applied, after } = await sync(provider, [{ ...active, status: "retired" }]);
    expect(before.operations.map((o) => o.action)).toEqual([
      "revoke-login",
      "terminate-sessions",
      "assume-roles",
      "drop-owned",
      "drop-owned",
      // The lease issued earlier in this file (600 s) and this one.
      "drop-lease",
      "drop-lease",
      "drop-identity",
    ]);
    expect(before.operations.filter((o) => o.action === "drop-owned").map((o) => o.target)).toContain("charter_agent_support_triage in database crm");
    expect(applied.filter((o) => o.status !== "applied")).toEqual([]);
    expect(after).toEqual({ operations: [], findings: [] });

    expect((await ended).message).toMatch(/terminat/);
    await expect(session.query("SELECT 1")).rejects.toThrow();
    expect(await cluster.sql("postgres", "SELECT rolname FROM pg_roles WHERE rolname IN ('charter_agent_support_triage', $1)", [lease.username])).toEqual([]);
    const [owner] = await cluster.sql<{ owner: string }>("crm", "SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'triage_notes'");
    expect(owner?.owner).toBe("charter_provisioner");
    await expect(login(lease.connectionString)).rejects.toThrow();
  });

  it("applies a retired agent's plan twice without failing: every step is idempotent", async () => {
    const gone = agent("support-triage", [], { status: "retired" });
    const plan = provider.diff([agent("support-triage", ["postgres:select:crm.public.customers@crm-prod"])], await provider.observe(), { prune: false });
    const first = await provider.apply(plan.operations);
    const again = await provider.apply(plan.operations);
    expect(first.map((o) => o.status)).toEqual(again.map((o) => o.status));
    expect(again.every((o) => o.status === "applied")).toBe(true);
    expect((await sync(provider, [gone])).before.operations.map((o) => o.action)).toContain("drop-identity");
    expect((await sync(provider, [gone])).before).toEqual({ operations: [], findings: [] });
  });
});
