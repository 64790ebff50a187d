// apps/*: the two endpoints an app calls with its JWT.

import { simpleUser } from "../render/account.js";
import { repository } from "../render/repository.js";
import { openIssueCount } from "../render/pull-request.js";
import { HttpError, notFound, paginate } from "../http.js";
import type { Installation, PermissionLevel } from "../state.js";
import type { RestContext, RestHandler } from "./context.js";
import { param, repoFor } from "./context.js";

const LEVELS: readonly PermissionLevel[] = ["read", "write", "admin"];

function renderInstallation(context: RestContext, installation: Installation) {
  const { urls, state } = context.core;
  const kind = installation.account.type === "Organization" ? "organizations" : "users";
  return {
    id: installation.id,
    client_id: `Iv1.${state.app.id.toString(16).padStart(16, "0")}`,
    account: simpleUser(urls, installation.account),
    repository_selection: "all",
    access_tokens_url: `${urls.api}/app/installations/${installation.id}/access_tokens`,
    repositories_url: `${urls.api}/installation/repositories`,
    html_url: `${urls.web}/${kind}/${installation.account.login}/settings/installations/${installation.id}`,
    app_id: state.app.id,
    app_slug: state.app.slug,
    target_id: installation.account.id,
    target_type: installation.account.type === "Organization" ? "Organization" : "User",
    permissions: installation.permissions,
    events: installation.events,
    created_at: installation.createdAt,
    updated_at: installation.createdAt,
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
    suspended_by: null,
    suspended_at: null,
  };
}

const createInstallationAccessToken: RestHandler = (context) => {
  const { state, auth, urls } = context.core;
  const installation = state.installations.get(Number(param(context, "installation_id")));
  if (!installation) throw notFound();
  const requested = context.body["permissions"] as Record<string, PermissionLevel> | undefined;
  for (const [scope, level] of Object.entries(requested ?? {})) {
    const granted = installation.permissions[scope];
    if (!granted || LEVELS.indexOf(level) > LEVELS.indexOf(granted)) {
      throw new HttpError(422, "The permissions requested are not granted to this installation.", { record: true });
    }
  }
  const names = context.body["repositories"] as string[] | undefined;
  const ids = context.body["repository_ids"] as number[] | undefined;
  const installed = [...state.repositories.values()].filter((repo) => repo.installationId === installation.id);
  let limited: Set<number> | null = null;
  if (names || ids) {
    limited = new Set<number>();
    for (const name of names ?? []) {
      const repo = installed.find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());
      if (!repo) {
        throw new HttpError(422, "There is at least one repository that does not exist or is not accessible to the parent installation.", { record: true });
      }
      limited.add(repo.id);
    }
    for (const id of ids ?? []) {
      if (!installed.some((repo) => repo.id === id)) {
        throw new HttpError(422, "There is at least one repository that does not exist or is not accessible to the parent installation.", { record: true });
      }
      limited.add(id);
    }
  }
  const permissions = requested ?? installation.permissions;
  const token = auth.issueToken(installation, permissions, limited);
  return {
    status: 201,
    body: {
      token: token.token,
      expires_at: `${token.expiresAt.toISOString().slice(0, 19)}Z`,
      permissions,
      repository_selection: limited ? "selected" : "all",
      ...(limited
        ? {
            repositories: installed
              .filter((repo) => limited.has(repo.id))
              .map((repo) => repository(urls, repo, openIssueCount(state, repo))),
          }
        : {}),
    },
  };
};

const getRepoInstallation: RestHandler = (context) => {
  const repo = repoFor(context);
  const installation = repo.installationId === null ? undefined : context.core.state.installations.get(repo.installationId);
  if (!installation) throw notFound();
  return { status: 200, body: renderInstallation(context, installation) };
};

/** The app's installations (app JWT). */
const listInstallations: RestHandler = (context) => {
  const installations = [...context.core.state.installations.values()].sort((a, b) => a.id - b.id);
  const page = paginate(installations, context.query, context.url);
  return { status: 200, headers: page.headers, body: page.items.map((i) => renderInstallation(context, i)) };
};

/** The repositories an installation token reaches (installation token, not the JWT). */
const listReposAccessibleToInstallation: RestHandler = (context) => {
  const { state, urls } = context.core;
  const token = context.credential.kind === "installation" ? context.credential.token : null;
  if (token === null) throw notFound();
  const repos = [...state.repositories.values()]
    .filter((repo) => repo.installationId === token.installationId && (token.repositoryIds === null || token.repositoryIds.has(repo.id)))
    .sort((a, b) => a.id - b.id);
  const page = paginate(repos, context.query, context.url);
  return {
    status: 200,
    headers: page.headers,
    body: { total_count: repos.length, repository_selection: "all", repositories: page.items.map((repo) => repository(urls, repo, openIssueCount(state, repo))) },
  };
};

export const appsHandlers: Record<string, RestHandler> = {
  "apps/list-installations": listInstallations,
  "apps/list-repos-accessible-to-installation": listReposAccessibleToInstallation,
  "apps/create-installation-access-token": createInstallationAccessToken,
  "apps/get-repo-installation": getRepoInstallation,
};
