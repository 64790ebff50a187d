import { CharterError } from "../errors.js";
import { canonicalBytes, parseCanonical } from "./canonical-json.js";
import type { LedgerTip } from "./ledger.js";
import { sha256 } from "./merkle.js";

/**
 * The writer's cache of the ledger's tip, stored on the branch so that an append reads one small
 * file instead of every record. It is derived data and nobody has to trust it: a wrong tip
 * produces records whose prev, seq or checkpoint do not add up, which charter verify reports.
 */
export const TIP_PATH = "tip.json";

/** One empty marker file per change record, named by its idempotency key, so a redelivery can tell in one read. */
export function markerPath(idempotencyKey: string): string {
  return `index/${Buffer.from(sha256(new TextEncoder().encode(idempotencyKey))).toString("hex")}`;
}

interface TipJson {
  readonly size: number;
  readonly lastHash: string | null;
  readonly lastObservedAt: string | null;
  readonly origin: string | null;
  readonly frontier: { readonly size: number; readonly nodes: readonly string[] };
}

export function formatTip(tip: LedgerTip): Uint8Array {
  const value: TipJson = {
    size: tip.size,
    lastHash: tip.lastHash,
    lastObservedAt: tip.lastObservedAt,
    origin: tip.origin,
    frontier: { size: tip.frontier.size, nodes: tip.frontier.nodes.map((n) => Buffer.from(n).toString("hex")) },
  };
  return canonicalBytes(value);
}

export function parseTip(bytes: Uint8Array): LedgerTip {
  const value = parseCanonical(bytes) as Partial<TipJson> | null;
  const frontier = value?.frontier;
  const nodes: unknown = frontier?.nodes;
  if (!value || typeof value.size !== "number" || !frontier || !Array.isArray(nodes) || !nodes.every((n) => typeof n === "string" && /^[0-9a-f]{64}$/.test(n)) || frontier.size !== value.size) {
    throw new CharterError("INVALID_RECORD", `${TIP_PATH} on the evidence branch is not a ledger tip`, { hint: "Run charter verify on the branch; restore tip.json from the last good commit." });
  }
  return {
    size: value.size,
    lastHash: value.lastHash ?? null,
    lastObservedAt: value.lastObservedAt ?? null,
    origin: value.origin ?? null,
    frontier: { size: frontier.size, nodes: (nodes as string[]).map((n) => new Uint8Array(Buffer.from(n, "hex"))) },
  };
}
