import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isCharterError } from "../../../src/errors.js";
import type { Permission } from "../../../src/manifest/permission.js";
import type { PlannedOperation } from "../../../src/provision/provider.js";
import { createPostgresProvider, type PostgresProvider } from "../../../src/providers/postgres/index.js";
import { agent, type Cluster, login, PROVISIONER, startCluster, sync } from "./fixture.js";

// A table whose name is legal only when quoted, and carries an injection attempt.
const HOSTILE_TABLE = `we'ird"; DROP TABLE canary; --`;
const HOSTILE_SQL = HOSTILE_TABLE.replaceAll('"', '""');

const CRM = `
CREATE TABLE public.canary (id int); INSERT INTO public.canary VALUES (42);
CREATE TABLE public.customers (id int);
CREATE TABLE public."${HOSTILE_SQL}" (id int); INSERT INTO public."${HOSTILE_SQL}" VALUES (7);`;

let cluster: Cluster;
let provider: PostgresProvider;

/** Agent ids and resources arrive from pull requests; these bypass the manifest parser on purpose. */
const raw = (action: string, resource: string): Permission => ({ raw: `postgres:${action}:${resource}@crm-prod`, system: "postgres", action, resource, instance: "crm-prod" });

beforeAll(async () => {
  cluster = await startCluster({ crm: CRM }, ["postgres:select:crm.public.customers@crm-prod"]);
  await cluster.sql("crm", `GRANT SELECT ON public."${HOSTILE_SQL}" TO ${PROVISIONER} WITH GRANT OPTION`);
  provider = cluster.provider({ databases: ["crm"] });
});
afterAll(async () => {
  await cluster.stop();
});

async function nothingWasExecuted(): Promise<void> {
  expect(await cluster.sql("crm", "SELECT id FROM public.canary")).toEqual([{ id: 42 }]);
  const roles = await cluster.sql<{ rolname: string }>("postgres", "SELECT rolname FROM pg_roles WHERE rolname IN ('postgres', $1) ORDER BY rolname", [PROVISIONER]);
  expect(roles.map((r) => r.rolname)).toEqual([PROVISIONER, "postgres"]);
}

describe("postgres provider against hostile input", () => {
  it("refuses an agent id that is not a DNS label: no role name is derived from it", async () => {
    const ids = [`x"; DROP ROLE ${PROVISIONER}; --`, "x'; DROP TABLE canary; --", "Upper", "a_b", "-a", ""];
    const desired = ids.map((id) => agent(id, ["postgres:select:crm.public.customers@crm-prod"]));
    const { before, applied } = await sync(provider, desired);
    expect(before.operations).toEqual([]);
    expect(applied).toEqual([]);
    expect(before.findings.map((f) => [f.agent, f.kind])).toEqual(ids.map((id) => [id, "invalid-agent"]).sort((a, b) => ((a[0] ?? "") < (b[0] ?? "") ? -1 : 1)));
    for (const id of ids) {
      await expect(provider.issueLease(id, { ttlSeconds: 60 })).rejects.toSatisfy((e) => isCharterError(e) && e.code === "INVALID_CONFIG");
    }
    await nothingWasExecuted();
  });

  it("quotes resource names: an injected name fails as a missing object, a hostile real name is granted exactly", async () => {
    const desired = [
      { ...agent("quoting", []), permissions: [raw("select", `crm.public.customers"; DROP TABLE canary; --`), raw("select", `crm.public.${HOSTILE_TABLE}`)] },
    ];
    const { applied, after } = await sync(provider, desired);
    const failed = applied.filter((o) => o.status === "failed");
    expect(failed.map((o) => o.target)).toEqual([`SELECT on table crm.public.customers"; DROP TABLE canary; -- to charter_agent_quoting`]);
    expect(failed[0]?.error).toMatch(/relation "public\.customers"; DROP TABLE canary; --" does not exist/);
    // The failed grant is still wanted: the plan after applying says so, for escalation.
    expect(after.operations.map((o) => o.target)).toEqual(failed.map((o) => o.target));
    await nothingWasExecuted();

    const lease = await provider.issueLease("quoting", { ttlSeconds: 60, database: "crm" });
    const client = await login(lease.connectionString);
    try {
      expect((await client.query(`SELECT id FROM public."${HOSTILE_SQL}"`)).rows).toEqual([{ id: 7 }]);
      await expect(client.query("SELECT id FROM public.customers")).rejects.toThrow(/permission denied/);
    } finally {
      await client.end();
    }
  });

  it("stores hostile commit text in the role comment verbatim, as a literal", async () => {
    const commit = `'); DROP TABLE canary; -- $$ \\ "`;
    const { applied, after } = await sync(provider, [agent("literal", ["postgres:select:crm.public.customers@crm-prod"], { commit })]);
    expect(applied.every((o) => o.status === "applied")).toBe(true);
    expect(after.operations).toEqual([]);
    // "quoting" from the previous test is not in this desired list: it is reported, not touched.
    expect(after.findings.map((f) => [f.agent, f.kind])).toEqual([["quoting", "orphaned-identity"]]);
    const [row] = await cluster.sql<{ comment: string }>("postgres", "SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = 'charter_agent_literal'");
    expect((JSON.parse(row?.comment ?? "{}") as { commit: string }).commit).toBe(commit);
    await nothingWasExecuted();
  });

  it("refuses forged steps that would touch roles other than Charter's", async () => {
    const forged: PlannedOperation[] = [
      { provider: "postgres", agent: "x", action: "drop-identity", target: PROVISIONER, payload: { type: "drop-role", role: PROVISIONER } },
      { provider: "postgres", agent: "x", action: "grant", target: "postgres", payload: { type: "grant", role: "postgres", grant: { database: "crm", kind: "table", path: ["public", "canary"], privilege: "SELECT" } } },
      { provider: "postgres", agent: "x", action: "grant", target: "x", payload: { type: "grant", role: "charter_agent_literal", grant: { database: "crm", kind: "table", path: ["public", "canary"], privilege: "ALL; DROP TABLE canary" } } },
      { provider: "postgres", agent: "x", action: "drop-identity", target: "x", payload: "DROP TABLE canary" },
    ];
    const results = await provider.apply(forged);
    expect(results.map((r) => r.status)).toEqual(["failed", "failed", "failed", "failed"]);
    expect(results.map((r) => r.error)).toEqual([
      `refusing to alter "${PROVISIONER}": not a Charter identity or lease role`,
      `refusing to alter "postgres": not a Charter identity or lease role`,
      'postgres: refusing unknown privilege "ALL; DROP TABLE canary"',
      "not a postgres provider step",
    ]);
    expect(results.every((r) => !("payload" in r))).toBe(true);
    await nothingWasExecuted();
  });

  it("refuses a role prefix or instance that is not a plain name", () => {
    const base = { instance: "crm-prod", connectionString: cluster.server.url };
    for (const options of [{ ...base, rolePrefix: 'x"; DROP ROLE postgres; --' }, { ...base, instance: "crm'prod" }]) {
      expect(() => createPostgresProvider(options)).toThrow(expect.objectContaining({ code: "INVALID_CONFIG" }) as Error);
    }
  });
});
