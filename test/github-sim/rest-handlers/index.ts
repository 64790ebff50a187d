// Every simulated REST operation: its handler, the credential it takes and the installation
// permission GitHub requires for it (any one of the alternatives suffices).

import type { PermissionLevel } from "../state.js";
import { actionsHandlers } from "./actions.js";
import { appsHandlers } from "./apps.js";
import { checksHandlers } from "./checks.js";
import type { RestHandler } from "./context.js";
import { gitHandlers } from "./git.js";
import { issuesHandlers } from "./issues.js";
import { orgsHandlers } from "./orgs.js";
import { pullsHandlers } from "./pulls.js";
import { reposHandlers } from "./repos.js";
import { usersHandlers } from "./users.js";

export interface RestRoute {
  readonly handler: RestHandler;
  readonly credential: "app" | "installation";
  readonly permissions: readonly (readonly [scope: string, level: PermissionLevel])[];
}

const handlers: Record<string, RestHandler> = {
  ...actionsHandlers,
  ...appsHandlers,
  ...reposHandlers,
  ...pullsHandlers,
  ...checksHandlers,
  ...gitHandlers,
  ...orgsHandlers,
  ...issuesHandlers,
  ...usersHandlers,
};

const PERMISSIONS: Record<string, RestRoute["permissions"]> = {
  "repos/get": [["metadata", "read"]],
  "repos/get-content": [["contents", "read"]],
  "repos/compare-commits": [["contents", "read"]],
  "repos/get-branch": [["contents", "read"]],
  // GitHub documents "Metadata" repository permissions (read) for getting rules for a branch.
  "repos/get-branch-rules": [["metadata", "read"]],
  "repos/get-collaborator-permission-level": [["metadata", "read"]],
  "repos/list-pull-requests-associated-with-commit": [["pull_requests", "read"]],
  "pulls/list": [["pull_requests", "read"]],
  "pulls/get": [["pull_requests", "read"]],
  "pulls/list-files": [["pull_requests", "read"]],
  "pulls/list-reviews": [["pull_requests", "read"]],
  "pulls/list-commits": [["pull_requests", "read"]],
  "pulls/merge": [["contents", "write"]],
  "checks/create": [["checks", "write"]],
  "checks/update": [["checks", "write"]],
  "checks/get": [["checks", "read"]],
  "checks/list-for-ref": [["checks", "read"]],
  "git/get-ref": [["contents", "read"]],
  "git/get-tree": [["contents", "read"]],
  "git/get-blob": [["contents", "read"]],
  "git/get-commit": [["contents", "read"]],
  "git/create-ref": [["contents", "write"]],
  "git/update-ref": [["contents", "write"]],
  "git/create-tree": [["contents", "write"]],
  "git/create-blob": [["contents", "write"]],
  "git/create-commit": [["contents", "write"]],
  "teams/get-membership-for-user-in-org": [["members", "read"]],
  "orgs/get-membership-for-user": [["members", "read"]],
  "issues/create": [["issues", "write"]],
  "issues/update": [
    ["issues", "write"],
    ["pull_requests", "write"],
  ],
  "issues/create-comment": [
    ["issues", "write"],
    ["pull_requests", "write"],
  ],
  "issues/list-comments": [
    ["issues", "read"],
    ["pull_requests", "read"],
  ],
  "issues/list-for-repo": [["issues", "read"]],
  "issues/get": [
    ["issues", "read"],
    ["pull_requests", "read"],
  ],
  "issues/list-labels-on-issue": [
    ["issues", "read"],
    ["pull_requests", "read"],
  ],
  "users/get-by-username": [],
  "actions/list-jobs-for-workflow-run": [["actions", "read"]],
};

export const REST_ROUTES: ReadonlyMap<string, RestRoute> = new Map(
  Object.entries(handlers).map(([operationId, handler]) => [
    operationId,
    {
      handler,
      // Listing an installation's repositories is the one apps/ call made with its token.
      credential: operationId.startsWith("apps/") && operationId !== "apps/list-repos-accessible-to-installation" ? "app" : "installation",
      permissions: PERMISSIONS[operationId] ?? [],
    },
  ]),
);

const LEVELS: readonly PermissionLevel[] = ["read", "write", "admin"];

/** True when granted permissions satisfy one of the route's alternatives (or it needs none). */
export function permitted(route: RestRoute, granted: Readonly<Record<string, PermissionLevel>>): boolean {
  if (route.permissions.length === 0) return true;
  return route.permissions.some(([scope, level]) => {
    const have = granted[scope];
    return have !== undefined && LEVELS.indexOf(have) >= LEVELS.indexOf(level);
  });
}
