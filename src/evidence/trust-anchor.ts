import { CharterError } from "../errors.js";
import type { RecordedMerge } from "./completeness.js";
import type { RememberedKey } from "./trust-file.js";

/**
 * Which key the branch's checkpoint must be signed by, and why the auditor may believe it. The
 * branch's own public-key file proves nothing about who signed: whoever rewrites the branch
 * rewrites it too. The anchors, strongest first:
 *
 *   given       --key, from the operator's documentation
 *   pinned      evidence.verifierKey in .github/charter.yml on the default branch, which changes
 *               only through a governance change, approved and recorded
 *   remembered  the auditor's trust file, from an earlier verification
 *   first-use   the branch's key, accepted because the auditor asked (--trust-on-first-use) and
 *               remembered from now on
 *   none        the branch's key, unasked: the ledger can only be called internally consistent
 */
export type Anchor = "given" | "pinned" | "remembered" | "first-use" | "none";

export interface AnchorInput {
  readonly given: readonly string[];
  readonly pinned: string | null;
  readonly remembered: RememberedKey | null;
  /** The key in the branch's public-key file. */
  readonly published: string | null;
  readonly trustOnFirstUse: boolean;
}

export function chooseAnchor(input: AnchorInput): { readonly anchor: Anchor; readonly keys: readonly string[] } {
  if (input.given.length > 0) return { anchor: "given", keys: input.given };
  if (input.pinned !== null) return { anchor: "pinned", keys: [input.pinned] };
  if (input.remembered !== null) return { anchor: "remembered", keys: [input.remembered.key] };
  if (input.published !== null) return { anchor: input.trustOnFirstUse ? "first-use" : "none", keys: [input.published] };
  throw new CharterError("USAGE", "the evidence branch has no public-key file, and no key was given, pinned or remembered", {
    hint: "Pass the verifier key from the operator's documentation with --key.",
  });
}

export interface TrustProblem {
  readonly code: "trusted-key-changed" | "pinned-key-mismatch" | "pinned-key-change-unapproved";
  readonly message: string;
}

/**
 * After verification: a remembered key that did not sign the checkpoint is a key change, which
 * fails whatever else was given (as SSH refuses a changed host key); a pinned key that did not sign
 * it, when another anchor was used, means the auditor's key and the governed configuration
 * disagree.
 */
export function trustProblems(input: {
  readonly anchor: Anchor;
  readonly origin: string;
  readonly signedBy: readonly string[];
  /** The branch's public-key file: who claims to sign, when no trusted key did. */
  readonly published: string | null;
  readonly pinned: string | null;
  readonly remembered: RememberedKey | null;
  readonly trustFile: string;
}): TrustProblem[] {
  const problems: TrustProblem[] = [];
  const signer = input.signedBy[0] ?? input.published ?? undefined;
  if (input.remembered !== null && signer !== undefined && signer !== input.remembered.key && !input.signedBy.includes(input.remembered.key)) {
    problems.push({
      code: "trusted-key-changed",
      message: `the checkpoint of ${input.origin} is signed by ${signer}${input.signedBy.length === 0 ? " (as the branch claims)" : ""}, but your trust file remembers ${input.remembered.key}${input.remembered.since ? ` since ${input.remembered.since}` : ""}: the log's key changed. If its operator confirms the new key out of band, remove line ${input.remembered.line} of ${input.trustFile} and run again`,
    });
  }
  if (input.pinned !== null && input.anchor !== "pinned" && input.signedBy.length > 0 && !input.signedBy.includes(input.pinned)) {
    problems.push({
      code: "pinned-key-mismatch",
      message: `the checkpoint is signed by ${input.signedBy.join(", ")}, but .github/charter.yml on the default branch pins ${input.pinned} (evidence.verifierKey)`,
    });
  }
  return problems;
}

/** A commit on the default branch that changed the pinned key. */
export interface PinChange {
  readonly sha: string;
  readonly before: string | null;
  readonly after: string | null;
}

/**
 * Each change to the pinned key since the ledger began must be the merge of a pull request the
 * ledger records as approved: a pin changed by a direct push or an administrator's bypass is
 * exactly the silent swap the pin exists to prevent.
 */
export function unapprovedPinChanges(changes: readonly PinChange[], merges: { merge(sha: string): RecordedMerge | undefined }): TrustProblem[] {
  return changes.flatMap((c) => {
    const recorded = merges.merge(c.sha);
    if (recorded?.decision === "approved") return [];
    const what = c.after === null ? "removed the pinned key" : c.before === null ? `pinned ${c.after}` : `changed the pinned key to ${c.after}`;
    return [
      {
        code: "pinned-key-change-unapproved" as const,
        message: `commit ${c.sha.slice(0, 12)} ${what} (evidence.verifierKey in .github/charter.yml), but ${recorded ? `its change record ${recorded.seq} says ${recorded.decision}` : "no change record covers it"}: a pinned key changes only through an approved pull request`,
      },
    ];
  });
}
