import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";

/**
 * charter verify remembers every log it verifies in the auditor's trust file (by default in the
 * home directory). Each test gets a fresh, empty one, so no test writes to the home directory of
 * whoever runs the suite and no test's ledger is judged against another test's remembered key.
 */
let dir: string | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "charter-trust-"));
  process.env["CHARTER_TRUST_FILE"] = join(dir, "known-logs");
});
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});
