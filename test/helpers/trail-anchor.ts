import { appendToLedger, type LedgerTip } from "../../src/evidence/ledger.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import { anchorBody } from "../../src/sources/trail-sealer.js";
import type { TempRepo } from "./temp-repo.js";

/**
 * Appends a trail-anchor record for the SQLite trail's sealed, unanchored segments to the
 * repository's evidence branch, as the app does through GitHub, and marks them anchored.
 * Returns the ledger's new tip (the same tip when nothing was left to anchor).
 */
export async function anchorTrail(repo: TempRepo, db: string, tip: LedgerTip, signerKey: string): Promise<LedgerTip> {
  const store = openSqliteTrail(db);
  try {
    const next = await anchorBody(store);
    if (next === null) return tip;
    const appended = appendToLedger(tip, { kind: "trail-anchor", body: next.body, observedAt: new Date().toISOString() }, { signerKey });
    repo.git("checkout", "-q", "charter-evidence");
    repo.write(Object.fromEntries(appended.files.map((f) => [f.path, Buffer.from(f.content)])));
    repo.commitAll(`anchor ${appended.seq}`);
    repo.git("checkout", "-q", "main");
    await store.markAnchored(next.segments, { seq: appended.seq, sha256: "0".repeat(64) });
    return appended.tip;
  } finally {
    await store.close();
  }
}
