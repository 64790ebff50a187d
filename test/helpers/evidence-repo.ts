import { appendToLedger, CHECKPOINT_PATH, EMPTY_LEDGER, type LedgerAppend, PUBLIC_KEY_PATH } from "../../src/evidence/ledger.js";
import type { NewRecord } from "../../src/evidence/record.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { type BuiltLedger, buildLedger, genesisBody, observedAt, ORIGIN } from "../evidence/ledger-fixture.js";
import { type TempRepo, tempRepo } from "./temp-repo.js";

/**
 * A throwaway git repository whose charter-evidence branch holds a real, signed ledger of
 * `changes` change records, as the app writes it; main is checked out.
 */
export function evidenceRepo(changes: number): { repo: TempRepo; ledger: BuiltLedger } {
  const ledger = buildLedger(changes);
  const repo = tempRepo({ "README.md": "# agents\n" });
  repo.commitAll("main");
  putEvidence(repo, ledger);
  return { repo, ledger };
}

/**
 * Replaces the charter-evidence branch's files with a ledger in one new commit (creating the
 * branch if needed), as someone holding the signing key and push access could; main stays
 * checked out.
 */
export function putEvidence(repo: TempRepo, ledger: Pick<BuiltLedger, "records" | "checkpoint" | "verifierKey">, message = "evidence"): string {
  const exists = repo.git("branch", "--list", "charter-evidence") !== "";
  if (exists) repo.git("checkout", "-q", "charter-evidence");
  else repo.git("checkout", "-q", "--orphan", "charter-evidence");
  repo.git("rm", "-q", "-rf", "--ignore-unmatch", ".");
  const files: Record<string, Uint8Array | string> = { [CHECKPOINT_PATH]: ledger.checkpoint, [PUBLIC_KEY_PATH]: `${ledger.verifierKey}\n` };
  for (const r of ledger.records) files[r.path] = r.bytes;
  repo.write(files);
  const commit = repo.commitAll(message);
  repo.git("checkout", "-q", "main");
  return commit;
}

/** A ledger of a genesis record and the given entries (observed a minute apart), signed once per append. */
export function ledgerOf(entries: readonly Omit<NewRecord, "observedAt">[], keys = generateSignerKey(ORIGIN)): BuiltLedger {
  let last: LedgerAppend = appendToLedger(EMPTY_LEDGER, { kind: "genesis", body: genesisBody(keys.verifierKey), observedAt: observedAt(0) }, { signerKey: keys.signerKey });
  const records = [{ path: last.path, bytes: last.bytes }];
  const checkpoints = ["", last.checkpoint];
  entries.forEach((entry, i) => {
    last = appendToLedger(last.tip, { ...entry, observedAt: observedAt(i + 1) } as NewRecord, { signerKey: keys.signerKey });
    records.push({ path: last.path, bytes: last.bytes });
    checkpoints.push(last.checkpoint);
  });
  return { ...keys, tip: last.tip, records, checkpoint: last.checkpoint, checkpoints };
}
