import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { expect } from "vitest";
import { runGroup } from "./child-processes.js";

/**
 * The environment of a fresh auditor's machine under `base`: a home, a trust-file directory, an
 * npm prefix whose bin/ comes first on PATH and a cache of its own. Nothing may come from a
 * registry (offline), and no package script runs: the checkout is built already (pretest), and a
 * rebuild of dist/ by a prepare script, which some npm releases run on link, would rewrite it
 * under the suite's other tests.
 */
export function auditorMachine(base: string): NodeJS.ProcessEnv {
  const prefix = join(base, "prefix");
  mkdirSync(join(base, "home"), { recursive: true });
  return {
    PATH: `${join(prefix, "bin")}:${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: join(base, "home"),
    XDG_CONFIG_HOME: join(base, "home/.config"),
    npm_config_prefix: prefix,
    npm_config_cache: join(base, "npm-cache"),
    npm_config_offline: "true",
    npm_config_ignore_scripts: "true",
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_TERMINAL_PROMPT: "0",
  };
}

/** The guide's install of the full CLI: `npm ci` (this checkout is installed already), then `npm link` into the machine's prefix. */
export async function linkFullCli(checkout: string, env: NodeJS.ProcessEnv): Promise<void> {
  const link = await runGroup("npm", ["link"], { cwd: checkout, env, timeoutMs: 180_000, allowFailure: true });
  expect(link.code, link.stdout + link.stderr).toBe(0);
}
