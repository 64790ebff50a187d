import { readFileSync } from "node:fs";
import { CharterError } from "../errors.js";
import { describeError } from "./describe-error.js";
import { EXIT, type CliIo } from "./io.js";

export type Command = (argv: readonly string[], io: CliIo) => Promise<number>;

/** Commands by name, each imported only when it runs. */
export type CommandTable = Readonly<Record<string, { readonly load: () => Promise<Command>; readonly summary: string }>>;

function help(commands: CommandTable, about: string): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)}${c.summary}`);
  return `Usage: charter <command> [options]

${about}

Commands:
${lines.join("\n")}

Run charter <command> --help for a command's options.
`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/**
 * Runs one command of the table: help and version, or the command's exit code. Errors become a
 * message and exit 2 here, so no command prints a stack trace. The full CLI and the auditor's
 * verifier (bundled alone) are both this, with their own tables.
 */
export async function runCommand(commands: CommandTable, about: string, argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === "help" || name === "--help" || name === "-h") {
      io.out(help(commands, about));
      return name === undefined ? EXIT.error : EXIT.ok;
    }
    if (name === "--version" || name === "-v") {
      io.out(`${version()}\n`);
      return EXIT.ok;
    }
    const command = commands[name];
    if (!command) throw new CharterError("USAGE", `unknown command "${name}"`, { hint: "Run charter --help for the list of commands." });
    return await (await command.load())(rest, io);
  } catch (error) {
    io.err(describeError(error));
    return EXIT.error;
  }
}
