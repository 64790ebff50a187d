import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isCharterError } from "../../../src/errors.js";
import { encodeMarker } from "../../../src/providers/postgres/marker.js";
import type { ObservedGrant, ObservedIdentity, ObservedRole, PostgresObserved } from "../../../src/providers/postgres/observed.js";
import { createPostgresProvider, identityRoleName, provisionerSetup, renderPsqlScript, roleNames } from "../../../src/providers/postgres/index.js";
import { agent, permission } from "./fixture.js";

// The pure half of the provider: names, the documented setup script, and diff() over hand-built
// observations for cases a live server reaches only slowly (a lease outliving its manifest).

const names = roleNames();
const NOW = "2026-01-01T12:00:00.000Z";
const provider = createPostgresProvider({ instance: "crm-prod", connectionString: "postgres://charter_provisioner@127.0.0.1:1/postgres" });

function role(name: string, overrides: Partial<ObservedRole> = {}): ObservedRole {
  return {
    name,
    canLogin: false,
    superuser: false,
    createRole: false,
    createDb: false,
    replication: false,
    bypassRls: false,
    connLimit: -1,
    validUntil: null,
    comment: null,
    memberOf: [],
    members: [],
    ...overrides,
  };
}

/** An observation holding these identities, their leases and grants, and the marker role. */
function observed(identities: ObservedIdentity[]): PostgresObserved {
  const roles = new Map<string, ObservedRole>([["charter_managed", role("charter_managed")]]);
  const grants = new Map<string, ObservedGrant[]>();
  for (const i of identities) {
    for (const r of [i.role, ...i.leases]) roles.set(r.name, r);
    for (const g of i.grants) grants.set(g.grantee, [...(grants.get(g.grantee) ?? []), g]);
  }
  return { instance: "crm-prod", provisioner: "charter_provisioner", now: NOW, databases: ["crm"], markerRoleExists: true, identities, strayLeases: [], roles, grants, owned: new Map(), defaults: new Map() };
}

const triage = agent("support-triage", ["postgres:select:crm.public.customers@crm-prod"]);
const ROLE = "charter_agent_support_triage";
const stamped = {
  agent: triage.id,
  commit: triage.commit,
  manifestSha256: triage.manifestSha256,
  maxLifetimeSeconds: triage.maxLifetimeSeconds,
  maxConcurrentSessions: 2,
};
const held = [
  { database: "crm", kind: "database" as const, path: [], privilege: "CONNECT" },
  { database: "crm", kind: "schema" as const, path: ["public"], privilege: "USAGE" },
  { database: "crm", kind: "table" as const, path: ["public", "customers"], privilege: "SELECT" },
].map((g) => ({ ...g, grantee: ROLE, grantor: "charter_provisioner" }));

function identity(leases: ObservedRole[]): ObservedIdentity {
  return {
    role: role(ROLE, { comment: encodeMarker(stamped), memberOf: [{ role: "charter_managed", grantor: "charter_provisioner", inherit: true }], members: leases.map((l) => l.name) }),
    managed: true,
    marker: stamped,
    leases,
    grants: held,
  };
}

describe("postgres role names", () => {
  it("maps an agent id to a role name, hashing the tail of one that would exceed 63 bytes", () => {
    expect(identityRoleName(names, "support-triage")).toBe(ROLE);
    const long = `a${"-b".repeat(30)}c`;
    const other = `a${"-b".repeat(30)}d`;
    expect(identityRoleName(names, long)).toHaveLength(63);
    expect(identityRoleName(names, long)).toMatch(/^charter_agent_a_b_b.*_[0-9a-f]{8}$/);
    expect(identityRoleName(names, long)).not.toBe(identityRoleName(names, other));
  });

  it("refuses ids and prefixes that are not plain names", () => {
    for (const id of ["a_b", "A", "a-", "a;b", 'a"b', "a".repeat(64)]) {
      expect(() => identityRoleName(names, id)).toThrow(expect.objectContaining({ code: "INVALID_CONFIG" }) as Error);
    }
    expect(() => roleNames("Bad")).toThrow(expect.objectContaining({ code: "INVALID_CONFIG" }) as Error);
    expect(roleNames("acme_").marker).toBe("acme_managed");
  });
});

describe("postgres diff, pure", () => {
  it("plans nothing for an identity that matches its approval", () => {
    expect(provider.diff([triage], observed([identity([])]), { prune: false })).toEqual({ operations: [], findings: [] });
  });

  it("drops expired leases, and revokes a lease valid beyond maxLifetime from now with a lifetime finding", () => {
    const expired = role("charter_lease_expired", { canLogin: true, connLimit: 2, validUntil: "2026-01-01T11:59:59.000Z" });
    const forever = role("charter_lease_forever", { canLogin: true, connLimit: 2, validUntil: null });
    const tooLong = role("charter_lease_toolong", { canLogin: true, connLimit: 2, validUntil: "2026-01-01T13:00:01.000Z" });
    const fine = role("charter_lease_fine", { canLogin: true, connLimit: 2, validUntil: "2026-01-01T13:00:00.000Z" });
    const diff = provider.diff([triage], observed([identity([expired, forever, tooLong, fine])]), { prune: false });
    expect(diff.operations.map((o) => [o.action, o.target])).toEqual([
      ["drop-expired-lease", "charter_lease_expired"],
      ["revoke-lease", "charter_lease_forever"],
      ["revoke-lease", "charter_lease_toolong"],
    ]);
    expect(diff.findings.map((f) => [f.kind, f.detail])).toEqual([
      ["lifetime", "lease charter_lease_forever is valid until forever, beyond the manifest's 3600 s from now"],
      ["lifetime", "lease charter_lease_toolong is valid until 2026-01-01T13:00:01.000Z, beyond the manifest's 3600 s from now"],
    ]);
  });

  it("lowers live leases' connection limit when the manifest lowers maxConcurrentSessions", () => {
    const live = role("charter_lease_live", { canLogin: true, connLimit: 2, validUntil: "2026-01-01T12:30:00.000Z" });
    const diff = provider.diff([{ ...triage, commit: "d".repeat(40), maxConcurrentSessions: 1 }], observed([identity([live])]), { prune: false });
    expect(diff.findings).toEqual([]);
    expect(diff.operations).toEqual([
      expect.objectContaining({ action: "update-identity", target: ROLE, payload: expect.objectContaining({ leases: ["charter_lease_live"], connLimit: 1 }) as unknown }),
    ]);
  });

  it("plans the marker role first when it is missing, and never derives names from a hostile id", () => {
    const diff = provider.diff([triage, agent("x'; drop", [])], { ...observed([]), markerRoleExists: false }, { prune: false });
    expect(diff.operations.map((o) => o.action)).toEqual(["create-marker", "create-identity", "grant", "grant", "grant"]);
    expect(diff.findings.map((f) => f.kind)).toEqual(["invalid-agent"]);
  });

  it("ignores permissions of other instances and reports one it cannot turn into a grant", () => {
    const odd = { ...permission("postgres:select:crm.public.customers@crm-prod"), resource: "crm.public" };
    const diff = provider.diff([{ ...triage, permissions: [odd, permission("postgres:select:crm.public.orders@other")] }], observed([]), { prune: false });
    expect(diff.operations.map((o) => o.action)).toEqual(["create-identity"]);
    expect(diff.findings.map((f) => f.kind)).toEqual(["invalid-permission"]);
  });

  it("handles only its own instance, and only the configured databases", () => {
    const limited = createPostgresProvider({ instance: "crm-prod", connectionString: "postgres://x@127.0.0.1:1/postgres", databases: ["crm"] });
    expect(limited.handles(permission("postgres:select:crm.public.customers@crm-prod"))).toBe(true);
    expect(limited.handles(permission("postgres:select:hr.public.salaries@crm-prod"))).toBe(false);
    expect(provider.handles(permission("postgres:select:hr.public.salaries@crm-prod"))).toBe(true);
    expect(provider.handles(permission("postgres:select:crm.public.customers@other"))).toBe(false);
    expect(provider.handles(permission("redis:read:cache:x:*@crm-prod"))).toBe(false);
  });

  it("refuses a connection string that is not a postgres URL", () => {
    for (const connectionString of ["host=localhost user=x", "mysql://x@h/db"]) {
      let caught: unknown;
      try {
        createPostgresProvider({ instance: "crm-prod", connectionString });
      } catch (error) {
        caught = error;
      }
      expect(isCharterError(caught) && caught.code).toBe("INVALID_CONFIG");
    }
  });
});

describe("the provisioner setup script in docs/providers.md", () => {
  it("is the one provisionerSetup generates for the analytics-insights sample", () => {
    const permissions = [
      "postgres:usage:analytics.events@warehouse",
      "postgres:select:analytics.events.page_views@warehouse",
      "postgres:select:analytics.events.signups@warehouse",
      "postgres:select:analytics.crm.customer_segments@warehouse",
    ].map(permission);
    const doc = readFileSync(new URL("../../../docs/providers.md", import.meta.url), "utf8");
    expect(doc).toContain("```sql\n" + renderPsqlScript(provisionerSetup({ permissions })) + "```");
  });
});
