import { DEFAULT_LIMITS } from "./limits.js";
import { parseYaml } from "./parse-yaml.js";

// The schema's pattern for identities.github: a login, or an app's `<slug>[bot]` account.
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}(?:\[bot\])?$/;
// A `github: <login>` line anywhere, for text that is not a readable manifest.
const GITHUB_LINE = /^[ \t]*github:[ \t]*["']?([A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}(?:\[bot\])?)["']?[ \t]*(?:#.*)?$/gm;

/**
 * The GitHub logins a manifest's text declares as the agent's own (identities.github). Read from
 * every manifest of the inventory, valid or not: a manifest that does not parse (only a direct
 * push can leave one on the default branch) still names its agent's account, so its text is
 * searched for `github:` lines instead, which errs on the side of excluding a login.
 */
export function declaredGithubIdentities(text: string): string[] {
  const bounded = text.length > DEFAULT_LIMITS.maxManifestBytes ? text.slice(0, DEFAULT_LIMITS.maxManifestBytes) : text;
  const parsed = parseYaml("manifest", bounded, DEFAULT_LIMITS);
  if (parsed.ok) {
    const value = parsed.parsed.value;
    const identities = typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)["identities"] : undefined;
    const github = typeof identities === "object" && identities !== null ? (identities as Record<string, unknown>)["github"] : undefined;
    if (github === undefined || github === null) return [];
    if (typeof github === "string" && LOGIN.test(github)) return [github];
  }
  return [...new Set([...bounded.matchAll(GITHUB_LINE)].map((m) => m[1] ?? "").filter((l) => l !== ""))];
}
