import { type Diagnostic, diagnostic, FILE_START, type RuleCode } from "../manifest/diagnostic.js";
import { parseDuration } from "../manifest/duration.js";
import { type Permission, parsePermission } from "../manifest/permission.js";
import type { CheckedAgent } from "../manifest/validate.js";
import { POLICY_PATH } from "../change/governed-paths.js";
import { postgresUrlVariable, redisUrlVariable } from "./config.js";
import { GITHUB_PROVIDER, GITHUB_TOKEN_SECONDS, LOCAL_PROVIDER, POSTGRES_PROVIDER, REDIS_PROVIDER, type ProviderDescriptor } from "./routing.js";

/**
 * Fail closed: lists every permission of an active agent that no configured provider can
 * enforce, and every agent whose credential provider is not configured, as error Diagnostics
 * on the manifest's own lines. A permission nobody enforces would otherwise be approved, merged
 * and silently never granted or restricted; the pull request check must refuse it instead.
 *
 * Takes only what configuration says (names, instances, databases), never a connection, so the
 * check can run on every pull request. Unparseable permissions are left to the manifest lints,
 * which already report them.
 */
export function checkEnforceability(agents: readonly Pick<CheckedAgent, "file" | "manifest" | "locate">[], providers: readonly ProviderDescriptor[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const agent of agents) {
    const { manifest } = agent;
    if (manifest.status === "retired") continue;
    const report = (pointer: string, rule: RuleCode, message: string, fix: string): void => {
      out.push(diagnostic(agent.file, agent.locate?.(pointer) ?? FILE_START, rule, message, fix, { pointer }));
    };

    const enforced: Permission[] = [];
    const lifetime = parseDuration(manifest.credentials.maxLifetime);
    manifest.tools.forEach((tool, t) => {
      tool.permissions.forEach((raw, p) => {
        const parsed = parsePermission(raw);
        if (!parsed.ok) return;
        const handling = providers.filter((provider) => provider.handles(parsed.permission));
        if (handling.length > 0 && !onlyGithubTooShort(handling, lifetime)) {
          enforced.push(parsed.permission);
          return;
        }
        if (handling.length > 0) {
          report(
            `/tools/${t}/permissions/${p}`,
            "provisioning/unenforceable-permission",
            `"${raw}" needs a GitHub installation token, which lives one hour, but credentials.maxLifetime is ${manifest.credentials.maxLifetime}`,
            `GitHub cannot shorten its tokens: set credentials.maxLifetime to at least 1h, or enable provisioning.providers.local in ${POLICY_PATH} for tokens tool gateways enforce.`,
          );
          return;
        }
        report(`/tools/${t}/permissions/${p}`, "provisioning/unenforceable-permission", `no configured provider enforces "${raw}"`, howToEnforce(parsed.permission, providers));
      });
    });

    const issuer = manifest.credentials.provider;
    const configured = providers.filter((p) => p.name === issuer);
    if (configured.length === 0) {
      report(
        "/credentials/provider",
        "provisioning/unavailable-provider",
        `credentials.provider is "${issuer}" but no ${issuer} provider is configured`,
        issuer === LOCAL_PROVIDER
          ? `Enable provisioning.providers.local in ${POLICY_PATH}, or issue this agent's credentials from another provider.`
          : `Configure the server under provisioning.providers.${issuer} in ${POLICY_PATH}, or set credentials.provider to local.`,
      );
    } else if (issuer !== LOCAL_PROVIDER && !enforced.some((p) => configured.some((c) => c.handles(p)))) {
      // A postgres credential is a login on a server; with no permission there, no server is named.
      report(
        "/credentials/provider",
        "provisioning/unavailable-provider",
        `credentials.provider is "${issuer}" but the agent has no ${issuer} permission on a configured instance to issue a credential for`,
        `Set credentials.provider to local, or add the ${issuer} permissions the agent needs.`,
      );
    }
  }
  return out;
}

/** GitHub's tokens live one hour and cannot be shortened: alone, the github provider cannot honour a shorter approval. */
function onlyGithubTooShort(handling: readonly ProviderDescriptor[], lifetimeSeconds: number | undefined): boolean {
  return handling.every((p) => p.name === GITHUB_PROVIDER) && lifetimeSeconds !== undefined && lifetimeSeconds < GITHUB_TOKEN_SECONDS;
}

function howToEnforce(permission: Permission, providers: readonly ProviderDescriptor[]): string {
  if (permission.system === "redis") {
    const known = providers.filter((p) => p.name === REDIS_PROVIDER).map((p) => `@${p.instance ?? ""}`);
    if (permission.instance === undefined) {
      return `Name the Redis server: append its instance (${known.length > 0 ? `configured: ${known.join(", ")}` : "e.g. @cache-prod"}), as listed under provisioning.providers.redis in ${POLICY_PATH}, or enable provisioning.providers.local.`;
    }
    return `Add { instance: ${permission.instance} } under provisioning.providers.redis in ${POLICY_PATH} and set ${redisUrlVariable(permission.instance)}, or enable provisioning.providers.local, or correct the instance name.`;
  }
  if (permission.system === "http") {
    return `Add an egress proxy under provisioning.providers.squid in ${POLICY_PATH} (squid enforces method, host and path), or enable provisioning.providers.local (tokens tool gateways enforce).`;
  }
  if (permission.system === "github") {
    return `Enable provisioning.providers.github in ${POLICY_PATH} (installation tokens GitHub enforces), or provisioning.providers.local (tokens tool gateways enforce).`;
  }
  if (permission.instance === undefined) {
    const known = providers.filter((p) => p.name === POSTGRES_PROVIDER).map((p) => `@${p.instance ?? ""}`);
    return `Name the server: append its instance (${known.length > 0 ? `configured: ${known.join(", ")}` : "e.g. @crm-prod"}), as listed under provisioning.providers.postgres in ${POLICY_PATH}.`;
  }
  if (providers.some((p) => p.name === POSTGRES_PROVIDER && p.instance === permission.instance)) {
    const database = permission.resource.split(".")[0] ?? "";
    return `Instance ${permission.instance} does not list database "${database}": add it to that instance's databases in ${POLICY_PATH}, or correct the permission.`;
  }
  return `Add { instance: ${permission.instance} } under provisioning.providers.postgres in ${POLICY_PATH} and set ${postgresUrlVariable(permission.instance)}, or correct the instance name.`;
}
