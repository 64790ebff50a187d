import type { CliIo } from "./io.js";
import { runCommand } from "./run-command.js";
import { VERIFY_ENTRY } from "./verify-entry.js";

/**
 * The auditor's verifier: `charter verify` and nothing else, bundled with every package it uses
 * into one dependency-free npm package (scripts/pack-verifier.js), so that it installs from its
 * tarball with no registry and no source tree.
 */
export async function runVerifier(argv: readonly string[], io: CliIo): Promise<number> {
  return runCommand({ verify: VERIFY_ENTRY }, "Verifies Charter's evidence ledger offline (the auditor's verifier; the full CLI is the agent-charter package).", argv, io);
}
