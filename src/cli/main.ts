import { readFileSync } from "node:fs";
import { CharterError } from "../errors.js";
import { describeError } from "./describe-error.js";
import { auditCommand } from "./audit-command.js";
import { diffCommand } from "./diff-command.js";
import { evaluateCommand } from "./evaluate-command.js";
import { evidenceCommand } from "./evidence-command.js";
import { jobsCommand } from "./jobs-command.js";
import { verifyCommand } from "./verify-command.js";
import { detectCommand } from "./detect-command.js";
import { alertsCommand } from "./alerts-command.js";
import { witnessCommand } from "./witness-command.js";
import { driftCommand } from "./drift-command.js";
import { planCommand } from "./plan-command.js";
import { syncCommand } from "./sync-command.js";
import { tokenCommand } from "./token-command.js";
import { trailCommand } from "./trail-command.js";
import { EXIT, type CliIo } from "./io.js";
import { validateCommand } from "./validate-command.js";

type Command = (argv: readonly string[], io: CliIo) => Promise<number>;

const COMMANDS: Readonly<Record<string, { run: Command; summary: string }>> = {
  validate: { run: validateCommand, summary: "validate agent manifests and their prompt files" },
  diff: { run: diffCommand, summary: "what changed for each agent between two commits, with risk levels" },
  evaluate: { run: evaluateCommand, summary: "decide a pull request offline from a snapshot, as the GitHub App would" },
  evidence: { run: evidenceCommand, summary: "export the population of recorded changes, or show one record with its proof" },
  verify: { run: verifyCommand, summary: "verify the evidence ledger on a clone: complete, unedited, signed by a key you trust" },
  witness: { run: witnessCommand, summary: "as an independent witness, cosign the evidence log if it only grew since last time" },
  audit: { run: auditCommand, summary: "answer audit requests: changes, an agent at a time, access review, exceptions" },
  plan: { run: planCommand, summary: "what a sync would change in the credential providers (read-only)" },
  sync: { run: syncCommand, summary: "provision the manifests' identities and permissions, then verify" },
  drift: { run: driftCommand, summary: "report where the credential providers differ from the manifests" },
  token: { run: tokenCommand, summary: "issue a short-lived agent token, or print the JWKS to verify tokens" },
  jobs: { run: jobsCommand, summary: "the app's job queue: counts, dead-lettered jobs, and retrying them" },
  detect: { run: detectCommand, summary: "run anomaly detection (manifest rules, baselines, Sigma rules) over a file of trail events" },
  trail: { run: trailCommand, summary: "the action trail: ingest, ingest tokens, status, seal, verify, prove" },
  alerts: { run: alertsCommand, summary: "alerts live detection raised: list, show, acknowledge, resolve (who, when, why)" },
};

function help(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)}${c.summary}`);
  return `Usage: charter <command> [options]

Change control for AI agents.

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
 * The CLI's single entry point. Every command is a plain async function returning an exit code;
 * this is the one place that turns errors into messages and codes, so no command prints a stack
 * trace.
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === "help" || name === "--help" || name === "-h") {
      io.out(help());
      return name === undefined ? EXIT.error : EXIT.ok;
    }
    if (name === "--version" || name === "-v") {
      io.out(`${version()}\n`);
      return EXIT.ok;
    }
    const command = COMMANDS[name];
    if (!command) throw new CharterError("USAGE", `unknown command "${name}"`, { hint: "Run charter --help for the list of commands." });
    return await command.run(rest, io);
  } catch (error) {
    io.err(describeError(error));
    return EXIT.error;
  }
}
