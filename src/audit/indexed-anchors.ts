import { collectAnchors, type AnchorEntry, type LedgerAnchors } from "../trail/ledger-anchors.js";
import type { AuditStore } from "./audit-store.js";

/**
 * The trail anchors of `origin` among the first `size` records, from the audit index: the same
 * answer as reading every record of the branch (sources/trail-sealer.ts readAnchors), at the cost
 * of one query. The index holds only records that parsed and chained, so none is unreadable; a
 * branch it refused is read record by record instead, by the caller.
 */
export async function indexedAnchors(store: AuditStore, origin: string, size: number): Promise<LedgerAnchors> {
  const rows = await store.select("SELECT seq, anchor FROM trail_anchors WHERE origin = ? AND seq < ? ORDER BY seq", [origin, size]);
  return collectAnchors(rows.map((r) => ({ seq: Number(r["seq"]), body: JSON.parse(String(r["anchor"])) as AnchorEntry })));
}
