import { type Permission, parsePermission } from "../../manifest/permission.js";

/** GitHub's permission levels for an installation token, in the order they widen. */
export type GithubLevel = "read" | "write";

/**
 * What one installation access token may reach: repositories of one owner (GitHub names them
 * without the owner, within one installation) and one set of permissions that applies to every
 * one of them.
 */
export interface GithubTokenScope {
  readonly owner: string;
  /** Sorted repository names, without the owner. */
  readonly repositories: readonly string[];
  /** Scope → level, e.g. { contents: "read" }; sorted by scope. */
  readonly permissions: Readonly<Record<string, GithubLevel>>;
}

/**
 * Splits an agent's approved github permissions into the tokens that grant exactly them. A token
 * carries one permission set for all its repositories, so repositories with different approved
 * sets get different tokens: one token for contents:write on a and contents:read on b would also
 * write b. Write covers read, as on GitHub. Pure; the strings are the registry's approved ones.
 */
export function githubTokenScopes(permissions: readonly (string | Permission)[]): GithubTokenScope[] {
  const perRepo = new Map<string, Map<string, GithubLevel>>();
  for (const entry of permissions) {
    const permission = typeof entry === "string" ? parseOrUndefined(entry) : entry;
    if (permission?.system !== "github") continue;
    const [scope, level] = permission.action.split(":") as [string, GithubLevel];
    const repo = permission.resource.toLowerCase();
    const levels = perRepo.get(repo) ?? new Map<string, GithubLevel>();
    if (levels.get(scope) !== "write") levels.set(scope, level);
    perRepo.set(repo, levels);
  }
  const groups = new Map<string, { owner: string; repositories: string[]; permissions: Record<string, GithubLevel> }>();
  for (const [full, levels] of [...perRepo].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const [owner = "", name = ""] = full.split("/");
    const sorted = [...levels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const key = JSON.stringify([owner, sorted]);
    const group = groups.get(key) ?? { owner, repositories: [], permissions: Object.fromEntries(sorted) };
    group.repositories.push(name);
    groups.set(key, group);
  }
  return [...groups.values()];
}

function parseOrUndefined(raw: string): Permission | undefined {
  const parsed = parsePermission(raw);
  return parsed.ok ? parsed.permission : undefined;
}
