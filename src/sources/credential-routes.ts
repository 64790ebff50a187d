import type { IncomingMessage, ServerResponse } from "node:http";
import { isCharterError } from "../errors.js";
import type { GithubAppCredentials } from "../providers/github/index.js";
import { LocalRegistry } from "../providers/local/index.js";
import { authenticate } from "./ingest-tokens.js";
import { issueRecordedGithubTokens } from "./issue-recorded-github-tokens.js";
import type { TrailIngestor } from "./trail-ingestor.js";
import { pathOf, send } from "./trail-routes.js";
import type { TrailStore } from "./trail-store.js";

const GITHUB_PATH = "/api/credentials/github";
/** A request names a repository and a few permissions at most. */
const MAX_BODY_BYTES = 4096;

export interface CredentialRoutesDeps {
  readonly store: TrailStore;
  readonly ingestor: TrailIngestor;
  /** The local registry charter sync applies approved manifests to (CHARTER_LOCAL_DB). */
  readonly registryPath: string;
  readonly app: GithubAppCredentials;
  /** Where answers are logged: the agent, the credential id and the scope, never the token. */
  readonly log?: (level: "info" | "warn", fields: Record<string, unknown>, message: string) => void;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * POST /api/credentials/github: an agent presents its own ingest token (the one its telemetry
 * goes with) and gets a GitHub installation token for exactly its approved github permissions,
 * minted by the same function as `charter token issue --github`. The body may narrow the token
 * to one repository or fewer permissions, never widen it. The token is recorded in the trail
 * (an attested token-issued event with its id, scope and expiry) before it is answered: a token
 * the trail could not record is not handed out.
 */
export function credentialRoutes(deps: CredentialRoutesDeps): Handler {
  return async (req, res) => {
    if (pathOf(req.url) !== GITHUB_PATH) return false;
    try {
      if (req.method !== "POST") throw new Refusal(405, "use POST");
      const caller = await authenticate(deps.store, req.headers.authorization);
      if (caller === null) throw new Refusal(401, "a live ingest token of the agent is required: Authorization: Bearer charter_it_… (charter trail token create --agent ID)");
      if (caller.kind !== "agent" || caller.agent === null) throw new Refusal(403, "this ingest token belongs to a source, not an agent: only an agent's own token gets that agent's credentials");
      const request = parseRequest(await readSmallBody(req));
      const agent = caller.agent;
      const registry = LocalRegistry.open(deps.registryPath);
      let answer: Record<string, unknown>;
      try {
        const [issued] = await issueRecordedGithubTokens(registry, deps.ingestor, agent, deps.app, {
          single: true,
          ...(request.repository === undefined ? {} : { repository: request.repository, onlyRepository: true }),
          ...(request.permissions === undefined ? {} : { permissions: request.permissions }),
        });
        if (issued === undefined) throw new Refusal(500, "no token was minted");
        deps.log?.("info", { agent, credential: issued.credentialId, owner: issued.owner, repositories: issued.repositories, permissions: issued.permissions, expiresAt: issued.expiresAt.toISOString() }, "charter: github token issued");
        answer = {
          token: issued.token,
          expires_at: issued.expiresAt.toISOString(),
          credential_id: issued.credentialId,
          repositories: issued.repositories.map((r) => `${issued.owner}/${r}`),
          permissions: issued.permissions,
        };
      } finally {
        registry.close();
      }
      send(res, 200, answer);
      return true;
    } catch (error) {
      const refusal = refusalOf(error);
      if (refusal.status >= 500) deps.log?.("warn", { err: refusal.message, path: GITHUB_PATH }, "charter: github token not issued");
      else if (refusal.status !== 401) deps.log?.("info", { status: refusal.status, path: GITHUB_PATH }, "charter: github token request refused");
      send(res, refusal.status, { error: refusal.message }, refusal.status === 401 ? { "www-authenticate": "Bearer", connection: "close" } : refusal.status === 405 ? { allow: "POST" } : {});
      return true;
    }
  };
}

function refusalOf(error: unknown): Refusal {
  if (error instanceof Refusal) return error;
  if (!isCharterError(error)) return new Refusal(500, "the token could not be issued");
  const hint = error.hint === undefined ? "" : ` ${error.hint}`;
  switch (error.code) {
    case "USAGE":
      return new Refusal(400, `${error.message}.${hint}`);
    // No approved github permission (or none on the repository asked for), a retired agent, a
    // wider request, an approval shorter than GitHub's hour: the agent may not have this token.
    case "NOT_FOUND":
    case "REVOKED":
    case "FORBIDDEN":
    case "OUT_OF_RANGE":
      return new Refusal(403, `${error.message}.${hint}`);
    case "OVERLOADED":
      return new Refusal(503, "the trail is behind and cannot record the token now; retry after a pause");
    default:
      // GitHub's refusals and configuration problems are the operator's, not the agent's: the log has them.
      return new Refusal(502, `the token could not be issued: ${error.message}`);
  }
}

interface TokenRequest {
  readonly repository?: string;
  readonly permissions?: Readonly<Record<string, string>>;
}

function parseRequest(body: string): TokenRequest {
  if (body.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new Refusal(400, 'the body is not JSON: send {} or {"repository": "owner/repo", "permissions": {"contents": "read"}}');
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Refusal(400, "the body must be a JSON object");
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((k) => k !== "repository" && k !== "permissions");
  if (unknown.length > 0) throw new Refusal(400, `unknown field ${JSON.stringify(unknown[0])}: only repository and permissions may be given`);
  const out: { repository?: string; permissions?: Record<string, string> } = {};
  if (fields["repository"] !== undefined) {
    const repo = fields["repository"];
    if (typeof repo !== "string" || !/^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/.test(repo)) throw new Refusal(400, "repository must be owner/repo");
    out.repository = repo;
  }
  if (fields["permissions"] !== undefined) {
    const permissions = fields["permissions"];
    if (typeof permissions !== "object" || permissions === null || Array.isArray(permissions)) throw new Refusal(400, 'permissions must be an object such as {"contents": "read"}');
    const entries = Object.entries(permissions as Record<string, unknown>);
    if (entries.length > 50 || entries.some(([name, level]) => !/^[a-z_]{1,64}$/.test(name) || typeof level !== "string")) {
      throw new Refusal(400, "permissions maps GitHub permission names (lowercase, underscores) to read or write");
    }
    // A null-prototype record: a name such as __proto__ stays a plain key.
    out.permissions = Object.assign(Object.create(null) as Record<string, string>, Object.fromEntries(entries as [string, string][]));
  }
  return out;
}

async function readSmallBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > MAX_BODY_BYTES) throw new Refusal(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Refusal(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new Refusal(400, "the body is not UTF-8");
  }
}
