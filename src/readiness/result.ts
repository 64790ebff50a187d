/**
 * What a readiness evaluation returns: a tree of results that carries its own explanation, so
 * the text, Markdown, CSV and JSON reports are all rendered from it and an auditor can sample
 * from any line of it without asking how it was computed.
 */
export type ReadinessStatus = "pass" | "fail" | "not-applicable";

/**
 * Where a claim can be checked: a record on the evidence branch, the exact command or query
 * that proves it, a trail event, an alert, a trail source.
 */
export interface Link {
  readonly kind: "record" | "command" | "event" | "alert" | "source";
  /** A record path (records/…json), a command line, an event seq, an alert id, source/instance. */
  readonly ref: string;
  /** What the link shows, for a reader who does not follow it. */
  readonly note?: string;
}

/** One thing checked that did not hold: what, why, and what to do about it. */
export interface Failure {
  readonly subject: string;
  readonly reason: string;
  readonly fix: string;
  readonly links: readonly Link[];
}

export interface ItemResult {
  readonly id: string;
  readonly title: string;
  /** The SOC 2 criteria the item answers for (CC6.1 …). */
  readonly criteria: readonly string[];
  readonly status: ReadinessStatus;
  /** How many things were checked (identities, permissions, changes, alerts, sources …). */
  readonly checked: number;
  /** One sentence: what was checked and the answer; for not-applicable, why there was nothing to check. */
  readonly summary: string;
  readonly failures: readonly Failure[];
  /** What proves the answer as a whole: the command to run again, the records it rests on. */
  readonly links: readonly Link[];
  /** Finer answers the item is made of (coverage per agent, per permission system). */
  readonly children: readonly ItemResult[];
  /** Figures measured while answering (the seed query's milliseconds). */
  readonly measured?: Readonly<Record<string, number>>;
}

export interface ReadinessReport {
  readonly period: { readonly since: string | null; readonly until: string };
  /** fail when any item fails; pass otherwise (an item that is not applicable does not fail). */
  readonly status: "pass" | "fail";
  readonly items: readonly ItemResult[];
  /** The readiness record the report was read from and re-evaluated (charter readiness --at); absent for a live report. */
  readonly record?: { readonly seq: number; readonly path: string; readonly observedAt: string };
}

/** The status of a set of checks: fail when any failed, not applicable when nothing was checked. */
export function statusOf(checked: number, failures: readonly Failure[]): ReadinessStatus {
  if (failures.length > 0) return "fail";
  return checked === 0 ? "not-applicable" : "pass";
}

export function command(ref: string, note?: string): Link {
  return note === undefined ? { kind: "command", ref } : { kind: "command", ref, note };
}

/** The one failure of an item whose answer rests on ledger records that could not be read. */
export function unreadableLedger(branch: string, refused: string): Failure {
  return {
    subject: `the ledger on ${branch}`,
    reason: `its records cannot be read to answer this: ${refused}`,
    fix: "Run charter verify to see what changed on the branch; restore it from a clone that verifies (then charter audit --rebuild).",
    links: [command(`charter verify --branch ${branch}`)],
  };
}
