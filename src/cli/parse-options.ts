import { parseArgs, type ParseArgsConfig } from "node:util";
import { CharterError } from "../errors.js";

/** A command's usage line(s): its help text up to the first blank line. */
export function usageOf(help: string): string {
  const end = help.indexOf("\n\n");
  return end < 0 ? help.trimEnd() : help.slice(0, end);
}

/** "charter audit" from "Usage: charter audit changes …": what to run --help on. */
function commandOf(usage: string): string {
  return /^Usage: (charter(?: [a-z-]+)?)/.exec(usage)?.[1] ?? "charter";
}

/** An argument as the user typed it, quoted only when it holds something a terminal would not show as is. */
function shown(argument: string): string {
  return /^[\x21-\x7e]+$/.test(argument) ? argument : JSON.stringify(argument);
}

/**
 * The one way a command reads its arguments: Node's parseArgs, strict, with its errors turned
 * into Charter's USAGE error in Charter's words with the command's usage lines, so that Node's
 * own parser text never reaches the user and every usage error exits 2.
 */
export function parseOptions<const T extends ParseArgsConfig>(config: T, help: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw usageError(error, usageOf(help));
  }
}

function usageError(error: unknown, usage: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !code.startsWith("ERR_PARSE_ARGS")) return error;
  const message = (error as Error).message;
  // parseArgs quotes what it stumbled on first: '--frobnicate', '-h, --help', '--format <value>', 'x'.
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? "";
  const argument = code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL" ? quoted : (/--[^\s,]+|-[^\s,]/.exec(quoted.split(", ").at(-1) ?? "")?.[0] ?? quoted);
  const hint = `${usage}\nRun ${commandOf(usage)} --help for every option.`;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return new CharterError("USAGE", `unknown option ${shown(argument)}`, { hint });
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return new CharterError("USAGE", `unexpected argument ${JSON.stringify(argument)}`, { hint });
  if (/does not take an argument/.test(message)) return new CharterError("USAGE", `${shown(argument)} takes no value`, { hint });
  if (/ambiguous/.test(message)) return new CharterError("USAGE", `${shown(argument)} needs a value`, { hint: `A value that starts with "-" is written ${shown(argument)}=VALUE.\n${hint}` });
  return new CharterError("USAGE", `${shown(argument)} needs a value`, { hint });
}
