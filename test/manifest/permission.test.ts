import { describe, expect, it } from "vitest";
import { covers, type Permission, parsePermission } from "../../src/manifest/permission.js";

describe("permission vocabulary", () => {
  it.each([
    ["postgres:select:crm.public.customers@crm-prod", { system: "postgres", action: "select", resource: "crm.public.customers", instance: "crm-prod" }],
    ["postgres:usage:crm.public", { system: "postgres", action: "usage", resource: "crm.public", instance: undefined }],
    ["postgres:execute:crm.billing.refund_order@crm-prod", { system: "postgres", action: "execute", resource: "crm.billing.refund_order", instance: "crm-prod" }],
    ["redis:read:cache:customers:*@cache-prod", { system: "redis", action: "read", resource: "cache:customers:*", instance: "cache-prod" }],
    ["github:contents:write:acme/app", { system: "github", action: "contents:write", resource: "acme/app", instance: undefined }],
    ["http:post:api.payments.example/v1/refunds", { system: "http", action: "post", resource: "api.payments.example/v1/refunds", instance: undefined }],
    ["http:get:api.payments.example:8443/v1/settlements/*", { system: "http", action: "get", resource: "api.payments.example:8443/v1/settlements/*", instance: undefined }],
  ])("parses %s", (raw, expected) => {
    const result = parsePermission(raw);
    expect(result).toEqual({ ok: true, permission: { raw, ...expected } });
  });

  it.each([
    "postgres:select:crm.public.*",
    "postgres:select:crm.*.customers",
    "postgres:usage:crm.*",
    "redis:read:*",
    "redis:write:",
    "github:contents:read:acme/*",
    "github:contents:read:*/*",
    "http:get:*.example.com/v1",
    "http:get:api.example.com",
    "http:get:api.example.com/",
    "http:get:api.example.com/*",
  ])("refuses the system-wide wildcard %s", (raw) => {
    expect(parsePermission(raw)).toMatchObject({ ok: false, kind: "wildcard" });
  });

  it.each([
    ["select:crm.public.customers", /expected <system>/],
    ["postgres:select", /expected <system>/],
    ["postgres:grant:crm.public.customers", /not one of: select/],
    ["postgres:select:public.customers", /database\.schema\.table/],
    ["postgres:select:crm.public.Customers", /plain lowercase PostgreSQL identifier/],
    ["postgres:select:crm.public.customers@Prod", /instance "Prod"/],
    ["postgres:select:crm.public.customers; drop table x", /identifier/],
    ["redis:flush:cache:*", /not one of: read, write/],
    ["redis:read:cache:*:x", /key pattern/],
    ["github:admin:write:acme/app", /scope "admin"/],
    ["github:contents:admin:acme/app", /level "admin"/],
    ["github:contents:write:acme", /owner\/repo/],
    ["http:connect:api.example.com/v1", /method "connect"/],
    ["http:get:API.example.com/v1", /host name/],
    ["http:get:api.example.com/v1/*/x", /URL path/],
    ["ftp:get:files.example.com/x", /unknown system "ftp"/],
  ])("refuses %s", (raw, reason) => {
    const result = parsePermission(raw);
    expect(result).toMatchObject({ ok: false, kind: "invalid" });
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});

function permission(raw: string): Permission {
  const result = parsePermission(raw);
  if (!result.ok) throw new Error(`fixture ${raw} does not parse: ${result.reason}`);
  return result.permission;
}

describe("covers", () => {
  // [a, b, a covers b, b covers a]
  it.each([
    ["postgres:select:crm.public.customers@crm-prod", "postgres:select:crm.public.customers@crm-prod", true, true],
    ["postgres:select:crm.public.customers@crm-prod", "postgres:insert:crm.public.customers@crm-prod", false, false],
    ["postgres:usage:crm.public", "postgres:select:crm.public.customers", false, false],
    ["postgres:select:crm.public.customers@crm-prod", "postgres:select:crm.public.customers@crm-staging", false, false],
    ["redis:read:cache:*@cache-prod", "redis:read:cache:customers:*@cache-prod", true, false],
    ["redis:read:cache:*", "redis:read:cache:customers:42", true, false],
    ["redis:read:cache:customers:*", "redis:read:cache:orders:*", false, false],
    ["redis:write:cache:customers:*", "redis:read:cache:customers:*", true, false],
    ["redis:write:cache:*", "redis:read:cache:customers:*", true, false],
    ["redis:read:cache:*", "redis:write:cache:customers:*", false, false],
    ["redis:read:cache:*@cache-prod", "redis:read:cache:customers:*", false, false],
    ["redis:read:cache:customers", "redis:read:cache:customers:1", false, false],
    ["github:contents:write:acme/app", "github:contents:read:acme/app", true, false],
    ["github:contents:write:acme/app", "github:contents:read:acme/web", false, false],
    ["github:issues:write:acme/app", "github:contents:read:acme/app", false, false],
    ["http:get:api.example.com/v1/*", "http:get:api.example.com/v1/orders", true, false],
    ["http:get:api.example.com/v1/*", "http:get:api.example.com/v1/orders/*", true, false],
    ["http:get:api.example.com/v1/*", "http:get:api.example.com/v10/orders", false, false],
    ["http:get:api.example.com/v1/*", "http:get:api.example.com/v1", false, false],
    ["http:get:api.example.com/v1/*", "http:post:api.example.com/v1/orders", false, false],
    ["http:get:api.example.com/v1/*", "http:get:api.example.com:8443/v1/orders", false, false],
    ["http:get:api.example.com/v1/*", "http:get:api.example.co/v1/orders", false, false],
    ["redis:read:cache:*", "http:get:cache.example.com/x", false, false],
  ])("%s vs %s", (a, b, aCoversB, bCoversA) => {
    expect(covers(permission(a), permission(b))).toBe(aCoversB);
    expect(covers(permission(b), permission(a))).toBe(bCoversA);
  });
});
