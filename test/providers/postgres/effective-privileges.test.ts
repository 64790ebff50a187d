import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DriftFinding } from "../../../src/schema-types/evidence-record.generated.js";
import { openConnections } from "../../../src/providers/postgres/connections.js";
import type { PostgresProvider } from "../../../src/providers/postgres/index.js";
import { observe } from "../../../src/providers/postgres/observe.js";
import { roleNames } from "../../../src/providers/postgres/role-names.js";
import { agent, type Cluster, INSTANCE, login, PROVISIONER, startCluster, sync } from "./fixture.js";

// Each test is an attempt by someone with database access (an operator, or a DBA "helping") to
// give an agent more than its manifest approves without touching the agent's own grants. Drift
// must see each one through the agent's effective privileges, name who granted it and the path by
// which it arrives, and the sync must remove what Charter may and leave an exact fix for the rest.

const CRM = `
CREATE TABLE public.customers (id int PRIMARY KEY, name text);
INSERT INTO public.customers VALUES (1, 'Ada');
CREATE TABLE public.secrets (id int, ssn text);
INSERT INTO public.secrets VALUES (1, '078-05-1120');
CREATE TABLE public.notes (id int);
CREATE SEQUENCE public.ticket_ids;
CREATE FUNCTION public.count_customers() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM public.customers';
CREATE ROLE dba LOGIN PASSWORD 'dba-password';
GRANT SELECT ON public.secrets TO dba WITH GRANT OPTION;
CREATE ROLE app LOGIN PASSWORD 'app-password';
GRANT CREATE ON SCHEMA public TO app;
CREATE ROLE readers NOLOGIN;
GRANT SELECT ON public.secrets TO readers;`;

const GRANTABLE = ["postgres:select:crm.public.customers@crm-prod", "postgres:select:crm.public.secrets@crm-prod", "postgres:select:crm.public.ticket_ids@crm-prod"];
const IDENTITY = "charter_agent_support_triage";
const triage = agent("support-triage", ["postgres:select:crm.public.customers@crm-prod"]);

let cluster: Cluster;
let provider: PostgresProvider;

beforeAll(async () => {
  cluster = await startCluster({ crm: CRM, hr: "CREATE TABLE public.salaries (id int)" }, GRANTABLE);
  provider = cluster.provider({ databases: ["crm"] });
});
afterAll(async () => {
  await cluster.stop();
});
// Every test starts from a converged, clean server: a test that leaves something behind fails the next one.
beforeEach(async () => {
  const { after } = await sync(provider, [triage]);
  expect(after).toEqual({ operations: [], findings: [] });
});

const asSuperuser = (sql: string): Promise<unknown> => cluster.sql("crm", sql);
const asProvisioner = (sql: string): Promise<unknown> => cluster.sqlAs("crm", PROVISIONER, cluster.provisionerPassword, sql);
const kinds = (findings: readonly DriftFinding[]): string[] => findings.map((f) => `${f.agent} ${f.kind}`).sort();

/** Runs SQL in crm through a fresh lease of the agent: what the agent can actually do. The rows of the last statement. */
async function asAgent(sql: string): Promise<unknown[]> {
  const lease = await provider.issueLease("support-triage", { ttlSeconds: 60, database: "crm" });
  const client = await login(lease.connectionString);
  try {
    const result: unknown = await client.query(sql);
    const last = (Array.isArray(result) ? result.at(-1) : result) as { rows: unknown[] };
    return last.rows;
  } finally {
    await client.end();
  }
}

/** Runs each finding's fix as the superuser (what the operator is told to do), in crm. */
async function runFixes(findings: readonly DriftFinding[]): Promise<void> {
  for (const f of findings) if (f.fix !== undefined) await asSuperuser(f.fix);
}

describe("postgres drift sees effective privileges", () => {
  it("a DBA's grant to the charter_managed marker reaches every agent: reported once, with the grantor's REVOKE", async () => {
    await cluster.sqlAs("crm", "dba", "dba-password", "GRANT SELECT ON public.secrets TO charter_managed");
    expect(await asAgent("SELECT ssn FROM public.secrets")).toEqual([{ ssn: "078-05-1120" }]);

    const { before, applied, after } = await sync(provider, [triage]);
    const finding = {
      provider: "postgres",
      instance: "crm-prod",
      agent: "*",
      kind: "foreign-grant",
      detail: "SELECT on table crm.public.secrets is granted to charter_managed, whose members are every agent's identity; it was granted by dba, and only that role (or a superuser acting as it) can revoke it",
      grantor: "dba",
      via: "charter_managed",
      fix: 'SET ROLE "dba"; REVOKE SELECT ON TABLE "public"."secrets" FROM "charter_managed"; RESET ROLE;',
    };
    expect(before).toEqual({ operations: [], findings: [finding] });
    expect(applied).toEqual([]);
    expect(after.findings).toEqual([finding]);

    await runFixes(after.findings);
    await expect(asAgent("SELECT ssn FROM public.secrets")).rejects.toThrow(/permission denied/);
  });

  it("a grant to the marker that the provisioner's credentials made is revoked by the sync", async () => {
    await asProvisioner("GRANT SELECT ON public.secrets TO charter_managed");
    const { before, applied, after } = await sync(provider, [triage]);
    expect(before.findings).toEqual([expect.objectContaining({ agent: "*", kind: "extra-grant", via: "charter_managed" })]);
    expect(applied.map((o) => [o.agent, o.action, o.target, o.status])).toEqual([["*", "revoke", "SELECT on table crm.public.secrets from charter_managed", "applied"]]);
    expect(after).toEqual({ operations: [], findings: [] });
  });

  it("a grant to a role the agent is made a member of: the membership and what it brings, removed by revoking the membership", async () => {
    await asSuperuser(`GRANT readers TO ${IDENTITY}`);
    expect(await asAgent("SELECT ssn FROM public.secrets")).toHaveLength(1);

    const { before, applied, after } = await sync(provider, [triage]);
    expect(before.findings).toEqual([
      expect.objectContaining({ agent: "support-triage", kind: "extra-membership", grantor: "postgres", detail: `${IDENTITY} is a member of readers (granted by postgres)` }),
      expect.objectContaining({
        agent: "support-triage",
        kind: "inherited-grant",
        grantor: "postgres",
        via: "readers",
        detail: "SELECT on table crm.public.secrets is granted to readers by postgres, and the agent holds it through membership",
        fix: `REVOKE "readers" FROM "${IDENTITY}";`,
      }),
    ]);
    expect(applied.map((o) => [o.action, o.target, o.status])).toEqual([["revoke-membership", `${IDENTITY} from readers`, "applied"]]);
    expect(after).toEqual({ operations: [], findings: [] });
    await expect(asAgent("SELECT ssn FROM public.secrets")).rejects.toThrow(/permission denied/);
  });

  it("membership in predefined roles, directly, through a group and through the marker, names each role's power", async () => {
    await asSuperuser(`GRANT pg_read_all_data TO ${IDENTITY}; GRANT pg_execute_server_program TO readers; GRANT readers TO ${IDENTITY}; GRANT pg_write_all_data TO charter_managed`);
    expect(await asAgent("SELECT ssn FROM public.secrets")).toHaveLength(1);

    const { before, applied, after } = await sync(provider, [triage]);
    const memberships = before.findings.filter((f) => f.kind === "extra-membership");
    expect(memberships.map((f) => [f.agent, f.detail, f.via])).toEqual([
      ["support-triage", `${IDENTITY} is a member of pg_read_all_data (granted by postgres): reads every table, view and sequence in every database, whatever their grants`, undefined],
      ["support-triage", `${IDENTITY} is a member of readers (granted by postgres)`, undefined],
      ["support-triage", `${IDENTITY} reaches pg_execute_server_program through readers: runs programs on the database server as its operating-system user (COPY … PROGRAM)`, "readers → pg_execute_server_program"],
      ["*", "charter_managed is a member of pg_write_all_data (granted by postgres): inserts, updates and deletes in every table, view and sequence in every database, whatever their grants", undefined],
    ]);
    expect(applied.filter((o) => o.action === "revoke-membership").map((o) => [o.agent, o.target, o.status])).toEqual([
      ["support-triage", `${IDENTITY} from pg_read_all_data`, "applied"],
      ["support-triage", `${IDENTITY} from readers`, "applied"],
      ["*", "charter_managed from pg_write_all_data", "applied"],
    ]);
    expect(after).toEqual({ operations: [], findings: [] });
    await asSuperuser("REVOKE pg_execute_server_program FROM readers");
  });

  it("SET ROLE to a role the identity is a member of without inheriting it (NOINHERIT) is still held", async () => {
    await asSuperuser(`ALTER ROLE ${IDENTITY} NOINHERIT; GRANT readers TO ${IDENTITY}`);
    // Not held directly, but one SET ROLE away.
    await expect(asAgent("SELECT ssn FROM public.secrets")).rejects.toThrow(/permission denied/);
    expect(await asAgent("SET ROLE readers; SELECT ssn FROM public.secrets")).toEqual([{ ssn: "078-05-1120" }]);

    const { before, after } = await sync(provider, [triage]);
    expect(before.findings.map((f) => [f.kind, f.via, f.detail])).toEqual([
      ["extra-membership", undefined, `${IDENTITY} is a member of readers (granted by postgres); its privileges are one SET ROLE readers away`],
      ["inherited-grant", "SET ROLE readers", "SELECT on table crm.public.secrets is granted to readers by postgres, and the agent holds it through membership"],
    ]);
    expect(after).toEqual({ operations: [], findings: [] });
    await expect(asAgent("SET ROLE readers")).rejects.toThrow(/permission denied to set role/);
    await asSuperuser(`ALTER ROLE ${IDENTITY} INHERIT`);
  });

  it("column-level grants: the provisioner's are revoked, a DBA's on the marker are reported with the column in the fix", async () => {
    await asProvisioner(`GRANT SELECT (ssn) ON public.secrets TO ${IDENTITY}`);
    await cluster.sqlAs("crm", "dba", "dba-password", "GRANT SELECT (ssn) ON public.secrets TO charter_managed");
    const { before, applied, after } = await sync(provider, [triage]);
    expect(before.findings.map((f) => [f.agent, f.kind, f.detail])).toEqual([
      ["support-triage", "extra-grant", `SELECT on column crm.public.secrets.ssn to ${IDENTITY} is held but not approved`],
      [
        "*",
        "foreign-grant",
        "SELECT on column crm.public.secrets.ssn is granted to charter_managed, whose members are every agent's identity; it was granted by dba, and only that role (or a superuser acting as it) can revoke it",
      ],
    ]);
    expect(applied.map((o) => [o.action, o.target, o.status])).toEqual([["revoke", `SELECT on column crm.public.secrets.ssn from ${IDENTITY}`, "applied"]]);
    expect(after.findings.map((f) => f.fix)).toEqual(['SET ROLE "dba"; REVOKE SELECT ("ssn") ON TABLE "public"."secrets" FROM "charter_managed"; RESET ROLE;']);
    await runFixes(after.findings);
    await expect(asAgent("SELECT ssn FROM public.secrets")).rejects.toThrow(/permission denied/);
  });

  it("ALTER DEFAULT PRIVILEGES … TO the marker is reported before any table it applies to exists", async () => {
    await cluster.sqlAs("crm", "app", "app-password", "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO charter_managed");
    const { before, after } = await sync(provider, [triage]);
    expect(before.findings).toEqual([
      expect.objectContaining({
        agent: "*",
        kind: "default-privilege",
        detail: "tables that app creates in schema crm.public will grant SELECT to charter_managed; only app (or a superuser) can change it",
        grantor: "app",
        via: "charter_managed",
        fix: 'ALTER DEFAULT PRIVILEGES FOR ROLE "app" IN SCHEMA "public" REVOKE SELECT ON TABLES FROM "charter_managed";',
      }),
    ]);
    await runFixes(after.findings);
    await cluster.sqlAs("crm", "app", "app-password", "CREATE TABLE public.app_later (id int)");
    await expect(asAgent("SELECT * FROM public.app_later")).rejects.toThrow(/permission denied/);
    await asSuperuser("DROP TABLE public.app_later");
  });

  it("default privileges of the provisioner itself to an identity are removed by the sync", async () => {
    await asProvisioner(`ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO ${IDENTITY}`);
    const { before, applied, after } = await sync(provider, [triage]);
    expect(before.findings).toEqual([expect.objectContaining({ agent: "support-triage", kind: "default-privilege" })]);
    expect(applied.map((o) => [o.action, o.status])).toEqual([["revoke-default", "applied"]]);
    expect(after).toEqual({ operations: [], findings: [] });
  });

  it("making the agent own a table: every privilege on it, reported with the ALTER … OWNER a superuser runs", async () => {
    await asSuperuser(`ALTER TABLE public.notes OWNER TO ${IDENTITY}`);
    expect(await asAgent("INSERT INTO public.notes VALUES (1) RETURNING id")).toEqual([{ id: 1 }]);
    const { before, after } = await sync(provider, [triage]);
    expect(before.findings).toEqual([
      expect.objectContaining({
        kind: "ownership",
        detail: `${IDENTITY} owns table crm.public.notes: every privilege on it, and the right to grant them`,
        fix: 'ALTER TABLE "public"."notes" OWNER TO CURRENT_USER;',
      }),
    ]);
    await runFixes(after.findings);
    await expect(asAgent("SELECT * FROM public.notes")).rejects.toThrow(/permission denied/);
    await asSuperuser("TRUNCATE public.notes");
  });

  it("ALTER ROLE … BYPASSRLS, SUPERUSER and CREATEDB: the sync removes CREATEDB, the others need a superuser", async () => {
    await asSuperuser(`ALTER ROLE ${IDENTITY} BYPASSRLS CREATEDB`);
    const first = await sync(provider, [triage]);
    expect(first.before.findings.map((f) => [f.kind, f.detail, f.fix])).toEqual([
      ["role-attribute", `identity role ${IDENTITY} has BYPASSRLS`, `ALTER ROLE "${IDENTITY}" NOBYPASSRLS;`],
      ["role-attribute", `identity role ${IDENTITY} has CREATEDB`, undefined],
    ]);
    expect(first.applied.map((o) => [o.action, o.status])).toEqual([["update-identity", "applied"]]);
    expect(first.after.findings.map((f) => f.detail)).toEqual([`identity role ${IDENTITY} has BYPASSRLS`]);
    await runFixes(first.after.findings);

    // (A lease cannot even be issued now: the provisioner may not add members to a superuser role.)
    await asSuperuser(`ALTER ROLE ${IDENTITY} SUPERUSER`);
    const second = await sync(provider, [triage]);
    expect(second.before.findings).toEqual([expect.objectContaining({ kind: "role-attribute", detail: `identity role ${IDENTITY} has SUPERUSER`, fix: `ALTER ROLE "${IDENTITY}" NOSUPERUSER;` })]);
    expect(second.before.operations).toEqual([]);
    await runFixes(second.after.findings);
  });

  it("a lease counts as the agent: its memberships are revoked, and a widened lease is dropped", async () => {
    const lease = await provider.issueLease("support-triage", { ttlSeconds: 600 });
    const other = await provider.issueLease("support-triage", { ttlSeconds: 600 });
    await asSuperuser(`GRANT pg_read_all_data TO ${lease.username}; ALTER ROLE ${other.username} CREATEROLE`);
    const { before, applied, after } = await sync(provider, [triage]);
    expect(kinds(before.findings)).toEqual(["support-triage extra-membership", "support-triage role-attribute"]);
    expect(before.findings.find((f) => f.kind === "role-attribute")).toMatchObject({ detail: `lease ${other.username} has CREATEROLE`, via: other.username });
    expect(applied.map((o) => [o.action, o.target, o.status]).sort()).toEqual([
      ["revoke-lease", other.username, "applied"],
      ["revoke-membership", `${lease.username} from pg_read_all_data`, "applied"],
    ]);
    expect(after).toEqual({ operations: [], findings: [] });
    expect(await cluster.sql("postgres", "SELECT 1 FROM pg_roles WHERE rolname = $1", [other.username])).toEqual([]);
  });

  it("another role made a member of the identity shares it: the sync revokes the membership", async () => {
    await asSuperuser(`CREATE ROLE alice LOGIN; GRANT ${IDENTITY} TO alice`);
    const { before, applied, after } = await sync(provider, [triage]);
    expect(before.findings.map((f) => [f.kind, f.detail])).toEqual([["extra-member", `role alice is a member of identity ${IDENTITY} and holds its privileges; an identity belongs to one agent`]]);
    expect(applied.map((o) => [o.action, o.target, o.status])).toEqual([["revoke-membership", `alice from ${IDENTITY}`, "applied"]]);
    expect(after).toEqual({ operations: [], findings: [] });
    await asSuperuser("DROP ROLE alice");
  });

  it("a DBA's grant to PUBLIC reaches every agent: reported once, via PUBLIC, with the REVOKE … FROM PUBLIC", async () => {
    await cluster.sqlAs("crm", "dba", "dba-password", "GRANT SELECT ON public.secrets TO PUBLIC");
    const { before, after } = await sync(provider, [triage]);
    expect(before.findings).toEqual([
      expect.objectContaining({ agent: "*", kind: "foreign-grant", grantor: "dba", via: "PUBLIC", fix: 'SET ROLE "dba"; REVOKE SELECT ON TABLE "public"."secrets" FROM PUBLIC; RESET ROLE;' }),
    ]);
    await runFixes(after.findings);
    await expect(asAgent("SELECT ssn FROM public.secrets")).rejects.toThrow(/permission denied/);
  });
});

describe("privileges on databases Charter does not manage", () => {
  it("are read cluster-wide: the provisioner's CONNECT on another database is revoked, a superuser's is reported", async () => {
    await asSuperuser("GRANT CONNECT ON DATABASE hr TO charter_provisioner WITH GRANT OPTION");
    await asProvisioner(`GRANT CONNECT ON DATABASE hr TO ${IDENTITY}`);
    const first = await sync(provider, [triage]);
    expect(first.before.findings.map((f) => [f.kind, f.detail])).toEqual([["extra-grant", `CONNECT on database hr to ${IDENTITY} is held but not approved`]]);
    expect(first.applied.map((o) => [o.action, o.target, o.status])).toEqual([["revoke", `CONNECT on database hr from ${IDENTITY}`, "applied"]]);
    expect(first.after).toEqual({ operations: [], findings: [] });

    await asSuperuser(`GRANT TEMPORARY ON DATABASE hr TO ${IDENTITY}; REVOKE CONNECT ON DATABASE hr FROM charter_provisioner CASCADE`);
    const second = await sync(provider, [triage]);
    expect(second.after.findings.map((f) => [f.kind, f.fix])).toEqual([["foreign-grant", `SET ROLE "postgres"; REVOKE TEMPORARY ON DATABASE "hr" FROM "${IDENTITY}"; RESET ROLE;`]]);
    await runFixes(second.after.findings);
  });
});

describe("approved grants", () => {
  it("an approved SELECT on a sequence converges: granted ON TABLE, read back as a sequence, the same grant", async () => {
    const counter = agent("ticket-counter", ["postgres:select:crm.public.ticket_ids@crm-prod"]);
    const first = await sync(provider, [triage, counter]);
    expect(first.applied.filter((o) => o.status !== "applied")).toEqual([]);
    expect(first.after).toEqual({ operations: [], findings: [] });
    expect((await sync(provider, [triage, { ...counter, status: "retired" }])).after).toEqual({ operations: [], findings: [] });
  });
});

describe("PostgreSQL's built-in defaults", () => {
  it("are not reported: CONNECT and TEMPORARY on databases, EXECUTE on plain functions, USAGE on public and languages, the catalogs", async () => {
    // The fresh server of beforeEach has all of these, and the agent uses them:
    expect(await asAgent("SELECT public.count_customers() AS n, (SELECT count(*) FROM pg_catalog.pg_class) > 0 AS catalogs")).toEqual([{ n: "1", catalogs: true }]);
    expect(await asAgent("CREATE TEMPORARY TABLE scratch (id int); DO $$ BEGIN PERFORM 1; END $$; SELECT 1 AS ok")).toBeDefined();
    const { before } = await sync(provider, [triage]);
    expect(before.findings).toEqual([]);
  });

  it("a SECURITY DEFINER function PUBLIC may execute by default is reported: it runs as its owner", async () => {
    await asSuperuser("CREATE FUNCTION public.export_secrets() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER AS 'SELECT ssn FROM public.secrets'");
    expect(await asAgent("SELECT public.export_secrets() AS ssn")).toEqual([{ ssn: "078-05-1120" }]);
    const { before, after } = await sync(provider, [triage]);
    expect(before.findings).toEqual([
      expect.objectContaining({
        agent: "*",
        kind: "foreign-grant",
        via: "PUBLIC",
        detail: "EXECUTE on function crm.public.export_secrets() (SECURITY DEFINER: it runs as its owner) is granted to PUBLIC, so every role holds it; it was granted by postgres, and only that role (or a superuser acting as it) can revoke it",
        fix: 'SET ROLE "postgres"; REVOKE EXECUTE ON FUNCTION "public"."export_secrets"() FROM PUBLIC; RESET ROLE;',
      }),
    ]);
    await runFixes(after.findings);
    await expect(asAgent("SELECT public.export_secrets()")).rejects.toThrow(/permission denied/);
    await asSuperuser("DROP FUNCTION public.export_secrets()");
  });

  it("a system function granted beyond its initial privileges is reported, with its argument types", async () => {
    await asSuperuser("GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_file(text) TO PUBLIC");
    const { before, after } = await sync(provider, [triage]);
    expect(before.findings.map((f) => [f.agent, f.kind, f.via, f.fix])).toEqual([
      ["*", "foreign-grant", "PUBLIC", 'SET ROLE "postgres"; REVOKE EXECUTE ON FUNCTION "pg_catalog"."pg_read_file"("pg_catalog"."text") FROM PUBLIC; RESET ROLE;'],
    ]);
    await runFixes(after.findings);
  });

  it("CREATE on a database or on the public schema for PUBLIC is not a default and is reported", async () => {
    await asSuperuser("GRANT CREATE ON DATABASE crm TO PUBLIC; GRANT CREATE ON SCHEMA public TO PUBLIC");
    const { before, after } = await sync(provider, [triage]);
    expect(before.findings.map((f) => [f.kind, f.detail.split(" is granted")[0], f.fix])).toEqual([
      ["foreign-grant", "CREATE on database crm", 'SET ROLE "postgres"; REVOKE CREATE ON DATABASE "crm" FROM PUBLIC; RESET ROLE;'],
      ["foreign-grant", "CREATE on schema crm.public", 'SET ROLE "pg_database_owner"; REVOKE CREATE ON SCHEMA "public" FROM PUBLIC; RESET ROLE;'],
    ]);
    await runFixes(after.findings);
  });
});

describe("the catalog read", () => {
  it("is one statement per observed database, the cluster-wide part riding with the connection's database, however many agents", async () => {
    const count = async (): Promise<{ statements: Record<string, number>; identities: number }> => {
      const connections = openConnections(cluster.server.urlFor("crm", PROVISIONER, cluster.provisionerPassword));
      const statements: Record<string, number> = {};
      const wrapped = new WeakSet<object>();
      const counted = {
        ...connections,
        defaultDatabase: connections.defaultDatabase,
        client: async (database?: string) => {
          const client = await connections.client(database);
          if (wrapped.has(client)) return client;
          wrapped.add(client);
          const query = client.query.bind(client) as (...args: unknown[]) => unknown;
          const name = database ?? connections.defaultDatabase;
          // Counting only: every statement still goes to the server.
          (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
            statements[name] = (statements[name] ?? 0) + 1;
            return query(...args);
          };
          return client;
        },
      };
      try {
        const observed = await observe({ instance: INSTANCE, names: roleNames(), connections: counted, databases: ["crm", "hr"] });
        return { statements, identities: observed.identities.length };
      } finally {
        await connections.close();
      }
    };
    const few = await count();
    const many = Array.from({ length: 30 }, (_, i) => agent(`reader-${String(i)}`, ["postgres:select:crm.public.customers@crm-prod"]));
    expect((await sync(provider, [triage, ...many])).after.operations).toEqual([]);
    const more = await count();
    expect(few).toEqual({ statements: { crm: 1, hr: 1 }, identities: 1 });
    expect(more).toEqual({ statements: { crm: 1, hr: 1 }, identities: 31 });
    const retired = many.map((a) => ({ ...a, status: "retired" as const }));
    expect((await sync(provider, [triage, ...retired])).after).toEqual({ operations: [], findings: [] });
  });
});
