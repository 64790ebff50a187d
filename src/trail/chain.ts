import type { DecidedEvent } from "./decide.js";
import { chainHashBytes, eventBytes, GENESIS_HASH } from "./event-bytes.js";
import type { TrailEvent } from "./event.js";

/** Where the chain ends: the last event's seq (0 for an empty trail) and hash. */
export interface ChainTip {
  readonly seq: number;
  readonly hash: string;
}

export const EMPTY_TIP: ChainTip = { seq: 0, hash: GENESIS_HASH };

export interface ChainedEvent {
  readonly event: TrailEvent;
  /** The stored bytes the hash covers. */
  readonly bytes: Buffer;
}

/**
 * Places decided events after the tip, in the order given (arrival order), each linked to the
 * one before. The decided objects become the chained events (seq and hash are set on them):
 * the caller hands them over.
 */
export function chainEvents(tip: ChainTip, decided: readonly DecidedEvent[]): { chained: ChainedEvent[]; tip: ChainTip } {
  const chained: ChainedEvent[] = [];
  let { seq } = tip;
  let previous: Buffer = Buffer.from(tip.hash, "hex");
  for (const d of decided) {
    seq += 1;
    // One object, completed in place: copying thirty fields twice per event showed in profiles.
    const event = d as DecidedEvent & { seq: number; hash: string };
    event.seq = seq;
    event.hash = "";
    const bytes = eventBytes(event);
    previous = chainHashBytes(previous, bytes);
    event.hash = previous.toString("hex");
    chained.push({ event, bytes });
  }
  return { chained, tip: { seq, hash: previous.toString("hex") } };
}
