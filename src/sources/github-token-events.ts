import type { IssuedGithubToken } from "../providers/github/index.js";
import type { SourceEvent } from "../trail/event.js";

/** The trail's instance for tokens Charter itself mints with its GitHub App. */
const GITHUB_TOKEN_INSTANCE = "charter";

/**
 * The trail's record of a GitHub installation token Charter issued: one attested event per
 * repository the token reaches (a rule then matches on the repository, as for any other github
 * event), all under the token's credential id. The token itself is not in any field: only
 * Charter's random id, its scope and its expiry.
 */
export function githubTokenEvents(agentId: string, issued: IssuedGithubToken): SourceEvent[] {
  const permissions = Object.entries(issued.permissions)
    .map(([name, level]) => `${name}:${level}`)
    .join(",");
  return issued.repositories.map((repo) => ({
    source: "github-token",
    sourceInstance: GITHUB_TOKEN_INSTANCE,
    // Charter is the issuer, so the record is the infrastructure's own, not the agent's report.
    attested: true,
    sourceKey: `${issued.credentialId}:${repo}`,
    observedAt: issued.issuedAt.toISOString(),
    principal: agentId,
    claimedAgent: null,
    // Charter knows whom it handed the token to; that is the attribution, whatever the principal directory says.
    tokenAgent: agentId,
    action: "token-issued",
    system: "github",
    resource: `${issued.owner}/${repo}`,
    instance: null,
    outcome: "allowed",
    errorCode: null,
    traceId: null,
    spanId: null,
    tool: null,
    model: null,
    inputTokens: null,
    outputTokens: null,
    detail: {
      credential: issued.credentialId,
      permissions,
      repositories: String(issued.repositories.length),
      expiresAt: issued.expiresAt.toISOString(),
      installation: String(issued.installationId),
    },
  }));
}
