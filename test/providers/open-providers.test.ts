import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isCharterError } from "../../src/errors.js";
import { parsePermission, type Permission } from "../../src/manifest/permission.js";
import { closeProviders, openProviders } from "../../src/providers/open-providers.js";
import { providerDescriptors, providerSecrets, provisioningSettings } from "../../src/provision/config.js";
import { tempDir, type TempDir } from "../helpers/provisioning.js";

const settings = provisioningSettings({
  version: 1,
  provisioning: { providers: { postgres: [{ instance: "crm-prod", databases: ["crm"] }, { instance: "warehouse" }], redis: [{ instance: "cache-prod" }], squid: [{ instance: "egress", listen: "127.0.0.1:3128" }] } },
});

const permission = (raw: string): Permission => {
  const parsed = parsePermission(raw);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.permission;
};

let dir: TempDir;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => {
  dir.remove();
});

describe("openProviders", () => {
  it("opens the configured providers, which route permissions exactly as the pull request check does", async () => {
    const env = {
      CHARTER_LOCAL_DB: dir.file("local.db"),
      CHARTER_POSTGRES_URL_CRM_PROD: "postgres://charter@127.0.0.1:1/crm",
      CHARTER_POSTGRES_URL_WAREHOUSE: "postgres://charter@127.0.0.1:1/analytics",
      CHARTER_REDIS_URL_CACHE_PROD: "redis://charter-provisioner:x@127.0.0.1:1/0",
      CHARTER_SQUID_DIR_EGRESS: dir.file("squid"),
    };
    const providers = openProviders(settings, providerSecrets(settings, env), { access: "write" });
    try {
      const descriptors = providerDescriptors(settings);
      expect(providers.map((p) => [p.name, p.instance])).toEqual(descriptors.map((d) => [d.name, d.instance]));
      const samples = [
        "postgres:select:crm.public.orders@crm-prod",
        "postgres:select:billing.public.invoices@crm-prod",
        "postgres:select:analytics.events.signups@warehouse",
        "postgres:execute:crm.public.refund_order",
        "redis:read:cache:a:*@cache-prod",
        "redis:read:cache:a:*@cache-staging",
        "redis:read:cache:a:*",
        "github:contents:read:acme/app",
        "http:get:api.example.com/v1/a",
      ].map(permission);
      for (const p of samples) {
        expect(providers.map((provider) => provider.handles(p)), p.raw).toEqual(descriptors.map((d) => d.handles(p)));
      }
    } finally {
      await closeProviders(providers);
    }
  });

  it("names the missing variable instead of opening a partial set", () => {
    const redis = { CHARTER_REDIS_URL_CACHE_PROD: "redis://p:x@h:6379/0", CHARTER_SQUID_DIR_EGRESS: dir.file("squid") };
    const postgres = { CHARTER_POSTGRES_URL_CRM_PROD: "postgres://x@h/crm", CHARTER_POSTGRES_URL_WAREHOUSE: "postgres://x@h/a" };
    for (const env of [
      { ...postgres, ...redis },
      { CHARTER_LOCAL_DB: dir.file("local.db"), CHARTER_POSTGRES_URL_CRM_PROD: "postgres://x@h/crm", ...redis },
      { CHARTER_LOCAL_DB: dir.file("local.db"), ...postgres },
      { CHARTER_LOCAL_DB: dir.file("local.db"), ...postgres, CHARTER_REDIS_URL_CACHE_PROD: "redis://p:x@h:6379/0" },
    ]) {
      try {
        openProviders(settings, providerSecrets(settings, env), { access: "write" });
        expect.unreachable();
      } catch (error) {
        expect(isCharterError(error) && error.code).toBe("MISSING_SECRET");
        expect((error as Error).message).toMatch(/CHARTER_LOCAL_DB|CHARTER_POSTGRES_URL_WAREHOUSE|CHARTER_REDIS_URL_CACHE_PROD|CHARTER_SQUID_DIR_EGRESS/);
      }
    }
  });

  it("opened for reading, creates no registry: a missing one is an error, or empty when asked, and the path stays missing", async () => {
    const localOnly = provisioningSettings({ version: 1, provisioning: { providers: { local: { enabled: true } } } });
    const path = dir.file("not-yet/local.db");
    const secrets = providerSecrets(localOnly, { CHARTER_LOCAL_DB: path });
    expect(() => openProviders(localOnly, secrets, { access: "read" })).toThrow(/the local registry .* does not exist/);
    const empty = openProviders(localOnly, secrets, { access: "read", missing: "empty" });
    try {
      expect(await empty[0]?.observe()).toEqual([]);
    } finally {
      await closeProviders(empty);
    }
    expect(existsSync(dirname(path))).toBe(false);
    await closeProviders(openProviders(localOnly, secrets, { access: "write" }));
    expect(existsSync(path)).toBe(true);
  });
});
