import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ProvisioningOperation } from "../../src/schema-types/evidence-record.generated.js";
import { validateRecord } from "../../src/evidence/record.js";
import type { Permission } from "../../src/manifest/permission.js";
import { issueToken, LocalProvider, LocalRegistry, loadSigningKey } from "../../src/providers/local/index.js";
import { desiredState } from "../../src/provision/desired-state.js";
import { detectDrift, sync } from "../../src/provision/engine.js";
import type { DesiredAgent, PlannedOperation, Provider, ProviderDiff } from "../../src/provision/provider.js";
import { driftBody, provisioningBody } from "../../src/provision/provisioning-record.js";
import { redactSecrets } from "../../src/provision/redact.js";
import type { AgentSpec } from "../helpers/provisioning.js";
import { agentTree, checkedAgents, COMMIT_A, COMMIT_B, signingKeyPem, tempDir, type TempDir } from "../helpers/provisioning.js";

const REPOSITORY = { id: "123456", fullName: "acme/agents" };
const PASSWORD = "S3cr3t-lease-pass";

/**
 * A credential system that, like a database driver, puts its secrets where they do not belong:
 * a password in the step's payload, a connection URL in an error, a statement in a finding.
 */
class LeakyLeases implements Provider<null> {
  readonly name = "leases";
  readonly instance = "db-1";
  handles(permission: Permission): boolean {
    return permission.system === "redis";
  }
  observe(): Promise<null> {
    return Promise.resolve(null);
  }
  diff(desired: readonly DesiredAgent[]): ProviderDiff {
    const active = desired.filter((d) => d.status === "active");
    return {
      operations: active.map((d) => ({ provider: this.name, instance: this.instance, agent: d.id, action: "create-identity", target: `role:${d.id}`, payload: { password: PASSWORD } })),
      findings: active.map((d) => ({ provider: this.name, instance: this.instance, agent: d.id, kind: "foreign-grant", detail: `ALTER ROLE x PASSWORD '${PASSWORD}' was run by hand` })),
    };
  }
  apply(operations: readonly PlannedOperation[]): Promise<ProvisioningOperation[]> {
    // Echoes everything back, payload included, as a careless provider might.
    return Promise.resolve(operations.map((op) => ({ ...op, status: "failed" as const, error: `connect postgres://charter:${PASSWORD}@db-1:5432/crm failed; password=${PASSWORD}` })));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

let dir: TempDir;
let local: LocalProvider;
let registry: LocalRegistry;

beforeEach(() => {
  dir = tempDir();
  registry = LocalRegistry.open(dir.file("registry.db"));
  local = new LocalProvider({ registry, now: () => new Date("2026-11-27T10:00:00Z") });
});

afterEach(async () => {
  await local.close();
  dir.remove();
});

async function desired(specs: readonly AgentSpec[], providers: readonly Provider[], commit = COMMIT_A) {
  return desiredState(await checkedAgents(agentTree(specs)), commit, providers);
}

function asRecord(kind: "provisioning" | "drift", body: unknown): unknown {
  return { schema: "charter.evidence/v1", seq: 7, kind, prev: "0".repeat(64), observedAt: "2026-11-27T10:00:01Z", body };
}

describe("provisioning records", () => {
  it("record a real sync's plan, applied steps, verification and outcome, valid against the evidence schema", async () => {
    const providers = [local];
    const result = await sync(providers, await desired([{ id: "review", permissions: ["github:contents:read:acme/app"] }], providers), { prune: false });
    const body = provisioningBody(result, { repository: REPOSITORY, source: "change", after: { seq: 6, sha256: "f".repeat(64) } });
    expect(body).toEqual({
      repository: REPOSITORY,
      source: "change",
      after: { seq: 6, sha256: "f".repeat(64) },
      commit: COMMIT_A,
      agents: ["review"],
      plan: [
        { provider: "local", agent: "review", action: "create-identity", target: "identity:review" },
        { provider: "local", agent: "review", action: "grant", target: "github:contents:read:acme/app" },
      ],
      applied: [
        { provider: "local", agent: "review", action: "create-identity", target: "identity:review", status: "applied" },
        { provider: "local", agent: "review", action: "grant", target: "github:contents:read:acme/app", status: "applied" },
      ],
      verification: { remaining: [], escalations: [] },
      outcome: "converged",
    });
    expect(validateRecord(asRecord("provisioning", body), "records/0/0/7.json")).toEqual([]);
  });

  it("never carry a secret, whatever a provider puts in payloads, errors or findings", async () => {
    const providers = [local, new LeakyLeases()];
    const result = await sync(providers, await desired([{ id: "cache-user", permissions: ["redis:read:cache:a:*"] }], providers), { prune: false });
    expect(result.outcome).toBe("failed");
    const body = provisioningBody(result, { repository: REPOSITORY, source: "operator", after: null });
    const findings = await detectDrift(providers, await desired([{ id: "cache-user", permissions: ["redis:read:cache:a:*"] }], providers), { prune: false });
    const drift = driftBody(findings, { repository: REPOSITORY, commit: COMMIT_A, issues: [12] });

    for (const text of [JSON.stringify(result), JSON.stringify(body), JSON.stringify(drift)]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain("payload");
    }
    expect(body.applied.find((op) => op.provider === "leases")?.error).toBe("connect postgres://charter:[redacted]@db-1:5432/crm failed; password=[redacted]");
    expect(validateRecord(asRecord("provisioning", body), "records/0/0/7.json")).toEqual([]);
    expect(validateRecord(asRecord("drift", drift), "records/0/0/8.json")).toEqual([]);
  });

  it("never carry an issued token or the signing key, through issue and retirement", async () => {
    const pem = signingKeyPem();
    const key = loadSigningKey(pem);
    const providers = [local];
    await sync(providers, await desired([{ id: "review", permissions: ["github:contents:read:acme/app"] }], providers), { prune: false });
    const { token } = issueToken(registry, key, "review", { issuer: "charter" });
    const retired = await sync(providers, await desired([{ id: "review", status: "retired" }], providers, COMMIT_B), { prune: false });
    const text = JSON.stringify(provisioningBody(retired, { repository: REPOSITORY, source: "change", after: null }));
    expect(text).toContain('"deprovision"');
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.split(".")[2]);
    expect(text).not.toContain(pem.split("\n")[1]);
  });
});

describe("drift records", () => {
  it("are built only when there is drift, and name who made a foreign grant", () => {
    expect(driftBody([], { repository: REPOSITORY, commit: COMMIT_A })).toBeUndefined();
    const body = driftBody([{ provider: "postgres", instance: "crm-prod", agent: "triage", kind: "foreign-grant", detail: "SELECT on crm.public.payments", grantor: "dba_alice" }], { repository: REPOSITORY, commit: COMMIT_A });
    expect(body).toEqual({
      repository: REPOSITORY,
      commit: COMMIT_A,
      findings: [{ provider: "postgres", instance: "crm-prod", agent: "triage", kind: "foreign-grant", detail: "SELECT on crm.public.payments", grantor: "dba_alice" }],
      issues: [],
    });
    expect(validateRecord(asRecord("drift", body), "records/0/0/9.json")).toEqual([]);
  });

  it("keep the path by which a privilege arrives and the fix, and the schema accepts them", () => {
    const finding = {
      provider: "postgres",
      instance: "crm-prod",
      agent: "*",
      kind: "foreign-grant",
      detail: "SELECT on table crm.public.payments is granted to charter_managed",
      grantor: "dba_alice",
      via: "charter_managed",
      fix: 'SET ROLE "dba_alice"; REVOKE SELECT ON TABLE "public"."payments" FROM "charter_managed"; RESET ROLE;',
    };
    const body = driftBody([finding], { repository: REPOSITORY, commit: COMMIT_A });
    expect(body?.findings).toEqual([finding]);
    expect(validateRecord(asRecord("drift", body), "records/0/0/9.json")).toEqual([]);
  });
});

describe("redactSecrets", () => {
  it.each([
    ["postgres://charter:hunter2@db:5432/crm", "postgres://charter:[redacted]@db:5432/crm"],
    ["ALTER ROLE charter_lease_x PASSWORD 'hunter2' VALID UNTIL", "ALTER ROLE charter_lease_x PASSWORD [redacted] VALID UNTIL"],
    ['{"password":"hunter2"}', '{"password":[redacted]}'],
    ["token=abc.def", "token=[redacted]"],
    ["eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", "[redacted token]"],
    ["-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----", "[redacted key]"],
    ['password authentication failed for user "charter"', 'password authentication failed for user "charter"'],
  ])("%s", (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });
});
