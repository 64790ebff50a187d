import { isCharterError } from "../errors.js";

/** An error as the CLI prints it: the message and what to do, never a stack trace unless asked for. */
export function describeError(error: unknown): string {
  if (isCharterError(error)) return `${error.message}\n${error.hint ? `${error.hint}\n` : ""}`;
  // parseArgs reports unknown or malformed options with these codes.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
    return `charter: ${(error as Error).message}\nRun charter <command> --help for the options.\n`;
  }
  const detail = process.env["CHARTER_DEBUG"] ? `\n${(error as Error).stack ?? String(error)}` : "";
  return `charter: internal error: ${error instanceof Error ? error.message : String(error)}${detail}\nThis is a bug in Charter; set CHARTER_DEBUG=1 for details and report it.\n`;
}
