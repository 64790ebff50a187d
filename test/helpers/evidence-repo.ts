import { CHECKPOINT_PATH, PUBLIC_KEY_PATH } from "../../src/evidence/ledger.js";
import { type BuiltLedger, buildLedger } from "../evidence/ledger-fixture.js";
import { type TempRepo, tempRepo } from "./temp-repo.js";

/**
 * A throwaway git repository whose charter-evidence branch holds a real, signed ledger of
 * `changes` change records, as the app writes it; main is checked out.
 */
export function evidenceRepo(changes: number): { repo: TempRepo; ledger: BuiltLedger } {
  const ledger = buildLedger(changes);
  const repo = tempRepo({ "README.md": "# agents\n" });
  repo.commitAll("main");
  repo.git("checkout", "-q", "--orphan", "charter-evidence");
  repo.git("rm", "-q", "-rf", ".");
  const files: Record<string, Uint8Array | string> = { [CHECKPOINT_PATH]: ledger.checkpoint, [PUBLIC_KEY_PATH]: `${ledger.verifierKey}\n` };
  for (const r of ledger.records) files[r.path] = r.bytes;
  repo.write(files);
  repo.commitAll("evidence");
  repo.git("checkout", "-q", "main");
  return { repo, ledger };
}
