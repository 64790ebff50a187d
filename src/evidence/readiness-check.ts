import { canonicalBytes } from "./canonical-json.js";
import { recordHash } from "./record.js";
import type { ReadinessBody, ReadinessFrozenFacts } from "../schema-types/evidence-record.generated.js";

/** SHA-256 of the frozen facts' canonical bytes, as a readiness record states it. */
export function readinessFactsHash(facts: ReadinessFrozenFacts): string {
  return recordHash(canonicalBytes(facts));
}

/**
 * What a readiness record says about itself that can be checked without re-evaluating it: its
 * facts hash to what it states, its overall status is the one its items give, and the ledger it
 * was judged on is the records before it. Re-evaluation is charter readiness --at's; these are
 * the checks charter verify adds for every such record. Returns one message per problem.
 */
export function readinessRecordProblems(body: ReadinessBody, seq: number): string[] {
  const out: string[] = [];
  if (readinessFactsHash(body.facts) !== body.factsSha256) out.push(`record ${seq}'s readiness facts do not hash to its factsSha256: the facts or the hash were edited`);
  const status = body.items.some((i) => i.status === "fail") ? "fail" : "pass";
  if (status !== body.status) out.push(`record ${seq} states readiness ${body.status}, but its items give ${status}: a status was edited`);
  if (body.ledgerSize > seq) out.push(`record ${seq} says it was judged on ${body.ledgerSize} records, more than precede it`);
  return out;
}
