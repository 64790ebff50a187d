/**
 * Charter's permission vocabulary, one grammar for every target system:
 *
 *   <system>:<action>:<resource>[@<instance>]
 *
 *   postgres:select:crm.public.customers@crm-prod    table privilege (database.schema.table)
 *   postgres:usage:crm.public@crm-prod               schema usage (database.schema)
 *   postgres:execute:crm.public.refund_order         function (database.schema.function)
 *   redis:read:cache:customers:*@cache-prod          key pattern; * only as the last character
 *   github:contents:write:acme/app                   repository permission (scope:level:owner/repo)
 *   http:post:api.payments.example/v1/refunds        method:host/path; a path may end in /*
 *
 * Wildcards over a whole system (a database, a schema, every key, every repository of an owner,
 * a whole host) are refused: least privilege means naming what is reached.
 */
export type PermissionSystem = "postgres" | "redis" | "github" | "http";

export interface Permission {
  readonly raw: string;
  readonly system: PermissionSystem;
  readonly action: string;
  readonly resource: string;
  readonly instance: string | undefined;
}

export type PermissionParse =
  | { readonly ok: true; readonly permission: Permission }
  | { readonly ok: false; readonly kind: "invalid" | "wildcard"; readonly reason: string };

const SYSTEMS: readonly PermissionSystem[] = ["postgres", "redis", "github", "http"];
const INSTANCE = /^[a-z][a-z0-9-]{0,62}$/;
const PG_IDENT = /^[a-z_][a-z0-9_$]{0,62}$/;
const PG_TABLE_PRIVILEGES = ["select", "insert", "update", "delete", "truncate", "references", "trigger"];
const PG_ACTIONS = [...PG_TABLE_PRIVILEGES, "usage", "execute"];
const REDIS_ACTIONS = ["read", "write"];
const REDIS_KEY = /^[A-Za-z0-9:_.{}-]+\*?$/;
const GITHUB_SCOPES = ["contents", "pull_requests", "issues", "checks", "statuses", "metadata", "actions", "deployments"];
const GITHUB_LEVELS = ["read", "write"];
const GITHUB_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,99})$/;
const HTTP_METHODS = ["get", "head", "post", "put", "patch", "delete"];
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9](?::\d{1,5})?$/;
const HTTP_PATH = /^\/[A-Za-z0-9._~!$&'()+,;=:@%/-]*(?:\/\*)?$/;

const invalid = (reason: string): PermissionParse => ({ ok: false, kind: "invalid", reason });
const wildcard = (reason: string): PermissionParse => ({ ok: false, kind: "wildcard", reason });
const oneOf = (values: readonly string[]): string => values.join(", ");

export function parsePermission(raw: string): PermissionParse {
  const first = raw.indexOf(":");
  const second = first === -1 ? -1 : raw.indexOf(":", first + 1);
  if (first === -1 || second === -1) return invalid("expected <system>:<action>:<resource>[@<instance>]");
  const system = raw.slice(0, first);
  const action = raw.slice(first + 1, second);
  const rest = raw.slice(second + 1);
  if (!(SYSTEMS as readonly string[]).includes(system)) return invalid(`unknown system "${system}"; known: ${oneOf(SYSTEMS)}`);

  switch (system as PermissionSystem) {
    case "postgres":
      return parsePostgres(raw, action, rest);
    case "redis":
      return parseRedis(raw, action, rest);
    case "github":
      return parseGithub(raw, action, rest);
    case "http":
      return parseHttp(raw, action, rest);
  }
}

function splitInstance(rest: string): { resource: string; instance: string | undefined } | string {
  const at = rest.lastIndexOf("@");
  if (at === -1) return { resource: rest, instance: undefined };
  const instance = rest.slice(at + 1);
  if (!INSTANCE.test(instance)) return `instance "${instance}" must be a lowercase name (letters, digits, hyphens)`;
  return { resource: rest.slice(0, at), instance };
}

function parsePostgres(raw: string, action: string, rest: string): PermissionParse {
  if (!PG_ACTIONS.includes(action)) return invalid(`postgres action "${action}" is not one of: ${oneOf(PG_ACTIONS)}`);
  const split = splitInstance(rest);
  if (typeof split === "string") return invalid(split);
  const parts = split.resource.split(".");
  if (parts.some((p) => p.includes("*"))) {
    return wildcard(`"${split.resource}" uses a wildcard; name each table (database.schema.table) instead`);
  }
  const expected = action === "usage" ? 2 : 3;
  if (parts.length !== expected) {
    return invalid(
      action === "usage"
        ? `postgres usage needs database.schema, got "${split.resource}"`
        : `postgres ${action} needs database.schema.${action === "execute" ? "function" : "table"}, got "${split.resource}"`,
    );
  }
  const bad = parts.find((p) => !PG_IDENT.test(p));
  if (bad !== undefined) return invalid(`"${bad}" is not a plain lowercase PostgreSQL identifier`);
  return { ok: true, permission: { raw, system: "postgres", action, resource: split.resource, instance: split.instance } };
}

function parseRedis(raw: string, action: string, rest: string): PermissionParse {
  if (!REDIS_ACTIONS.includes(action)) return invalid(`redis action "${action}" is not one of: ${oneOf(REDIS_ACTIONS)}`);
  const split = splitInstance(rest);
  if (typeof split === "string") return invalid(split);
  const key = split.resource;
  if (key === "" || key === "*" || /^[:*]+$/.test(key)) return wildcard(`"${key}" matches every key; use a key prefix such as cache:customers:*`);
  if (!REDIS_KEY.test(key)) return invalid(`"${key}" is not a key pattern (letters, digits, : _ . - { }, and * only at the end)`);
  return { ok: true, permission: { raw, system: "redis", action, resource: key, instance: split.instance } };
}

function parseGithub(raw: string, scope: string, rest: string): PermissionParse {
  if (!GITHUB_SCOPES.includes(scope)) return invalid(`github scope "${scope}" is not one of: ${oneOf(GITHUB_SCOPES)}`);
  const colon = rest.indexOf(":");
  if (colon === -1) return invalid("github permissions read github:<scope>:<read|write>:<owner>/<repo>");
  const level = rest.slice(0, colon);
  const repo = rest.slice(colon + 1);
  if (!GITHUB_LEVELS.includes(level)) return invalid(`github level "${level}" is not one of: ${oneOf(GITHUB_LEVELS)}`);
  const [owner, name, extra] = repo.split("/");
  if (owner === undefined || name === undefined || extra !== undefined) return invalid(`"${repo}" is not owner/repo`);
  if (name.includes("*") || owner.includes("*")) return wildcard(`"${repo}" covers every repository; name each repository`);
  if (!GITHUB_NAME.test(owner) || !GITHUB_NAME.test(name)) return invalid(`"${repo}" is not a valid owner/repo`);
  return { ok: true, permission: { raw, system: "github", action: `${scope}:${level}`, resource: repo, instance: undefined } };
}

function parseHttp(raw: string, method: string, rest: string): PermissionParse {
  if (!HTTP_METHODS.includes(method)) return invalid(`http method "${method}" is not one of: ${oneOf(HTTP_METHODS)}`);
  const slash = rest.indexOf("/");
  const host = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? "" : rest.slice(slash);
  if (host.includes("*")) return wildcard(`host "${host}" uses a wildcard; name the host`);
  if (!HOSTNAME.test(host)) return invalid(`"${host}" is not a lowercase host name`);
  if (path === "" || path === "/" || path === "/*") return wildcard(`"${rest}" covers the whole host; name the path (e.g. ${host}/v1/refunds)`);
  if (!HTTP_PATH.test(path)) return invalid(`"${path}" is not a URL path; * is allowed only as a final /* segment`);
  return { ok: true, permission: { raw, system: "http", action: method, resource: `${host}${path}`, instance: undefined } };
}

/**
 * Whether everything `b` grants is also granted by `a`, on the same instance. Used to tell a
 * widened or narrowed permission from an unrelated one added or removed:
 *
 *   postgres  privileges are exact: only an identical grant covers (no hierarchy is modelled)
 *   redis     write covers read; a pattern ending in * covers every key or pattern it prefixes
 *   github    same scope and repository; write covers read
 *   http      same method and host; a path ending in /* covers every path below it
 */
export function covers(a: Permission, b: Permission): boolean {
  if (a.system !== b.system || a.instance !== b.instance) return false;
  switch (a.system) {
    case "postgres":
      return a.action === b.action && a.resource === b.resource;
    case "redis":
      return (a.action === b.action || (a.action === "write" && b.action === "read")) && prefixCovers(a.resource, "*", b.resource);
    case "github": {
      const [scopeA, levelA] = a.action.split(":");
      const [scopeB, levelB] = b.action.split(":");
      return scopeA === scopeB && a.resource === b.resource && (levelA === levelB || (levelA === "write" && levelB === "read"));
    }
    case "http":
      return a.action === b.action && hostOf(a.resource) === hostOf(b.resource) && prefixCovers(a.resource, "/*", b.resource);
  }
}

/** `pattern` equals `value`, or ends with `wildcard` and `value` starts with what precedes the `*`. */
function prefixCovers(pattern: string, wildcard: string, value: string): boolean {
  if (pattern === value) return true;
  return pattern.endsWith(wildcard) && value.startsWith(pattern.slice(0, -1));
}

function hostOf(resource: string): string {
  const slash = resource.indexOf("/");
  return slash === -1 ? resource : resource.slice(0, slash);
}
