import { describe, expect, it } from "vitest";
import { providerDescriptors, provisioningSettings } from "../../src/provision/config.js";
import { desiredState } from "../../src/provision/desired-state.js";
import { ownAgents } from "../helpers/agents-fixture.js";
import { checkedAgents, COMMIT_A } from "../helpers/provisioning.js";

const providers = providerDescriptors(
  provisioningSettings({ version: 1, provisioning: { providers: { postgres: [{ instance: "crm-prod" }, { instance: "finance-prod", databases: ["finance"] }] } } }),
);

describe("desiredState over the repository's own agents", () => {
  it("routes postgres permissions to their instance and every other permission to local", async () => {
    const state = desiredState(await checkedAgents(ownAgents()), COMMIT_A, providers);
    const local = state.byProvider.get("local") ?? [];
    const crm = state.byProvider.get("postgres@crm-prod") ?? [];

    const review = local.find((a) => a.id === "code-review");
    expect(review?.status).toBe("active");
    expect(review?.maxLifetimeSeconds).toBe(15 * 60);
    expect(review?.permissions.map((p) => p.raw)).toEqual([
      "github:contents:read:acme/payments-api",
      "github:contents:read:acme/web-app",
      "github:pull_requests:write:acme/payments-api",
      "github:pull_requests:write:acme/web-app",
    ]);

    const triage = crm.find((a) => a.id === "support-triage");
    expect(triage?.permissions.map((p) => p.raw)).toEqual(["postgres:select:crm.public.customers@crm-prod", "postgres:select:crm.public.orders@crm-prod"]);
    expect(triage?.maxConcurrentSessions).toBe(4);
    expect(triage?.commit).toBe(COMMIT_A);
    // Every active agent has a local identity, even one whose permissions are all in databases.
    expect(local.find((a) => a.id === "support-triage")).toMatchObject({ status: "active", permissions: [] });
  });

  it("retires a retired agent everywhere and passes agents a provider has nothing for as retired there", async () => {
    const state = desiredState(await checkedAgents(ownAgents()), COMMIT_A, providers);
    for (const key of ["local", "postgres@crm-prod", "postgres@finance-prod"]) {
      expect(state.byProvider.get(key)?.find((a) => a.id === "legacy-refund-bot")?.status).toBe("retired");
    }
    expect(state.byProvider.get("postgres@crm-prod")?.find((a) => a.id === "code-review")).toMatchObject({ status: "retired", permissions: [] });
    expect(state.retired).toEqual(new Set(["legacy-refund-bot"]));
    expect(state.agents).toEqual(["analytics-insights", "code-review", "finance-reconciliation", "legacy-refund-bot", "support-triage"]);
  });

  it("lists the permissions no configured provider enforces", async () => {
    const state = desiredState(await checkedAgents(ownAgents()), COMMIT_A, providers);
    expect(state.unrouted).toEqual([
      { agent: "analytics-insights", permission: "postgres:usage:analytics.events@warehouse" },
      { agent: "analytics-insights", permission: "postgres:select:analytics.events.page_views@warehouse" },
      { agent: "analytics-insights", permission: "postgres:select:analytics.events.signups@warehouse" },
      { agent: "analytics-insights", permission: "postgres:select:analytics.crm.customer_segments@warehouse" },
      { agent: "support-triage", permission: "postgres:select:helpdesk.public.tickets@helpdesk-prod" },
      { agent: "support-triage", permission: "postgres:update:helpdesk.public.tickets@helpdesk-prod" },
    ]);
  });
});
