import { gitLedgerSource } from "../audit/git-ledger-source.js";
import { openAlertStore } from "../sources/open-alert-store.js";
import { verifyTrailAgainst } from "../sources/trail-against-ledger.js";
import type { TrailStore } from "../sources/trail-store.js";
import type { TrailVerifyReport } from "../trail/verify-trail.js";

export interface StoredTrailVerification {
  /** The clone whose evidence branch holds the trail-anchor records, and that branch. */
  readonly root: string;
  readonly ref: string;
  readonly verifierKeys: readonly string[];
  /** Where the alert store beside the trail is found, as for every command that opens it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly db: string | undefined;
  /** Sees every verified event's bytes as the chain is checked (the deep check reads them too). */
  readonly onEvent?: (seq: number, bytes: Buffer) => void;
}

/**
 * The trail in a store against the anchors on the evidence branch, then the alert store beside
 * it against the log of alerts and evaluations that the chain just proved: what `charter trail
 * verify` reports and what `charter readiness` judges the trail's integrity by.
 */
export async function verifyStoredTrail(store: TrailStore, o: StoredTrailVerification): Promise<TrailVerifyReport> {
  const source = await gitLedgerSource(o.root, o.ref);
  const alerts = await openAlertStore(o.env, o.cwd, o.db);
  try {
    return await verifyTrailAgainst(store, { source, alerts, verifierKeys: o.verifierKeys, ...(o.onEvent === undefined ? {} : { onEvent: o.onEvent }) });
  } finally {
    await alerts.close();
    await source.close();
  }
}
