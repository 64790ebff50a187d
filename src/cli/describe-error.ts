import { isCharterError } from "../errors.js";

/** An error as the CLI prints it: the message and what to do, never a stack trace unless asked for. */
export function describeError(error: unknown): string {
  if (isCharterError(error)) return `${error.message}\n${error.hint ? `${error.hint}\n` : ""}`;
  const detail = process.env["CHARTER_DEBUG"] ? `\n${(error as Error).stack ?? String(error)}` : "";
  return `charter: internal error: ${error instanceof Error ? error.message : String(error)}${detail}\nThis is a bug in Charter; set CHARTER_DEBUG=1 for details and report it.\n`;
}
