import type { ProviderDescriptor } from "../provision/routing.js";

/**
 * Everything a readiness evaluation judges, gathered by the adapters from the evidence itself:
 * the ledger on the evidence branch (and its verification), the action trail (and its
 * verification), the alert store. Nothing here is a configuration claim except the providers,
 * which are the configuration whose enforcement the trail must then show.
 */
export interface ReadinessFacts {
  /** since inclusive (null: from the beginning), until exclusive, UTC milliseconds. */
  readonly period: { readonly sinceMs: number | null; readonly untilMs: number };
  /** The period as charter's options spell it, for the commands the report links to. */
  readonly periodArgs: string;
  readonly ledger: LedgerFacts;
  /** null: no trail is configured (no store where the command looked). */
  readonly trail: TrailFacts | null;
  /** null: no alert store (it lives beside the trail). */
  readonly alerts: AlertFacts | null;
}

export interface LedgerFacts {
  readonly branch: string;
  readonly commit: string;
  readonly size: number;
  readonly tipHash: string | null;
  /**
   * Why the records could not be read into the audit index (they do not chain, or are not
   * shaped as Charter writes them); null when they were. When set, agents, changes and
   * exceptions are empty: nothing the branch says can be taken as an answer.
   */
  readonly indexRefused: string | null;
  /** Every agent the ledger knows and has not deleted, as its latest records leave it. */
  readonly agents: readonly AgentFact[];
  /** The credential providers the policy at HEAD configures. */
  readonly providers: readonly ProviderDescriptor[];
  readonly verification: LedgerVerification;
  readonly changes: readonly ChangeFact[];
  readonly exceptions: readonly ExceptionFact[];
  readonly retroDays: number;
}

export interface AgentFact {
  readonly agent: string;
  readonly status: string;
  readonly permissions: readonly string[];
  readonly provider: string;
  /** The change record that set the agent's current version. */
  readonly versionSeq: number | null;
}

export interface VerificationProblem {
  readonly code: string;
  readonly message: string;
  readonly seq?: number;
  readonly path?: string;
}

export interface LedgerVerification {
  readonly ok: boolean;
  /** Where the verifier key came from: given on the command line, pinned in the policy, or only the branch's own. */
  readonly keySource: "given" | "pinned" | "branch";
  readonly signed: boolean;
  readonly witnessesRequired: number;
  readonly witnessed: number;
  readonly problems: readonly VerificationProblem[];
}

export interface ChangeFact {
  readonly seq: number;
  readonly path: string;
  readonly pullRequest: number;
  readonly url: string;
  readonly mergedAt: string;
  readonly agents: readonly string[];
  readonly kinds: readonly string[];
  readonly decision: string;
  readonly emergency: boolean;
  /** Approvals submitted at or before the merge. */
  readonly approvalsBeforeMerge: number;
  /** passed, failed (a recorded check did not succeed), none (no check recorded). */
  readonly tested: string;
  /** The recorded rollback plan; null when the record has none (or an empty one). */
  readonly rollbackPlan: string | null;
  /** For an emergency change, the retro-approval record that closes (or flagged) it. */
  readonly retro: { readonly seq: number; readonly outcome: string } | null;
}

export interface ExceptionFact {
  readonly seq: number;
  readonly path: string;
  /** admin-bypass, direct-push, retro-review-overdue, drift-unresolved. */
  readonly type: string;
  readonly at: string;
  readonly agents: readonly string[];
  readonly detail: string;
  /** The follow-up the record names (an issue), or null when it names none. */
  readonly followUp: string | null;
}

export interface TrailFacts {
  readonly location: string;
  /** Events observed in the period. */
  readonly events: number;
  /** Each principal seen in the period with each attribution it got. */
  readonly principals: readonly PrincipalSeen[];
  /** Principals the trail binds to more than one agent at overlapping times. */
  readonly sharedBindings: readonly SharedBinding[];
  readonly sources: readonly SourceFact[];
  /** null: nothing to verify against (no evidence branch). */
  readonly verification: TrailVerification | null;
  readonly seedQuery: SeedQuery;
}

export interface PrincipalSeen {
  readonly principal: string;
  /** null: no binding or manifest identity stood for it at the event's time. */
  readonly agent: string | null;
  readonly events: number;
  readonly firstSeq: number;
}

export interface SharedBinding {
  readonly principal: string;
  readonly agents: readonly string[];
}

export interface SourceFact {
  readonly source: string;
  readonly instance: string;
  readonly attested: boolean;
  /** ok, waiting, silent or gapped, as charter trail status judges it now. */
  readonly state: string;
  readonly events: number;
  readonly lastReceivedAt: string | null;
  /** What silence is measured from (the last receipt, else the configuration), UTC ms. */
  readonly quietSinceMs: number | null;
  readonly silentAfterSeconds: number;
  /** Gaps and silences recorded for the source within the period. */
  readonly gapsInPeriod: readonly { readonly kind: string; readonly at: string; readonly detail: string }[];
}

export interface TrailVerification {
  readonly ok: boolean;
  readonly events: number;
  readonly sealedThrough: number;
  readonly anchoredThrough: number;
  readonly problems: readonly VerificationProblem[];
}

export interface SeedQuery {
  /** The question as the CLI asks it. */
  readonly command: string;
  readonly ms: number;
  readonly budgetMs: number;
  readonly total: number;
  readonly agents: number;
}

export interface AlertFacts {
  readonly location: string;
  /** The longest an alert may wait for its first evaluation. */
  readonly respondWithinMs: number;
  /** When the report is computed: an open alert younger than the limit is not late yet. */
  readonly nowMs: number;
  readonly alerts: readonly AlertFact[];
}

export interface AlertFact {
  readonly id: string;
  readonly rule: string;
  readonly agent: string | null;
  readonly principal: string;
  readonly firedAt: string;
  readonly firedMs: number;
  readonly status: string;
  /** The first status change after open: when, by whom, with what reason. */
  readonly firstResponse: { readonly at: string; readonly ms: number; readonly to: string; readonly by: string } | null;
  /** The reason of the latest evaluation (resolve and suppress require one; acknowledge may have none). */
  readonly reason: string | null;
}
