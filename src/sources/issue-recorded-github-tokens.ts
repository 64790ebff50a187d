import { type GithubAppCredentials, type GithubTokenOptions, type IssuedGithubToken, issueGithubTokens } from "../providers/github/index.js";
import type { LocalRegistry } from "../providers/local/index.js";
import { githubTokenEvents } from "./github-token-events.js";
import type { TrailIngestor } from "./trail-ingestor.js";

/**
 * What `charter token issue --github` and the app's POST /api/credentials/github both do: mint
 * the agent's GitHub tokens and record each in the trail through the one ingest path (chained
 * like every other event) before anyone sees it. A token the trail could not record is not
 * handed out; it expires unused within the hour.
 */
export async function issueRecordedGithubTokens(registry: LocalRegistry, ingestor: TrailIngestor, agentId: string, app: GithubAppCredentials, options: GithubTokenOptions = {}): Promise<IssuedGithubToken[]> {
  const issued = await issueGithubTokens(registry, agentId, app, options);
  await ingestor.submit(issued.flatMap((token) => githubTokenEvents(agentId, token)));
  return issued;
}
