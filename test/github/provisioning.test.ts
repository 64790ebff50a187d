import { mkdtempSync, rmSync } from "node:fs";
import { generateKeyPairSync } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DriftRecord, ProvisioningRecord } from "../../src/schema-types/evidence-record.generated.js";
import type { RepositorySchedule } from "../../src/github/scheduled/schedule.js";
import type { Issue } from "../github-sim/state.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { issueToken, LocalRegistry, loadSigningKey } from "../../src/providers/local/index.js";
import { identityRoleName, roleNames } from "../../src/providers/postgres/index.js";
import { agentFiles, mutate, VALID_MANIFEST } from "../helpers/manifests.js";
import { type Cluster, PROVISIONER, startCluster } from "../providers/postgres/fixture.js";
import { ledger } from "../helpers/evidence-branch.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

const KEYS = generateSignerKey("charter-test-provisioning");
const POLICY = `version: 1
rules:
  - name: Owners approve agent changes
    require: { approvals: 1, from: { owners: true } }
provisioning:
  providers:
    local: { enabled: true }
    postgres:
      - instance: shop-prod
        databases: [shop]
`;
const AGENT = mutate(
  mutate(VALID_MANIFEST, "  - user: alice\n  - team: acme/support\n", "  - user: alice\n"),
  "credentials:",
  "  - name: order_api\n    description: Read one order from the shop's API.\n    permissions:\n      - http:get:api.shop.example/v1/orders/*\ncredentials:",
);
const RETIRED = `${mutate(AGENT, "status: active", "status: retired").replace(/tools:\n[\s\S]*?credentials:/, "tools: []\ncredentials:")}retirement:\n  date: "2026-11-27"\n  reason: Replaced by a reviewed workflow.\n`;

let cluster: Cluster;
let fx: AppFixture | undefined;
const dirs: string[] = [];

beforeAll(async () => {
  cluster = await startCluster({ shop: "CREATE TABLE orders (id int); CREATE TABLE refunds (id int); INSERT INTO orders VALUES (1);" }, ["postgres:select:shop.public.orders@shop-prod"]);
});
afterAll(async () => {
  await cluster.stop();
});
afterEach(async () => {
  await fx?.close();
  fx = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function mergeApproved(f: AppFixture, branch: string, files: Record<string, string>): Promise<void> {
  const { pull } = await f.sim.openPullRequest(f.repo, { author: "bob", branch, title: branch, body: "## Rollback plan\nRevert.\n", files });
  await f.sim.submitReview(pull, { user: "alice", state: "APPROVED" });
  await f.sim.mergePullRequest(pull, { by: "alice" });
  await f.sim.idle();
}

async function roleExists(name: string): Promise<boolean> {
  return (await cluster.sql("postgres", "SELECT 1 FROM pg_roles WHERE rolname = $1", [name])).length === 1;
}

describe("provisioning after an approved merge", () => {
  it("creates the agent's PostgreSQL identity and local identity, records it, and removes both on retirement", async () => {
    const dir = mkdtempSync(join(tmpdir(), "charter-provisioning-"));
    dirs.push(dir);
    const localDb = join(dir, "local.sqlite");
    const environment = { CHARTER_LOCAL_DB: localDb, CHARTER_POSTGRES_URL_SHOP_PROD: cluster.server.urlFor("postgres", PROVISIONER, cluster.provisionerPassword) };
    fx = await startCharter({ "README.md": "# agents\n", ".github/charter.yml": POLICY }, { signingKey: KEYS.signerKey, environment });

    await mergeApproved(fx, "create", agentFiles("sample-agent", AGENT));
    const afterCreate = ledger(fx.sim, fx.repo);
    const change = afterCreate.find((r) => r.kind === "change");
    const provisioning = afterCreate.filter((r): r is ProvisioningRecord => r.kind === "provisioning");
    expect(provisioning).toHaveLength(1);
    expect(provisioning[0]?.body).toMatchObject({ source: "change", after: { seq: change?.seq }, agents: ["sample-agent"], outcome: "converged", verification: { remaining: [], escalations: [] } });
    expect(provisioning[0]?.body.applied.every((op) => op.status === "applied")).toBe(true);
    expect(JSON.stringify(provisioning[0])).not.toContain(cluster.provisionerPassword);

    const role = identityRoleName(roleNames(), "sample-agent");
    expect(await roleExists(role)).toBe(true);
    const grants = await cluster.sql<{ privilege_type: string; table_name: string }>("shop", "SELECT privilege_type, table_name FROM information_schema.role_table_grants WHERE grantee = $1", [role]);
    expect(grants).toEqual([{ privilege_type: "SELECT", table_name: "orders" }]);

    const registry = LocalRegistry.open(localDb);
    try {
      expect(registry.identity("sample-agent")).toMatchObject({ status: "active", maxLifetimeSeconds: 3600 });
      const { privateKey } = generateKeyPairSync("ed25519");
      const token = issueToken(registry, loadSigningKey(privateKey.export({ format: "pem", type: "pkcs8" }).toString()), "sample-agent", { issuer: "charter" });
      // The token carries what gateways enforce; the database enforces its own grants.
      expect(token.claims.permissions).toEqual(["http:get:api.shop.example/v1/orders/*"]);
    } finally {
      registry.close();
    }

    await mergeApproved(fx, "retire", { "agents/sample-agent/agent.yaml": RETIRED });
    const retired = ledger(fx.sim, fx.repo).filter((r): r is ProvisioningRecord => r.kind === "provisioning");
    expect(retired).toHaveLength(2);
    expect(retired[1]?.body.outcome).toBe("converged");
    expect(retired[1]?.body.applied.map((op) => op.action)).toContain("deprovision");
    expect(await roleExists(role)).toBe(false);
    const after = LocalRegistry.open(localDb);
    try {
      expect(after.identity("sample-agent")?.status).toBe("revoked");
    } finally {
      after.close();
    }
    expect(fx.sim.rejected).toEqual([]);
  });

  it("reports a grant made by hand as drift: one issue for the agent, one drift record a day", async () => {
    const dir = mkdtempSync(join(tmpdir(), "charter-drift-"));
    dirs.push(dir);
    const environment = { CHARTER_LOCAL_DB: join(dir, "local.sqlite"), CHARTER_POSTGRES_URL_SHOP_PROD: cluster.server.urlFor("postgres", PROVISIONER, cluster.provisionerPassword) };
    let schedule: RepositorySchedule | undefined;
    let now = new Date("2026-11-27T10:00:00Z");
    fx = await startCharter({ "README.md": "# agents\n", ".github/charter.yml": POLICY }, { signingKey: KEYS.signerKey, environment, now: () => now, onSchedule: (s) => (schedule = s) });
    await mergeApproved(fx, "create", agentFiles("drifting-agent", AGENT.replace("id: sample-agent", "id: drifting-agent")));
    await schedule?.tick();
    expect(ledger(fx.sim, fx.repo).filter((r) => r.kind === "drift")).toEqual([]);

    const role = identityRoleName(roleNames(), "drifting-agent");
    // One grant to the agent's identity, one to the marker role every identity belongs to.
    await cluster.sql("shop", `GRANT SELECT ON refunds TO ${role}; GRANT UPDATE ON refunds TO charter_managed`);
    now = new Date("2026-11-27T12:00:00Z");
    await schedule?.tick();
    const drift = ledger(fx.sim, fx.repo).filter((r): r is DriftRecord => r.kind === "drift");
    expect(drift).toHaveLength(1);
    const refunds = drift[0]?.body.findings.find((f) => f.detail.includes("refunds") && f.agent !== "*");
    expect(refunds).toMatchObject({ agent: "drifting-agent", provider: "postgres", instance: "shop-prod", fix: `SET ROLE "postgres"; REVOKE SELECT ON TABLE "public"."refunds" FROM "${role}"; RESET ROLE;` });
    expect(drift[0]?.body.findings.find((f) => f.agent === "*")).toMatchObject({ kind: "foreign-grant", via: "charter_managed" });
    const issues = [...fx.sim.core.state.issues.values()].filter((i) => i.labels.includes("charter-drift"));
    expect(issues.map((i) => i.title)).toEqual(["Drift: every agent holds access no manifest approves", "Drift: agent drifting-agent differs from its approved manifest"]);
    expect(drift[0]?.body.issues).toEqual(issues.map((i) => i.number));
    expect(issues[1]?.body).toContain("refunds");
    expect(issues[0]?.body).toContain('```sql\n  SET ROLE "postgres"; REVOKE UPDATE ON TABLE "public"."refunds" FROM "charter_managed"; RESET ROLE;\n  ```');

    // Still there two hours later: the same issue is told, and the same findings are not recorded twice that day.
    now = new Date("2026-11-27T14:00:00Z");
    await schedule?.tick();
    expect(ledger(fx.sim, fx.repo).filter((r) => r.kind === "drift")).toHaveLength(1);
    expect([...fx.sim.core.state.issues.values()].filter((i) => i.labels.includes("charter-drift"))).toHaveLength(2);
    expect(fx.sim.commentsOn(issues[1] as Issue).some((c) => c.body.startsWith("Drift is still present"))).toBe(true);
    expect(fx.sim.rejected).toEqual([]);
    // The marker's grant reaches every agent on the server, including the other tests' agents.
    await cluster.sql("shop", "REVOKE UPDATE ON refunds FROM charter_managed");
  });

  it("finishes provisioning that did not complete when the reconciler next runs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "charter-unprovisioned-"));
    dirs.push(dir);
    // The secrets are missing at merge time (a deployment mistake): the change is recorded, its
    // provisioning fails to start. Once they are set, reconciliation finishes it.
    const environment: Record<string, string | undefined> = {};
    let schedule: RepositorySchedule | undefined;
    fx = await startCharter({ "README.md": "# agents\n", ".github/charter.yml": POLICY }, { signingKey: KEYS.signerKey, environment, onSchedule: (s) => (schedule = s) });
    await mergeApproved(fx, "create", agentFiles("late-agent", AGENT.replace("id: sample-agent", "id: late-agent")));
    expect(ledger(fx.sim, fx.repo).map((r) => r.kind)).toEqual(["genesis", "change"]);

    environment["CHARTER_LOCAL_DB"] = join(dir, "local.sqlite");
    environment["CHARTER_POSTGRES_URL_SHOP_PROD"] = cluster.server.urlFor("postgres", PROVISIONER, cluster.provisionerPassword);
    await schedule?.tick();
    const records = ledger(fx.sim, fx.repo);
    const change = records.find((r) => r.kind === "change");
    const provisioning = records.filter((r): r is ProvisioningRecord => r.kind === "provisioning");
    expect(provisioning.map((r) => [r.body.after?.seq, r.body.outcome])).toEqual([[change?.seq, "converged"]]);
    expect(await roleExists(identityRoleName(roleNames(), "late-agent"))).toBe(true);
    // Nothing is left to finish: another reconciliation adds nothing.
    await schedule?.tick();
    expect(ledger(fx.sim, fx.repo).filter((r) => r.kind === "provisioning")).toHaveLength(1);
  });

  it("fails the pull request's check on a permission no configured provider enforces", async () => {
    fx = await startCharter({ "README.md": "# agents\n", ".github/charter.yml": POLICY }, { signingKey: KEYS.signerKey, environment: {} });
    const text = mutate(AGENT, "      - postgres:select:shop.public.orders@shop-prod\n", "      - postgres:select:shop.public.orders@shop-prod\n      - postgres:select:billing.public.invoices@billing-prod\n");
    const { sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "unenforceable", title: "Invoices", body: "## Rollback plan\nRevert.\n", files: agentFiles("sample-agent", text) });
    const run = fx.sim.checkRunsFor(fx.repo, sha).find((r) => r.name === "Charter");
    expect(run?.conclusion).toBe("failure");
    const line = text.split("\n").findIndex((l) => l.includes("billing-prod")) + 1;
    expect(run?.output.annotations).toContainEqual(expect.objectContaining({ path: "agents/sample-agent/agent.yaml", start_line: line, annotation_level: "failure" }));
    expect(run?.output.annotations.some((a) => a.message.includes("billing-prod"))).toBe(true);
  });
});
