import { AGENT_CHANGE_KINDS, type Change, GOVERNANCE_CHANGE_KINDS } from "./change-set.js";

const KIND_RANK = new Map<string, number>([...AGENT_CHANGE_KINDS, ...GOVERNANCE_CHANGE_KINDS].map((kind, i) => [kind, i]));

/**
 * The one order every consumer sees (text output, JSON, evidence): agents by id, then kinds in
 * the order of AGENT_CHANGE_KINDS, then path and pointer, then summary. Governance changes come
 * after every agent change. Plain code-unit comparison, never the locale's collation, so the
 * order is the same on every machine.
 */
export function compareChanges(a: Change, b: Change): number {
  if ((a.agent === undefined) !== (b.agent === undefined)) return a.agent === undefined ? 1 : -1;
  return (
    compareText(a.agent ?? "", b.agent ?? "") ||
    (KIND_RANK.get(a.kind) ?? 0) - (KIND_RANK.get(b.kind) ?? 0) ||
    compareText(a.path, b.path) ||
    comparePointers(a.pointer ?? "", b.pointer ?? "") ||
    compareText(a.summary, b.summary)
  );
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Segment by segment, array indices numerically: /tools/2 before /tools/10. */
export function comparePointers(a: string, b: string): number {
  const left = a.split("/");
  const right = b.split("/");
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const x = left[i] ?? "";
    const y = right[i] ?? "";
    if (x === y) continue;
    const numeric = /^\d+$/.test(x) && /^\d+$/.test(y);
    return numeric ? Number(x) - Number(y) : compareText(x, y);
  }
  return left.length - right.length;
}
