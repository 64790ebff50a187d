import { describe, expect, it } from "vitest";
import { isCharterError } from "../../src/errors.js";
import { postgresUrlVariable, providerDescriptors, providerSecrets, provisioningSettings } from "../../src/provision/config.js";
import { checkEnforceability } from "../../src/provision/enforceability.js";
import { desiredState } from "../../src/provision/desired-state.js";
import { ownAgents } from "../helpers/agents-fixture.js";
import { lineOf } from "../helpers/manifests.js";
import { agentTree, checkedAgents, manifestText } from "../helpers/provisioning.js";

const configured = (provisioning: NonNullable<Parameters<typeof provisioningSettings>[0]>["provisioning"]) =>
  providerDescriptors(provisioningSettings({ version: 1, ...(provisioning === undefined ? {} : { provisioning }) }));

describe("checkEnforceability", () => {
  it("pins a permission no provider enforces to its line, with a rule and a fix naming the configuration", async () => {
    const spec = { id: "crm-reader", provider: "postgres" as const, permissions: ["postgres:select:crm.public.customers@crm-prod", "postgres:select:crm.public.orders@crm-staging"] };
    const text = manifestText(spec);
    const diagnostics = checkEnforceability(await checkedAgents(agentTree([spec])), configured({ providers: { postgres: [{ instance: "crm-prod" }] } }));
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({
      file: "agents/crm-reader/agent.yaml",
      ...lineOf(text, "postgres:select:crm.public.orders@crm-staging"),
      rule: "provisioning/unenforceable-permission",
      severity: "error",
      pointer: "/tools/0/permissions/1",
      message: 'no configured provider enforces "postgres:select:crm.public.orders@crm-staging"',
    });
    expect(diagnostics[0]?.fix).toContain("instance: crm-staging");
    expect(diagnostics[0]?.fix).toContain("CHARTER_POSTGRES_URL_CRM_STAGING");
  });

  it("explains a missing instance, an unlisted database and a disabled local provider", async () => {
    const spec = {
      id: "mixed",
      permissions: ["postgres:execute:crm.public.refund_order", "postgres:select:billing.public.invoices@crm-prod", "http:get:api.example.com/v1/orders"],
    };
    const diagnostics = checkEnforceability(
      await checkedAgents(agentTree([spec])),
      configured({ providers: { local: { enabled: false }, postgres: [{ instance: "crm-prod", databases: ["crm"] }] } }),
    );
    expect(diagnostics.map((d) => [d.pointer, d.rule])).toEqual([
      ["/tools/0/permissions/0", "provisioning/unenforceable-permission"],
      ["/tools/0/permissions/1", "provisioning/unenforceable-permission"],
      ["/tools/0/permissions/2", "provisioning/unenforceable-permission"],
      ["/credentials/provider", "provisioning/unavailable-provider"],
    ]);
    expect(diagnostics[0]?.fix).toContain("@crm-prod");
    expect(diagnostics[1]?.fix).toContain('does not list database "billing"');
    expect(diagnostics[2]?.fix).toContain("provisioning.providers.local");
  });

  it("refuses a postgres credential with no postgres permission to issue it on", async () => {
    const diagnostics = checkEnforceability(await checkedAgents(agentTree([{ id: "web-only", provider: "postgres", permissions: ["http:get:api.example.com/v1/orders"] }])), configured({ providers: { postgres: [{ instance: "crm-prod" }] } }));
    expect(diagnostics.map((d) => d.rule)).toEqual(["provisioning/unavailable-provider"]);
  });

  it("counts a redis permission as enforced once a Redis provider serves its instance, and otherwise says how to configure one", async () => {
    const spec = { id: "cache-reader", permissions: ["redis:read:cache:customers:*@cache-prod", "redis:read:cache:orders:*@cache-staging", "redis:read:cache:x:*"] };
    const agents = await checkedAgents(agentTree([spec]));
    const diagnostics = checkEnforceability(agents, configured({ providers: { local: { enabled: false }, redis: [{ instance: "cache-prod" }] } }));
    expect(diagnostics.filter((d) => d.rule === "provisioning/unenforceable-permission").map((d) => d.pointer)).toEqual(["/tools/0/permissions/1", "/tools/0/permissions/2"]);
    expect(diagnostics[0]?.fix).toContain("CHARTER_REDIS_URL_CACHE_STAGING");
    expect(diagnostics[1]?.fix).toContain("configured: @cache-prod");
    const none = checkEnforceability(agents, configured({ providers: { local: { enabled: false } } }));
    expect(none.filter((d) => d.rule === "provisioning/unenforceable-permission")).toHaveLength(3);
    const desired = desiredState(agents, "a".repeat(40), configured({ providers: { redis: [{ instance: "cache-prod" }] } }));
    expect(desired.byProvider.get("redis@cache-prod")?.map((a) => [a.id, a.status, a.permissions.map((p) => p.raw)])).toEqual([["cache-reader", "active", ["redis:read:cache:customers:*@cache-prod"]]]);
  });

  it("counts an http permission as enforced once a squid egress proxy is configured, and otherwise names that provider in the fix", async () => {
    const agents = await checkedAgents(agentTree([{ id: "web", permissions: ["http:get:api.example.com/v1/orders", "redis:read:cache:x:*@cache-prod"] }]));
    const none = checkEnforceability(agents, configured({ providers: { local: { enabled: false } } }));
    expect(none.find((d) => d.pointer === "/tools/0/permissions/0")?.fix).toContain("provisioning.providers.squid");
    const withSquid = checkEnforceability(agents, configured({ providers: { local: { enabled: false }, squid: [{ instance: "egress", listen: "127.0.0.1:3128" }] } }));
    expect(withSquid.filter((d) => d.rule === "provisioning/unenforceable-permission").map((d) => d.pointer)).toEqual(["/tools/0/permissions/1"]);
    const desired = desiredState(agents, "a".repeat(40), configured({ providers: { squid: [{ instance: "egress", listen: "127.0.0.1:3128" }] } }));
    expect(desired.byProvider.get("squid@egress")?.map((a) => [a.id, a.status, a.permissions.map((p) => p.raw)])).toEqual([["web", "active", ["http:get:api.example.com/v1/orders"]]]);
  });

  it("passes the repository's agents when every instance they name is configured, and ignores retired agents", async () => {
    const all = configured({
      providers: { postgres: ["crm-prod", "helpdesk-prod", "finance-prod", "warehouse"].map((instance) => ({ instance })) },
    });
    expect(checkEnforceability(await checkedAgents(ownAgents()), all)).toEqual([]);
  });

  it("fails closed with the default configuration: postgres permissions need their server configured", async () => {
    const diagnostics = checkEnforceability(await checkedAgents(ownAgents()), configured(undefined));
    expect(diagnostics.filter((d) => d.rule === "provisioning/unenforceable-permission")).toHaveLength(11);
    expect(diagnostics.some((d) => d.file.includes("legacy-refund-bot"))).toBe(false);
    expect(diagnostics.some((d) => d.file.includes("code-review"))).toBe(false);
  });
});

describe("provisioning configuration", () => {
  it("applies defaults: local on, prune off, drift every hour", () => {
    expect(provisioningSettings({ version: 1 })).toEqual({ prune: false, driftIntervalSeconds: 3600, local: { enabled: true, issuer: "charter" }, postgres: [], redis: [], squid: [], github: { enabled: false } });
  });

  it("reads redis instances with known users defaulting to the default user, and their URLs from CHARTER_REDIS_URL_<INSTANCE>", () => {
    const settings = provisioningSettings({ version: 1, provisioning: { providers: { redis: [{ instance: "cache-prod" }, { instance: "queue-prod", knownUsers: ["app"] }] } } });
    expect(settings.redis).toEqual([
      { instance: "cache-prod", knownUsers: ["default"] },
      { instance: "queue-prod", knownUsers: ["app"] },
    ]);
    expect([...providerSecrets(settings, { CHARTER_REDIS_URL_CACHE_PROD: "redis://p:x@cache:6379/0" }).redisUrls]).toEqual([
      ["cache-prod", "redis://p:x@cache:6379/0"],
      ["queue-prod", undefined],
    ]);
    expect(() => provisioningSettings({ version: 1, provisioning: { providers: { redis: [{ instance: "a" }, { instance: "a" }] } } })).toThrow(/lists instance "a" twice/);
  });

  it("refuses an instance listed twice", () => {
    try {
      provisioningSettings({ version: 1, provisioning: { providers: { postgres: [{ instance: "crm-prod" }, { instance: "crm-prod" }] } } });
      expect.unreachable();
    } catch (error) {
      expect(isCharterError(error) && error.code).toBe("INVALID_CONFIG");
    }
  });

  it("reads secrets from the documented variables only", () => {
    const settings = provisioningSettings({ version: 1, provisioning: { providers: { postgres: [{ instance: "crm-prod" }, { instance: "helpdesk-prod" }] } } });
    expect(postgresUrlVariable("crm-prod")).toBe("CHARTER_POSTGRES_URL_CRM_PROD");
    const secrets = providerSecrets(settings, { CHARTER_LOCAL_DB: "/var/lib/charter/local.db", CHARTER_POSTGRES_URL_CRM_PROD: "postgres://p@db/crm", CHARTER_POSTGRES_URL_HELPDESK_PROD: "  " });
    expect(secrets.localDatabasePath).toBe("/var/lib/charter/local.db");
    expect(secrets.signingKeyPem).toBeUndefined();
    expect([...secrets.postgresUrls]).toEqual([
      ["crm-prod", "postgres://p@db/crm"],
      ["helpdesk-prod", undefined],
    ]);
  });
});

describe("the github provider", () => {
  const spec = { id: "gh-reader", permissions: ["github:contents:read:acme/web-app"] };

  it("enforces github permissions once enabled, with the local provider off", async () => {
    const agents = await checkedAgents(agentTree([spec]));
    const off = checkEnforceability(agents, configured({ providers: { local: { enabled: false } } }));
    expect(off.map((d) => [d.pointer, d.rule])).toContainEqual(["/tools/0/permissions/0", "provisioning/unenforceable-permission"]);
    expect(off.find((d) => d.pointer === "/tools/0/permissions/0")?.fix).toContain("provisioning.providers.github");
    const on = checkEnforceability(agents, configured({ providers: { local: { enabled: false }, github: { enabled: true } } }));
    expect(on.filter((d) => d.rule === "provisioning/unenforceable-permission")).toEqual([]);
  });

  it("fails a lifetime shorter than GitHub's hour when only the github provider enforces the permission", async () => {
    const agents = await checkedAgents(agentTree([{ ...spec, maxLifetime: "15m" }]));
    const alone = checkEnforceability(agents, configured({ providers: { local: { enabled: false }, github: { enabled: true } } }));
    expect(alone.map((d) => [d.pointer, d.rule])).toContainEqual(["/tools/0/permissions/0", "provisioning/unenforceable-permission"]);
    expect(alone.find((d) => d.pointer === "/tools/0/permissions/0")?.message).toContain("lives one hour, but credentials.maxLifetime is 15m");
    const withLocal = checkEnforceability(agents, configured({ providers: { github: { enabled: true } } }));
    expect(withLocal).toEqual([]);
    const hour = checkEnforceability(await checkedAgents(agentTree([{ ...spec, maxLifetime: "1h" }])), configured({ providers: { local: { enabled: false }, github: { enabled: true } } }));
    expect(hour.filter((d) => d.rule === "provisioning/unenforceable-permission")).toEqual([]);
  });

  it("enforces nothing but github permissions", async () => {
    const agents = await checkedAgents(agentTree([{ id: "web", permissions: ["http:get:api.example.com/v1/orders"] }]));
    const diagnostics = checkEnforceability(agents, configured({ providers: { local: { enabled: false }, github: { enabled: true } } }));
    expect(diagnostics.map((d) => d.rule)).toContain("provisioning/unenforceable-permission");
  });
});
