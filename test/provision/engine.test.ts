import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DriftFinding, ProvisioningOperation } from "../../src/schema-types/evidence-record.generated.js";
import { isCharterError } from "../../src/errors.js";
import type { Permission } from "../../src/manifest/permission.js";
import { LocalProvider, LocalRegistry } from "../../src/providers/local/index.js";
import { desiredState } from "../../src/provision/desired-state.js";
import { detectDrift, planSync, sync } from "../../src/provision/engine.js";
import type { DesiredAgent, DiffOptions, PlannedOperation, Provider, ProviderDiff } from "../../src/provision/provider.js";
import type { AgentSpec } from "../helpers/provisioning.js";
import { agentTree, checkedAgents, COMMIT_A, tempDir, type TempDir } from "../helpers/provisioning.js";

/**
 * A small but real credential system for exercising the engine: grants held in memory, a diff
 * that asks for what is missing, and an apply whose flaws are chosen by the test. The engine is
 * the code under test; this is the system it drives.
 */
class GrantTable implements Provider<Map<string, Set<string>>> {
  readonly name = "grants";
  readonly instance = "table-1";
  readonly held = new Map<string, Set<string>>();
  /** Targets apply reports as done without doing them. */
  readonly ignores = new Set<string>();
  /** Targets apply reports as failed, with this error. */
  readonly fails = new Map<string, string>();
  applyThrows: string | undefined;
  observeThrows: string | undefined;
  extraFindings: DriftFinding[] = [];
  observations = 0;
  /** Steps a removal takes here, to check that drift collapses them into one finding. */
  readonly removalSteps = ["revoke-login", "drop-identity"];

  handles(permission: Permission): boolean {
    return permission.system === "redis";
  }

  observe(): Promise<Map<string, Set<string>>> {
    this.observations++;
    if (this.observeThrows !== undefined) return Promise.reject(new Error(this.observeThrows));
    return Promise.resolve(new Map([...this.held].map(([k, v]) => [k, new Set(v)])));
  }

  diff(desired: readonly DesiredAgent[], observed: Map<string, Set<string>>, options: DiffOptions): ProviderDiff {
    const operations: PlannedOperation[] = [];
    const op = (agent: string, action: string, target: string): void => {
      operations.push({ provider: this.name, instance: this.instance, agent, action, target, payload: { agent, action, target } });
    };
    for (const agent of desired) {
      const held = observed.get(agent.id);
      if (agent.status === "retired") {
        if (held) for (const step of this.removalSteps) op(agent.id, step, `role:${agent.id}`);
        continue;
      }
      for (const p of agent.permissions) if (!held?.has(p.raw)) op(agent.id, "grant", p.raw);
    }
    for (const id of observed.keys()) {
      if (!desired.some((d) => d.id === id) && options.prune) for (const step of this.removalSteps) op(id, step, `role:${id}`);
    }
    return { operations, findings: this.extraFindings };
  }

  apply(operations: readonly PlannedOperation[]): Promise<ProvisioningOperation[]> {
    if (this.applyThrows !== undefined) return Promise.reject(new Error(this.applyThrows));
    return Promise.resolve(
      operations.map((op) => {
        const { payload: _payload, ...recorded } = op;
        const failure = this.fails.get(op.target);
        if (failure !== undefined) return { ...recorded, status: "failed" as const, error: failure };
        if (!this.ignores.has(op.target)) {
          if (op.action === "grant") this.held.set(op.agent, new Set([...(this.held.get(op.agent) ?? []), op.target]));
          if (op.action === "drop-identity") this.held.delete(op.agent);
        }
        return { ...recorded, status: "applied" as const };
      }),
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const CACHE: AgentSpec = { id: "cache-user", permissions: ["redis:read:cache:a:*", "redis:write:cache:b:*", "http:get:api.example.com/v1/a"] };

let dir: TempDir;
let local: LocalProvider;
let table: GrantTable;
let providers: Provider[];

async function desired(specs: readonly AgentSpec[]) {
  return desiredState(await checkedAgents(agentTree(specs)), COMMIT_A, providers);
}

beforeEach(() => {
  dir = tempDir();
  local = new LocalProvider({ registry: LocalRegistry.open(dir.file("registry.db")), now: () => new Date("2026-11-27T10:00:00Z") });
  table = new GrantTable();
  providers = [local, table];
});

afterEach(async () => {
  await local.close();
  dir.remove();
});

describe("sync", () => {
  it("drives several providers to convergence and verifies with a fresh plan", async () => {
    const result = await sync(providers, await desired([CACHE]), { prune: false });
    expect(result.plan.map((op) => `${op.provider} ${op.action} ${op.target}`)).toEqual([
      "local create-identity identity:cache-user",
      "local grant http:get:api.example.com/v1/a",
      // The local token carries every non-postgres permission, also those a system enforces itself.
      "local grant redis:read:cache:a:*",
      "local grant redis:write:cache:b:*",
      "grants grant redis:read:cache:a:*",
      "grants grant redis:write:cache:b:*",
    ]);
    expect(result.outcome).toBe("converged");
    expect(result.agents).toEqual(["cache-user"]);
    expect(table.held.get("cache-user")).toEqual(new Set(["redis:read:cache:a:*", "redis:write:cache:b:*"]));
  });

  it("does not believe an apply that reports success: what is still missing is escalated", async () => {
    table.ignores.add("redis:write:cache:b:*");
    const result = await sync(providers, await desired([CACHE]), { prune: false });
    expect(result.applied.filter((op) => op.provider === "grants").map((op) => op.status)).toEqual(["applied", "applied"]);
    expect(result.verification.remaining).toEqual([{ provider: "grants", instance: "table-1", agent: "cache-user", action: "grant", target: "redis:write:cache:b:*" }]);
    expect(result.verification.escalations).toEqual([
      { provider: "grants", instance: "table-1", agent: "cache-user", reason: "grant redis:write:cache:b:* is still pending after apply" },
    ]);
    expect(result.outcome).toBe("incomplete");
  });

  it("marks the run failed when a step fails, keeps the other steps, and says why", async () => {
    table.fails.set("redis:read:cache:a:*", "permission denied to grant on cache a");
    const result = await sync(providers, await desired([CACHE]), { prune: false });
    expect(result.applied.filter((op) => op.provider === "grants")).toEqual([
      { provider: "grants", instance: "table-1", agent: "cache-user", action: "grant", target: "redis:read:cache:a:*", status: "failed", error: "permission denied to grant on cache a" },
      { provider: "grants", instance: "table-1", agent: "cache-user", action: "grant", target: "redis:write:cache:b:*", status: "applied" },
    ]);
    expect(result.verification.escalations).toEqual([
      { provider: "grants", instance: "table-1", agent: "cache-user", reason: "grant redis:read:cache:a:* is still pending after apply (failed: permission denied to grant on cache a)" },
    ]);
    expect(result.outcome).toBe("failed");
    // The local provider's part went through regardless.
    expect(result.applied.filter((op) => op.provider === "local").every((op) => op.status === "applied")).toBe(true);
  });

  it("turns an apply that throws into failed steps rather than an exception", async () => {
    table.applyThrows = "connection reset";
    const result = await sync(providers, await desired([CACHE]), { prune: false });
    expect(result.applied.filter((op) => op.provider === "grants").map((op) => [op.status, op.error])).toEqual([
      ["failed", "connection reset"],
      ["failed", "connection reset"],
    ]);
    expect(result.outcome).toBe("failed");
    expect(result.verification.remaining).toHaveLength(2);
  });

  it("escalates a provider it cannot read, and plan and drift refuse to guess", async () => {
    table.observeThrows = "could not connect to table-1";
    const state = await desired([CACHE]);
    const result = await sync(providers, state, { prune: false });
    expect(result.outcome).toBe("failed");
    expect(result.verification.escalations).toEqual([{ provider: "grants", instance: "table-1", agent: "*", reason: "could not read the provider's state: could not connect to table-1" }]);
    for (const run of [() => planSync(providers, state, { prune: false }), () => detectDrift(providers, state, { prune: false })]) {
      const error: unknown = await run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isCharterError(error) && error.code).toBe("IO");
    }
  });

  it("escalates a permission no provider enforces instead of provisioning around it", async () => {
    const result = await sync(providers, await desired([{ id: "db-user", permissions: ["postgres:select:crm.public.orders@crm-prod", "redis:read:cache:a:*"] }]), { prune: false });
    expect(result.verification.escalations).toEqual([{ provider: "charter", agent: "db-user", reason: 'unenforceable-permission: no configured provider enforces "postgres:select:crm.public.orders@crm-prod"' }]);
    expect(result.verification.remaining).toEqual([]);
    expect(result.outcome).toBe("incomplete");
  });

  it("observes a provider again after applying to it, and only then: a no-op re-sync reads each provider once", async () => {
    const state = await desired([CACHE]);
    await sync(providers, state, { prune: false });
    expect(table.observations).toBe(2);
    table.extraFindings = [{ provider: "grants", instance: "table-1", agent: "*", kind: "foreign-grant", detail: "granted to everyone", grantor: "dba", via: "PUBLIC", fix: "REVOKE x FROM PUBLIC;" }];
    const again = await sync(providers, state, { prune: false });
    expect(table.observations).toBe(3);
    expect(again.plan).toEqual([]);
    // The one plan is the verification: its findings are escalated, with the fix a person runs.
    expect(again.verification.escalations).toEqual([{ provider: "grants", instance: "table-1", agent: "*", reason: "foreign-grant: granted to everyone", fix: "REVOKE x FROM PUBLIC;" }]);
    expect(again.outcome).toBe("incomplete");
  });

  it("escalates a provider's findings after applying", async () => {
    table.extraFindings = [{ provider: "grants", instance: "table-1", agent: "cache-user", kind: "foreign-grant", detail: "redis:read:cache:z:* granted outside Charter", grantor: "dba" }];
    const result = await sync(providers, await desired([CACHE]), { prune: false });
    expect(result.findings).toEqual(table.extraFindings);
    expect(result.verification.escalations).toEqual([{ provider: "grants", instance: "table-1", agent: "cache-user", reason: "foreign-grant: redis:read:cache:z:* granted outside Charter" }]);
    expect(result.outcome).toBe("incomplete");
  });
});

describe("detectDrift", () => {
  it("names each pending difference once, by why it matters", async () => {
    table.held.set("cache-user", new Set(["redis:read:cache:a:*"]));
    table.held.set("old-bot", new Set(["redis:read:cache:a:*"]));
    table.held.set("gone", new Set());
    const state = await desired([CACHE, { id: "old-bot", status: "retired" }, { id: "web-only", permissions: ["http:get:api.example.com/v1/a"] }]);
    table.held.set("web-only", new Set());
    const findings = await detectDrift(providers, state, { prune: true });
    expect(findings.filter((f) => f.provider === "grants").map((f) => [f.agent, f.kind])).toEqual([
      ["cache-user", "missing-grant"],
      ["old-bot", "retired-identity"],
      ["web-only", "unapproved-identity"],
      ["gone", "orphaned-identity"],
    ]);
    expect(findings.find((f) => f.kind === "retired-identity")?.detail).toBe("old-bot: the agent is retired but still has an identity or credentials here");
    expect(findings.filter((f) => f.provider === "local").map((f) => [f.agent, f.kind])).toEqual([
      ["cache-user", "missing-identity"],
      ["cache-user", "missing-grant"],
      ["cache-user", "missing-grant"],
      ["cache-user", "missing-grant"],
      ["web-only", "missing-identity"],
      ["web-only", "missing-grant"],
    ]);
  });

  it("lets a provider's own finding replace the ones derived from its plan for that agent and kind", async () => {
    table.held.set("cache-user", new Set());
    table.extraFindings = [{ provider: "grants", instance: "table-1", agent: "cache-user", kind: "missing-grant", detail: "cache a and b are not readable by cache-user" }];
    const findings = await detectDrift([table], desiredState(await checkedAgents(agentTree([CACHE])), COMMIT_A, [table]), { prune: false });
    expect(findings.filter((f) => f.provider === "grants")).toEqual(table.extraFindings);
  });
});
