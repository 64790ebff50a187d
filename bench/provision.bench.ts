import pg from "pg";
import { parsePermission, type Permission } from "../src/manifest/permission.js";
import type { DesiredAgent, ProviderDiff } from "../src/provision/provider.js";
import { createPostgresProvider, provisionerSetup, type PostgresProvider } from "../src/providers/postgres/index.js";
import { startPostgres } from "../test/helpers/postgres.js";
import { report, round, time } from "./measure.js";

const AGENTS = Number(process.env["CHARTER_BENCH_PROVISION_AGENTS"] ?? 1000);
const TABLES = 50;
const INSTANCE = "crm-prod";
const PROVISIONER = "charter_provisioner";
const PASSWORD = "bench-provisioner";

function permission(raw: string): Permission {
  const parsed = parsePermission(raw);
  if (!parsed.ok) throw new Error(`bench permission ${raw}: ${parsed.reason}`);
  return parsed.permission;
}

/** Agent i reads 2 or 3 of the 50 tables, spread so that every table is shared by many agents. */
function desiredAgents(count: number): DesiredAgent[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `agent-${String(i).padStart(4, "0")}`,
    status: "active" as const,
    commit: "a".repeat(40),
    manifestSha256: "b".repeat(64),
    permissions: Array.from({ length: 2 + (i % 2) }, (_, k) => permission(`postgres:select:crm.public.t${String((i * 7 + k * 13) % TABLES)}@${INSTANCE}`)),
    maxLifetimeSeconds: 3600,
    maxConcurrentSessions: 2,
  }));
}

async function sync(provider: PostgresProvider, desired: readonly DesiredAgent[]): Promise<{ diff: ProviderDiff; failed: number }> {
  const diff = provider.diff(desired, await provider.observe(), { prune: false });
  const applied = await provider.apply(diff.operations);
  return { diff, failed: applied.filter((o) => o.status !== "applied").length };
}

/**
 * Provisioning 1,000 agents (2–3 table grants each, one database) on a throwaway PostgreSQL 15
 * as the documented non-superuser provisioner: the first sync, which creates every identity and
 * grant, against a no-op re-sync, which only observes and diffs. The ratio is what a periodic
 * drift check costs relative to provisioning from scratch.
 */
export async function run(): Promise<void> {
  const server = await startPostgres();
  const provider = createPostgresProvider({ instance: INSTANCE, connectionString: server.urlFor("crm", PROVISIONER, PASSWORD), databases: ["crm"] });
  try {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query("CREATE DATABASE crm");
    await admin.end();
    const crm = new pg.Client({ connectionString: server.urlFor("crm") });
    await crm.connect();
    await crm.query(Array.from({ length: TABLES }, (_, t) => `CREATE TABLE public.t${String(t)} (id int)`).join(";\n"));
    const setup = provisionerSetup({ role: PROVISIONER, permissions: Array.from({ length: TABLES }, (_, t) => permission(`postgres:select:crm.public.t${String(t)}@${INSTANCE}`)) });
    await crm.query([...setup.cluster, `ALTER ROLE ${PROVISIONER} PASSWORD ${pg.escapeLiteral(PASSWORD)}`].join(";\n"));
    for (const { statements } of setup.databases) await crm.query(statements.join(";\n"));
    await crm.end();

    const desired = desiredAgents(AGENTS);
    let first = { diff: { operations: [], findings: [] } as ProviderDiff, failed: 0 };
    const firstMs = await time(async () => {
      first = await sync(provider, desired);
    });
    let noop = { diff: { operations: [], findings: [] } as ProviderDiff, failed: 0 };
    const noopMs = await time(async () => {
      noop = await sync(provider, desired);
    });
    if (first.failed > 0) throw new Error(`provision bench: ${first.failed} steps failed on the first sync`);
    if (noop.diff.operations.length > 0 || noop.diff.findings.length > 0) throw new Error("provision bench: the re-sync was not a no-op");
    report({
      bench: "provision",
      agents: AGENTS,
      operations: first.diff.operations.length,
      first_sync_ms: round(firstMs),
      per_agent_ms: round(firstMs / AGENTS, 2),
      noop_sync_ms: round(noopMs),
      baseline: "first sync (create every identity and grant)",
      ratio: round(noopMs / firstMs, 3),
    });
  } finally {
    await provider.close();
    server.stop();
  }
}
