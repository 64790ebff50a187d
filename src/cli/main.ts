import type { CliIo } from "./io.js";
import { type CommandTable, runCommand } from "./run-command.js";
import { VERIFY_ENTRY } from "./verify-entry.js";

/**
 * Each command's module is imported only when that command runs, so a command pays for the
 * dependencies it uses and nothing else (charter --help loads none of them; validate no git,
 * database or GitHub code).
 */
const COMMANDS: CommandTable = {
  validate: { load: async () => (await import("./validate-command.js")).validateCommand, summary: "validate agent manifests and their prompt files" },
  diff: { load: async () => (await import("./diff-command.js")).diffCommand, summary: "what changed for each agent between two commits, with risk levels" },
  evaluate: { load: async () => (await import("./evaluate-command.js")).evaluateCommand, summary: "decide a pull request offline from a snapshot, as the GitHub App would" },
  evidence: { load: async () => (await import("./evidence-command.js")).evidenceCommand, summary: "export the population of recorded changes, or show one record with its proof" },
  verify: VERIFY_ENTRY,
  witness: { load: async () => (await import("./witness-command.js")).witnessCommand, summary: "as an independent witness, cosign the evidence log if it only grew since last time" },
  audit: { load: async () => (await import("./audit-command.js")).auditCommand, summary: "answer audit requests: changes, an agent at a time, access review, exceptions" },
  plan: { load: async () => (await import("./plan-command.js")).planCommand, summary: "what a sync would change in the credential providers (read-only)" },
  sync: { load: async () => (await import("./sync-command.js")).syncCommand, summary: "provision the manifests' identities and permissions, then verify" },
  drift: { load: async () => (await import("./drift-command.js")).driftCommand, summary: "report where the credential providers differ from the manifests" },
  token: { load: async () => (await import("./token-command.js")).tokenCommand, summary: "issue a short-lived agent token, or print the JWKS to verify tokens" },
  jobs: { load: async () => (await import("./jobs-command.js")).jobsCommand, summary: "the app's job queue: counts, dead-lettered jobs, and retrying them" },
  detect: { load: async () => (await import("./detect-command.js")).detectCommand, summary: "run anomaly detection (manifest rules, baselines, Sigma rules) over a file of trail events" },
  trail: { load: async () => (await import("./trail-command.js")).trailCommand, summary: "the action trail: ingest, ingest tokens, status, seal, verify, prove" },
  alerts: { load: async () => (await import("./alerts-command.js")).alertsCommand, summary: "alerts live detection raised: list, show, acknowledge, resolve (who, when, why)" },
  readiness: { load: async () => (await import("./readiness-command.js")).readinessCommand, summary: "SOC 2 readiness item by item, judged on the evidence, with the proof behind each answer" },
};

/**
 * The CLI's single entry point. Every command is a plain async function returning an exit code;
 * runCommand is the one place that turns errors into messages and codes, so no command prints a
 * stack trace.
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  return runCommand(COMMANDS, "Change control for AI agents.", argv, io);
}
