import { access, constants, stat } from "node:fs/promises";
import { CharterError } from "../../errors.js";
import { readIfPresent } from "./files.js";
import type { PasswordLine, SquidObserved } from "./observed.js";
import { configPaths } from "./render.js";
import { parseState } from "./state.js";

/** Reads Charter's directory; touches nothing. A directory that is missing or not writable is a clear configuration error. */
export async function observe(instance: string, directory: string, now: () => number): Promise<SquidObserved> {
  await checkDirectory(instance, directory);
  const paths = configPaths(directory);
  const [config, passwords, state] = await Promise.all([readIfPresent(paths.config), readIfPresent(paths.passwords), readIfPresent(paths.state)]);
  const lines: PasswordLine[] = [];
  let malformed = 0;
  for (const line of (passwords ?? "").split("\n")) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) malformed++;
    else lines.push({ user: line.slice(0, colon), hash: line.slice(colon + 1) });
  }
  return { instance, now: now(), config, passwords: lines, malformedPasswordLines: malformed, state: parseState(state) };
}

async function checkDirectory(instance: string, directory: string): Promise<void> {
  const hint = `Create the directory, owned by the user Charter runs as and readable by squid's user (proxy on Debian), and point squid at ${directory}/squid.conf (docs/providers.md).`;
  try {
    if (!(await stat(directory)).isDirectory()) throw new CharterError("INVALID_CONFIG", `squid@${instance}: ${directory} is not a directory`, { hint });
    await access(directory, constants.W_OK | constants.R_OK);
  } catch (error) {
    if (error instanceof CharterError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? "";
    throw new CharterError("INVALID_CONFIG", `squid@${instance}: ${directory} ${code === "ENOENT" ? "does not exist" : `cannot be read and written (${code})`}`, { hint });
  }
}
