// What every REST handler receives, and the access checks they share.

import type { Credential, InstallationToken } from "../auth.js";
import type { SimCore } from "../core.js";
import { notFound, type SimResponse } from "../http.js";
import type { Account, Repository } from "../state.js";

export interface RestContext {
  readonly core: SimCore;
  readonly operationId: string;
  /** Path parameters, decoded ("agents/x/agent.yaml", "heads/main"). */
  readonly params: Readonly<Record<string, string>>;
  /** Query parameters after OpenAPI type coercion. */
  readonly query: Readonly<Record<string, unknown>>;
  /** The JSON body, already validated against the operation's schema. */
  readonly body: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly credential: Credential;
  readonly url: URL;
}

export type RestHandler = (context: RestContext) => SimResponse | Promise<SimResponse>;

export function param(context: RestContext, name: string): string {
  const value = context.params[name];
  if (value === undefined) throw new Error(`github-sim: route has no parameter ${name}`);
  return value;
}

export function installationToken(context: RestContext): InstallationToken | null {
  return context.credential.kind === "installation" ? context.credential.token : null;
}

/** The repository named by owner/repo, if the caller's credential reaches it (GitHub answers 404 otherwise). */
export function repoFor(context: RestContext): Repository {
  const repo = context.core.state.findRepository(param(context, "owner"), param(context, "repo"));
  if (!repo) throw notFound();
  const token = installationToken(context);
  if (context.credential.kind === "app") return repo;
  const reachable =
    token !== null &&
    repo.installationId === token.installationId &&
    (token.repositoryIds === null || token.repositoryIds.has(repo.id));
  if (!reachable) throw notFound();
  return repo;
}

/** Who an installation token acts as: the app's bot account. */
export function actor(context: RestContext): Account {
  return context.core.state.app.bot;
}

