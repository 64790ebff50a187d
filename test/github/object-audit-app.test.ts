import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DriftRecord, ProvisioningRecord } from "../../src/schema-types/evidence-record.generated.js";
import type { RepositorySchedule } from "../../src/github/scheduled/schedule.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { agentFiles, mutate, VALID_MANIFEST } from "../helpers/manifests.js";
import { ledger } from "../helpers/evidence-branch.js";
import { type Cluster, PROVISIONER, startCluster } from "../providers/postgres/fixture.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

/**
 * The app keeps pgaudit object auditing in step with the resource catalog, as `charter sync`
 * does: after a merge, from the catalog that merge left on the default branch, and in its drift
 * checks. A real PostgreSQL 15 with pgaudit; the expected grants are written out here.
 */
const KEYS = generateSignerKey("charter-test-object-audit-app");
const CATALOG_PATH = ".github/charter-resources.yml";
const AUDITOR = "charter_auditor";
const POLICY = `version: 1
rules:
  - name: Owners approve agent changes
    require: { approvals: 1, from: { owners: true } }
governance:
  require: { approvals: 1, from: { teams: [acme/security] } }
provisioning:
  providers:
    local: { enabled: false }
    postgres:
      - instance: shop-prod
        databases: [shop]
        objectAudit: { privileges: [select, update] }
`;
const CATALOG = `apiVersion: charter/v1
kind: ResourceCatalog
resources:
  - match: postgres:shop.public.orders@shop-prod
    dataClasses: [customer-pii]
`;
const AGENT = mutate(VALID_MANIFEST, "  - user: alice\n  - team: acme/support\n", "  - user: alice\n");

let cluster: Cluster;
let fx: AppFixture | undefined;

beforeAll(async () => {
  cluster = await startCluster({ shop: "CREATE TABLE orders (id int); CREATE TABLE refunds (id int); CREATE TABLE notes (id int)" }, ["postgres:select:shop.public.orders@shop-prod"], { audit: true });
  // The documented setup: a NOLOGIN auditor role named by pgaudit.role, and a provisioner that may grant the audited privileges.
  await cluster.sql("postgres", `CREATE ROLE ${AUDITOR} NOLOGIN; ALTER DATABASE shop SET pgaudit.role = '${AUDITOR}'`);
  await cluster.sql("shop", `GRANT SELECT, UPDATE ON ALL TABLES IN SCHEMA public TO ${PROVISIONER} WITH GRANT OPTION`);
}, 120_000);
afterAll(async () => {
  await cluster.stop();
});
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

/** The auditor role's table privileges: "table PRIVILEGE". */
async function auditorGrants(): Promise<string[]> {
  const rows = await cluster.sql<{ g: string }>(
    "shop",
    `SELECT c.relname || ' ' || a.privilege_type AS g FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
     WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1) ORDER BY 1`,
    [AUDITOR],
  );
  return rows.map((r) => r.g);
}

async function merge(f: AppFixture, branch: string, files: Record<string, string>, approver: string): Promise<void> {
  const { pull } = await f.sim.openPullRequest(f.repo, { author: "bob", branch, title: branch, body: "## Rollback plan\nRevert.\n", files });
  await f.sim.submitReview(pull, { user: approver, state: "APPROVED" });
  await f.sim.mergePullRequest(pull, { by: approver });
  await f.sim.idle();
}

describe("the app's object auditing", () => {
  it("grants the auditor role the classified tables after a merge, follows a merged reclassification, and reports a revoked audit grant as drift", async () => {
    const environment = { CHARTER_POSTGRES_URL_SHOP_PROD: cluster.server.urlFor("postgres", PROVISIONER, cluster.provisionerPassword) };
    let schedule: RepositorySchedule | undefined;
    let now = new Date("2026-11-30T10:00:00Z");
    fx = await startCharter({ "README.md": "# agents\n", ".github/charter.yml": POLICY, [CATALOG_PATH]: CATALOG }, { signingKey: KEYS.signerKey, environment, now: () => now, onSchedule: (s) => (schedule = s) });
    fx.sim.addTeam("acme", "security", ["sam"]);

    await merge(fx, "create", agentFiles("sample-agent", AGENT), "alice");
    const first = ledger(fx.sim, fx.repo).filter((r): r is ProvisioningRecord => r.kind === "provisioning");
    expect(first).toHaveLength(1);
    expect(first[0]?.body.outcome).toBe("converged");
    expect(first[0]?.body.applied.filter((op) => op.action === "audit-grant").map((op) => op.target)).toEqual([`SELECT, UPDATE on table shop.public.orders to ${AUDITOR}`]);
    expect(await auditorGrants()).toEqual(["orders SELECT", "orders UPDATE"]);

    // A change to the catalog alone is a governance change; once merged, its provisioning pass audits refunds too.
    await merge(fx, "classify-refunds", { [CATALOG_PATH]: `${CATALOG}  - match: postgres:shop.public.refunds@shop-prod\n    dataClasses: [financial]\n` }, "sam");
    const second = ledger(fx.sim, fx.repo).filter((r): r is ProvisioningRecord => r.kind === "provisioning");
    expect(second).toHaveLength(2);
    expect(second[1]?.body.applied.filter((op) => op.action === "audit-grant").map((op) => op.target)).toEqual([`SELECT, UPDATE on table shop.public.refunds to ${AUDITOR}`]);
    expect(await auditorGrants()).toEqual(["orders SELECT", "orders UPDATE", "refunds SELECT", "refunds UPDATE"]);

    await schedule?.tick();
    expect(ledger(fx.sim, fx.repo).filter((r) => r.kind === "drift")).toEqual([]);
    // Someone quietly stops the auditing of reads on orders: the next drift check records it, with the fix.
    await cluster.sql("shop", `SET ROLE ${PROVISIONER}; REVOKE SELECT ON orders FROM ${AUDITOR}; RESET ROLE`);
    now = new Date("2026-11-30T12:00:00Z");
    await schedule?.tick();
    const drift = ledger(fx.sim, fx.repo).filter((r): r is DriftRecord => r.kind === "drift");
    expect(drift).toHaveLength(1);
    expect(drift[0]?.body.findings.map((f) => [f.agent, f.kind, f.detail.split(":")[0]])).toEqual([["*", "missing-audit-grant", `SELECT on table shop.public.orders to ${AUDITOR}`]]);
    expect(fx.sim.rejected).toEqual([]);
  });
});
