import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalProvider, LocalRegistry } from "../../../src/providers/local/index.js";
import { desiredState } from "../../../src/provision/desired-state.js";
import { detectDrift, planSync, sync } from "../../../src/provision/engine.js";
import type { AgentSpec } from "../../helpers/provisioning.js";
import { agentTree, checkedAgents, COMMIT_A, COMMIT_B, tempDir, type TempDir } from "../../helpers/provisioning.js";

const NOW = new Date("2026-11-27T10:00:00Z");

let dir: TempDir;
let provider: LocalProvider;

function openProvider(): LocalProvider {
  return new LocalProvider({ registry: LocalRegistry.open(dir.file("registry.db")), now: () => NOW });
}

async function desired(specs: readonly AgentSpec[], commit = COMMIT_A) {
  return desiredState(await checkedAgents(agentTree(specs)), commit, [provider]);
}

/** Someone with access to the file, working around Charter: the drift these tests must catch. */
function byHand(sql: string, ...params: unknown[]): void {
  const db = new Database(dir.file("registry.db"));
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

function row(agentId: string): unknown {
  const db = new Database(dir.file("registry.db"), { readonly: true });
  try {
    return db.prepare("SELECT * FROM agent_identities WHERE agent_id = ?").get(agentId);
  } finally {
    db.close();
  }
}

beforeEach(() => {
  dir = tempDir();
  provider = openProvider();
});

afterEach(async () => {
  await provider.close();
  dir.remove();
});

const TRIAGE: AgentSpec = { id: "triage", permissions: ["http:get:api.example.com/v1/tickets/*", "redis:read:tickets:*@cache-prod"], maxLifetime: "30m" };
const REVIEW: AgentSpec = { id: "review", permissions: ["github:contents:read:acme/app"] };

describe("the local provider under the engine", () => {
  it("creates identities with their grants, converges, and a second sync plans nothing", async () => {
    const state = await desired([TRIAGE, REVIEW]);
    const first = await sync([provider], state, { prune: false });
    expect(first.plan).toEqual([
      { provider: "local", agent: "review", action: "create-identity", target: "identity:review" },
      { provider: "local", agent: "review", action: "grant", target: "github:contents:read:acme/app" },
      { provider: "local", agent: "triage", action: "create-identity", target: "identity:triage" },
      { provider: "local", agent: "triage", action: "grant", target: "http:get:api.example.com/v1/tickets/*" },
      { provider: "local", agent: "triage", action: "grant", target: "redis:read:tickets:*@cache-prod" },
    ]);
    expect(first.applied.every((op) => op.status === "applied")).toBe(true);
    expect(first.outcome).toBe("converged");
    expect(first.verification).toEqual({ remaining: [], escalations: [] });

    const second = await sync([provider], state, { prune: false });
    expect(second.plan).toEqual([]);
    expect(second.applied).toEqual([]);
    expect(second.outcome).toBe("converged");
    expect(await detectDrift([provider], state, { prune: false })).toEqual([]);

    // The state is in the file, not in memory: a fresh connection plans nothing either.
    await provider.close();
    provider = openProvider();
    expect((await planSync([provider], state, { prune: false })).operations).toEqual([]);
  });

  it("applies the same steps twice with the same result (apply is idempotent)", async () => {
    const state = await desired([TRIAGE]);
    const { operations } = provider.diff(state.byProvider.get("local") ?? [], await provider.observe(), { prune: false });
    await provider.apply(operations);
    const once = row("triage");
    const again = await provider.apply(operations);
    expect(again.every((op) => op.status === "applied")).toBe(true);
    expect(row("triage")).toEqual(once);
  });

  it("follows a manifest change: grants, revokes, lifetime, and the new approval's stamp", async () => {
    await sync([provider], await desired([TRIAGE]), { prune: false });
    const changed = await desired([{ ...TRIAGE, permissions: ["http:get:api.example.com/v1/tickets/*", "http:post:api.example.com/v1/tags"], maxLifetime: "10m" }], COMMIT_B);
    const plan = await planSync([provider], changed, { prune: false });
    expect(plan.operations.map((op) => `${op.action} ${op.target}`)).toEqual([
      "grant http:post:api.example.com/v1/tags",
      "revoke redis:read:tickets:*@cache-prod",
      "set-lifetime max-lifetime:600s",
      expect.stringMatching(/^update-identity approval:manifest [0-9a-f]{12} at bbbbbbbbbbbb$/),
    ]);
    expect((await sync([provider], changed, { prune: false })).outcome).toBe("converged");
    expect(row("triage")).toMatchObject({ commit_sha: COMMIT_B, max_lifetime_seconds: 600, permissions: JSON.stringify(["http:get:api.example.com/v1/tickets/*", "http:post:api.example.com/v1/tags"]) });
  });

  it("a new commit that leaves the manifest alone is neither work nor drift", async () => {
    await sync([provider], await desired([TRIAGE]), { prune: false });
    expect(await detectDrift([provider], await desired([TRIAGE], COMMIT_B), { prune: false })).toEqual([]);
  });

  it("reports drift made by hand: a removed grant, an added grant, a raised lifetime", async () => {
    const state = await desired([TRIAGE]);
    await sync([provider], state, { prune: false });
    byHand("UPDATE agent_identities SET permissions = ?, max_lifetime_seconds = 86400 WHERE agent_id = 'triage'", JSON.stringify(["http:get:api.example.com/v1/tickets/*", "http:delete:api.example.com/v1/tickets/*"]));
    const findings = await detectDrift([provider], state, { prune: false });
    expect(findings.map((f) => [f.kind, f.agent, f.detail.split(":")[0]])).toEqual([
      ["missing-grant", "triage", "redis"],
      ["extra-grant", "triage", "http"],
      ["lifetime", "triage", "max-lifetime"],
    ]);
    expect((await sync([provider], state, { prune: false })).outcome).toBe("converged");
    expect(await detectDrift([provider], state, { prune: false })).toEqual([]);
  });

  it("reports a look-alike identity without the ownership marker and never touches it", async () => {
    byHand(
      "INSERT INTO agent_identities (agent_id, status, permissions, max_lifetime_seconds, created_at, updated_at) VALUES ('triage', 'active', ?, 604800, 'x', 'x')",
      JSON.stringify(["github:contents:write:acme/app"]),
    );
    byHand("INSERT INTO agent_identities (agent_id, status, permissions, created_at, updated_at, managed_by) VALUES ('shadow', 'active', '[]', 'x', 'x', 'someone')");
    const before = [row("triage"), row("shadow")];
    const state = await desired([TRIAGE]);

    const result = await sync([provider], state, { prune: true });
    expect(result.plan).toEqual([]);
    expect(result.outcome).toBe("incomplete");
    expect(result.verification.escalations.map((e) => [e.agent, e.reason.split(":")[0]])).toEqual([
      ["shadow", "unmanaged-identity"],
      ["triage", "unmanaged-identity"],
    ]);
    expect(result.verification.escalations[1]?.reason).toContain("blocks provisioning this agent");
    expect([row("triage"), row("shadow")]).toEqual(before);

    // Applying a step aimed at it anyway (a plan made elsewhere) fails instead of taking it over.
    const forced = await provider.apply([{ provider: "local", agent: "triage", action: "deprovision", target: "identity:triage", payload: { kind: "deprovision", agentId: "triage" } }]);
    expect(forced[0]).toMatchObject({ status: "failed", error: "registry entry triage is not managed by Charter" });
    expect(row("triage")).toEqual(before[0]);
  });

  it("keeps an identity whose manifest was deleted unless pruning, and reports it as orphaned", async () => {
    await sync([provider], await desired([TRIAGE, REVIEW]), { prune: false });
    const withoutReview = await desired([TRIAGE], COMMIT_B);

    const kept = await sync([provider], withoutReview, { prune: false });
    expect(kept.plan).toEqual([]);
    expect(kept.outcome).toBe("incomplete");
    expect(kept.verification.escalations).toEqual([{ provider: "local", agent: "review", reason: "orphaned-identity: identity review has no manifest any more; it is kept because pruning is off" }]);
    expect(await detectDrift([provider], withoutReview, { prune: false })).toEqual([
      { provider: "local", agent: "review", kind: "orphaned-identity", detail: "identity review has no manifest any more; it is kept because pruning is off" },
    ]);
    expect(row("review")).toMatchObject({ status: "active" });

    expect(await detectDrift([provider], withoutReview, { prune: true })).toMatchObject([{ agent: "review", kind: "orphaned-identity" }]);
    const pruned = await sync([provider], withoutReview, { prune: true });
    expect(pruned.applied).toEqual([{ provider: "local", agent: "review", action: "deprovision", target: "identity:review", status: "applied" }]);
    expect(pruned.outcome).toBe("converged");
    expect(row("review")).toMatchObject({ status: "revoked", permissions: "[]" });
  });

  it("reactivates a retired agent with only its new permissions", async () => {
    await sync([provider], await desired([TRIAGE]), { prune: false });
    await sync([provider], await desired([{ id: "triage", status: "retired" }]), { prune: false });
    const back = await sync([provider], await desired([{ ...TRIAGE, permissions: ["http:get:api.example.com/v1/tickets/*"] }], COMMIT_B), { prune: false });
    expect(back.plan.map((op) => op.action)).toEqual(["create-identity", "grant"]);
    expect(back.outcome).toBe("converged");
    expect(row("triage")).toMatchObject({ status: "active", revoked_at: null, permissions: JSON.stringify(["http:get:api.example.com/v1/tickets/*"]) });
  });
});

describe("the registry file", () => {
  it("is opened in WAL mode with a busy timeout", () => {
    const db = new Database(dir.file("registry.db"), { readonly: true });
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.pragma("user_version", { simple: true })).toBe(1);
    } finally {
      db.close();
    }
  });

  it("stores agent ids and permissions as data, never as SQL", async () => {
    // Ids are DNS labels by schema; permissions are free-er text and come from pull requests.
    const tricky = "http:get:api.example.com/v1/x');DROP TABLE agent_identities;--";
    const state = await desired([{ id: "tricky", permissions: ["http:get:api.example.com/v1/o'neil"] }]);
    await sync([provider], state, { prune: false });
    await provider.apply([{ provider: "local", agent: "tricky", action: "grant", target: tricky, payload: { kind: "grant", agentId: "tricky", permission: tricky } }]);
    expect(row("tricky")).toMatchObject({ permissions: JSON.stringify([tricky, "http:get:api.example.com/v1/o'neil"].sort()) });
  });
});
