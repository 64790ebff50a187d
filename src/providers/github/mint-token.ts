import { CharterError } from "../../errors.js";
import { GITHUB_TOKEN_SECONDS } from "../../provision/routing.js";
import type { GithubTokenScope } from "./token-scope.js";

/** GitHub never issues an installation token for longer than this, and it cannot be shortened. */
export const GITHUB_TOKEN_LIFETIME_SECONDS = GITHUB_TOKEN_SECONDS;

export interface GithubAppClient {
  /** The REST API root, e.g. https://api.github.com. */
  readonly apiUrl: string;
  /** The app's JWT (see appJwt). */
  readonly jwt: string;
  readonly fetch: typeof globalThis.fetch;
}

export interface MintedGithubToken extends GithubTokenScope {
  /** The secret: hand it to the agent, never log or record it. */
  readonly token: string;
  readonly installationId: number;
  readonly expiresAt: Date;
}

/**
 * Mints one installation access token for exactly `scope`: the repositories and permissions go
 * in the request body, and the answer is checked to say the same, so a token wider than asked
 * for is never handed out. Two calls: the installation of the scope's first repository (the app
 * JWT), and the token itself.
 */
export async function mintInstallationToken(client: GithubAppClient, scope: GithubTokenScope): Promise<MintedGithubToken> {
  const first = scope.repositories[0];
  if (first === undefined) throw new CharterError("INVALID_INPUT", "a GitHub token scope names no repository");
  const where = `${scope.owner}/${first}`;
  const installation = await call(client, "GET", `/repos/${encodeURIComponent(scope.owner)}/${encodeURIComponent(first)}/installation`, undefined, where);
  const installationId = installation["id"];
  if (typeof installationId !== "number" || !Number.isSafeInteger(installationId)) throw new CharterError("INVALID_RECORD", `GitHub's answer for the installation on ${where} has no id`);
  const answer = await call(client, "POST", `/app/installations/${installationId}/access_tokens`, { repositories: scope.repositories, permissions: scope.permissions }, where);
  const token = answer["token"];
  const expiresAt = new Date(String(answer["expires_at"]));
  if (typeof token !== "string" || token === "" || Number.isNaN(expiresAt.getTime())) throw new CharterError("INVALID_RECORD", `GitHub's token answer for ${where} lacks a token or expiry`);
  refuseWider(scope, answer, where);
  return { ...scope, token, installationId, expiresAt };
}

function refuseWider(scope: GithubTokenScope, answer: Record<string, unknown>, where: string): void {
  const granted = (answer["permissions"] ?? {}) as Record<string, unknown>;
  // GitHub adds metadata:read to every token: it is the floor of any repository access.
  const extra = Object.entries(granted).filter(([name, level]) => scope.permissions[name] !== level && !(name === "metadata" && level === "read"));
  const missing = Object.entries(scope.permissions).filter(([name, level]) => granted[name] !== level);
  const repos = Array.isArray(answer["repositories"]) ? (answer["repositories"] as { name?: unknown }[]).map((r) => String(r.name).toLowerCase()).sort() : null;
  const sameRepos = answer["repository_selection"] === "selected" && repos !== null && JSON.stringify(repos) === JSON.stringify([...scope.repositories].sort());
  if (extra.length > 0 || missing.length > 0 || !sameRepos) {
    throw new CharterError("INVALID_RECORD", `GitHub answered a token for ${where} whose scope differs from the approved one`, {
      hint: "The token was not printed. It expires within the hour; check the app's installation settings.",
    });
  }
}

async function call(client: GithubAppClient, method: "GET" | "POST", path: string, body: unknown, where: string): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await client.fetch(`${client.apiUrl.replace(/\/+$/, "")}${path}`, {
      method,
      headers: { authorization: `Bearer ${client.jwt}`, accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28", ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new CharterError("IO", `cannot reach the GitHub API at ${client.apiUrl}`, { cause: error, hint: "Check CHARTER_GITHUB_API_URL and the network." });
  }
  // Only GitHub's message is quoted: a token answer is never put into an error.
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.ok) return json;
  const message = typeof json["message"] === "string" ? json["message"].slice(0, 200) : `HTTP ${response.status}`;
  if (response.status === 401) throw new CharterError("UNAUTHORIZED", `GitHub refused the app's credentials: ${message}`, { hint: "Check APP_ID and PRIVATE_KEY." });
  if (response.status === 404) throw new CharterError("NOT_FOUND", `the GitHub App is not installed on ${where}`, { hint: "Install the app on that repository, or correct the manifest's permission." });
  if (response.status === 422) {
    throw new CharterError("INVALID_CONFIG", `GitHub refused a token for ${where}: ${message}`, { hint: "Grant the app's installation the permissions and repositories the manifest approves." });
  }
  throw new CharterError("IO", `GitHub answered ${response.status} for ${where}: ${message}`);
}
