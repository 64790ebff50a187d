import { POLICY_PATH } from "../change/governed-paths.js";
import type { ItemDefinition } from "./checklist-items.js";
import type { ReadinessFacts, VerificationProblem } from "./facts.js";
import { command, type Failure, type ItemResult, type Link, unreadableLedger } from "./result.js";

function problemLink(p: VerificationProblem, kind: "record" | "event"): Link[] {
  if (kind === "record" && p.path !== undefined) return [{ kind: "record", ref: p.path }];
  if (p.seq !== undefined) return [{ kind, ref: String(p.seq) }];
  return [];
}

/**
 * Integrity: the ledger verifies (every record, its chain, the signed checkpoint, against a key
 * the reader trusts rather than only the one the branch publishes, witnessed as required) and
 * the trail verifies against the checkpoints anchored on the ledger, with every sealed segment
 * anchored. The verdicts are the same core verifiers' that charter verify and charter trail
 * verify print.
 */
export function integrityItem(def: ItemDefinition, facts: ReadinessFacts): ItemResult {
  const ledger = facts.ledger;
  const v = ledger.verification;
  const ledgerFailures: Failure[] = v.problems.map((p) => ({
    subject: p.path ?? (p.seq === undefined ? `ledger on ${ledger.branch}` : `record ${p.seq}`),
    reason: `${p.code}: ${p.message}`,
    fix: "Find who wrote the branch (git log on it); restore the records from a clone that verifies, and rotate the signing key if it was used.",
    links: [...problemLink(p, "record"), command(`charter verify --branch ${ledger.branch}`)],
  }));
  if (ledger.indexRefused !== null && v.problems.length === 0) ledgerFailures.push(unreadableLedger(ledger.branch, ledger.indexRefused));
  if (v.keySource === "branch" && v.problems.length === 0) {
    ledgerFailures.push({
      subject: `ledger on ${ledger.branch}`,
      reason: "checked only against the key the branch itself publishes: that proves the records are consistent, not who signed them",
      fix: `Pin the verifier key as evidence.verifierKey in ${POLICY_PATH}, or pass --key with the key from your documentation.`,
      links: [command(`charter verify --branch ${ledger.branch}`)],
    });
  }
  const ledgerResult: ItemResult = {
    id: `${def.id}/ledger`,
    title: "evidence ledger",
    criteria: def.criteria,
    status: ledgerFailures.length === 0 ? "pass" : "fail",
    checked: ledger.size,
    summary: `${ledger.size} records on ${ledger.branch} at ${ledger.commit.slice(0, 12)}${v.signed ? ", checkpoint signed by the trusted key" : ""}${v.witnessesRequired > 0 ? `, ${v.witnessed} of ${v.witnessesRequired} required witnesses` : ""}${ledgerFailures.length === 0 ? ": verified" : `: ${ledgerFailures.length} problem${ledgerFailures.length === 1 ? "" : "s"}`}.`,
    failures: ledgerFailures,
    links: [command(`charter verify --branch ${ledger.branch}`)],
    children: [],
  };
  const children = [ledgerResult];
  const trail = facts.trail;
  if (trail === null) {
    children.push({ id: `${def.id}/trail`, title: "action trail", criteria: def.criteria, status: "not-applicable", checked: 0, summary: "No action trail is configured.", failures: [], links: [], children: [] });
  } else if (trail.verification !== null) {
    const t = trail.verification;
    const failures: Failure[] = t.problems.map((p) => ({
      subject: p.seq === undefined ? `trail ${trail.location}` : `event ${p.seq}`,
      reason: `${p.code}: ${p.message}`,
      fix: "The trail was altered after it was sealed: restore it from a copy that verifies, and find who had write access to the store.",
      links: [...problemLink(p, "event"), command("charter trail verify")],
    }));
    if (t.sealedThrough > t.anchoredThrough) {
      failures.push({
        subject: `trail ${trail.location}`,
        reason: `sealed through event ${t.sealedThrough} but anchored on ${ledger.branch} only through ${t.anchoredThrough}: the later checkpoints are signed but stored nowhere the trail's operator cannot rewrite`,
        fix: "Let the app anchor its sealed segments (it appends trail-anchor records every few minutes); check the app can write the evidence branch.",
        links: [command("charter trail verify")],
      });
    }
    children.push({
      id: `${def.id}/trail`,
      title: "action trail",
      criteria: def.criteria,
      status: failures.length === 0 ? "pass" : "fail",
      checked: t.events,
      summary: `${t.events} events, sealed through ${t.sealedThrough}, anchored through ${t.anchoredThrough}${failures.length === 0 ? ": verified" : `: ${failures.length} problem${failures.length === 1 ? "" : "s"}`}.`,
      failures,
      links: [command("charter trail verify")],
      children: [],
    });
  }
  const failures = children.flatMap((c) => c.failures);
  return {
    ...def,
    status: failures.length === 0 ? "pass" : "fail",
    checked: children.reduce((n, c) => n + c.checked, 0),
    summary: children.map((c) => `${c.title}: ${c.status}`).join("; ") + ".",
    failures,
    links: [command(`charter verify --branch ${ledger.branch}`), command("charter trail verify")],
    children,
  };
}
