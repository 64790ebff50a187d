import type { CommandTable } from "./run-command.js";

/** charter verify, as both the full CLI and the auditor's verifier list it. */
export const VERIFY_ENTRY: CommandTable[string] = {
  load: async () => (await import("./verify-command.js")).verifyCommand,
  summary: "verify the evidence ledger on a clone: complete, unedited, signed by a key you trust",
};
