import type { Seen } from "../hit.js";

/**
 * Events kept in event-time order for sliding windows. Sources deliver slightly out of order,
 * so an event is inserted at its place (a scan from the end, which is where almost every event
 * lands) rather than appended.
 */
export function insertByTime(list: Seen[], seen: Seen): void {
  let i = list.length;
  while (i > 0 && (list[i - 1]?.ms ?? 0) > seen.ms) i--;
  list.splice(i, 0, seen);
}

/** Index of the first entry with ms >= t. */
export function firstAtOrAfter(list: readonly Seen[], t: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((list[mid]?.ms ?? 0) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Drops entries that no future window can reach: older than the newest entry minus the window. */
export function prune(list: Seen[], windowMs: number, cap: number): void {
  const newest = list[list.length - 1]?.ms;
  if (newest === undefined) return;
  const keepFrom = firstAtOrAfter(list, newest - windowMs);
  const drop = Math.max(keepFrom, list.length - cap);
  if (drop > 0) list.splice(0, drop);
}

/** Reads a snapshot's list of Seen defensively: a snapshot is stored data and may be damaged. */
export function seenList(value: unknown): Seen[] {
  if (!Array.isArray(value)) return [];
  return value.filter((s): s is Seen => typeof s === "object" && s !== null && typeof (s as Seen).ms === "number" && typeof (s as Seen).id === "string");
}

export function mapEntries(value: unknown): [string, unknown][] {
  return Array.isArray(value) ? value.filter((e): e is [string, unknown] => Array.isArray(e) && e.length === 2 && typeof e[0] === "string") : [];
}
