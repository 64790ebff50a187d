import type { ItemDefinition } from "./checklist-items.js";
import type { ChangeFact, ExceptionFact, ReadinessFacts } from "./facts.js";
import { command, type Failure, type ItemResult, statusOf, unreadableLedger } from "./result.js";

/** The change kinds that alter what an agent is, says or may do: its model, its prompts, its permissions. */
const GOVERNED_KIND = /^(model|prompt|permission|tool)-|^agent-(created|reactivated)$/;

function changeFailures(c: ChangeFact, retroDays: number): Failure[] {
  const links = [{ kind: "record" as const, ref: c.path }, command(`charter evidence show --seq ${c.seq}`)];
  const subject = `change record ${c.seq} (pull request #${c.pullRequest}, ${c.agents.join(", ")})`;
  const out: Failure[] = [];
  const retroDone = c.emergency && c.retro?.outcome === "completed";
  if (c.emergency && !retroDone) {
    out.push({ subject, reason: `an emergency change without a completed retro-review${c.retro === null ? "" : ` (retro record ${c.retro.seq}: ${c.retro.outcome})`}`, fix: `Complete the retro-review on the emergency's issue within ${retroDays} days of the merge.`, links });
  } else if (!c.emergency && (c.decision !== "approved" || c.approvalsBeforeMerge === 0)) {
    out.push({ subject, reason: `merged without an approval recorded before the merge (decision ${c.decision}, ${c.approvalsBeforeMerge} approvals before merge)`, fix: "Have an owner review it now and record the review; require the Charter check in branch protection so it cannot recur.", links });
  }
  if (c.tested !== "passed") {
    out.push({ subject, reason: c.tested === "none" ? "no test or check was recorded for it" : "a recorded check did not succeed", fix: "Make the tests a required status check in branch protection; re-run them on the merged commit and keep the result.", links });
  }
  if (c.rollbackPlan === null) out.push({ subject, reason: "no rollback plan was recorded", fix: "Write the rollback plan in the pull request template's section; Charter records it at merge.", links });
  return out;
}

function exceptionFailure(e: ExceptionFact, retroDays: number): Failure | null {
  const links = [{ kind: "record" as const, ref: e.path }, command(`charter evidence show --seq ${e.seq}`)];
  const subject = `${e.type} record ${e.seq}${e.agents.length === 0 ? "" : ` (${e.agents.join(", ")})`}`;
  if (e.type === "retro-review-overdue") return { subject, reason: `the emergency change's retro-review is not done ${retroDays} days after merge`, fix: "Complete the retro-review on the emergency's issue.", links };
  if (e.followUp !== null) return null;
  return { subject, reason: `no follow-up is recorded: ${e.detail}`, fix: e.type === "drift-unresolved" ? "Converge the provider (charter sync) or open an issue for the drift." : "Open an issue for the exception and review the change it let through.", links };
}

/**
 * Change management: every change in the period to an agent's model, prompts or permissions
 * has a record with an approval given before the merge (an emergency change, a completed
 * retro-review), a passing test, and a rollback plan; every exception in the period has a
 * follow-up. Read from the audit index of the ledger (charter audit changes and exceptions).
 */
export function changeManagementItem(def: ItemDefinition, facts: ReadinessFacts): ItemResult {
  const { ledger, periodArgs } = facts;
  if (ledger.indexRefused !== null) {
    return { ...def, status: "fail", checked: 0, summary: "The changes of the period cannot be read from the evidence branch.", failures: [unreadableLedger(ledger.branch, ledger.indexRefused)], links: [], children: [] };
  }
  const changes = ledger.changes.filter((c) => c.kinds.some((k) => GOVERNED_KIND.test(k)));
  const changeFails = changes.flatMap((c) => changeFailures(c, ledger.retroDays));
  const exceptionFails = ledger.exceptions.flatMap((e) => {
    const f = exceptionFailure(e, ledger.retroDays);
    return f === null ? [] : [f];
  });
  const children: ItemResult[] = [
    {
      id: `${def.id}/changes`,
      title: "model, prompt and permission changes",
      criteria: def.criteria,
      status: statusOf(changes.length, changeFails),
      checked: changes.length,
      summary: changes.length === 0 ? "No model, prompt or permission change was merged in the period." : `${changes.length} change${changes.length === 1 ? "" : "s"}; ${new Set(changeFails.map((f) => f.subject)).size} fall short.`,
      failures: changeFails,
      links: [command(`charter audit changes ${periodArgs}`.trim())],
      children: [],
    },
    {
      id: `${def.id}/exceptions`,
      title: "exceptions",
      criteria: def.criteria,
      status: statusOf(ledger.exceptions.length, exceptionFails),
      checked: ledger.exceptions.length,
      summary: ledger.exceptions.length === 0 ? "No exception in the period." : `${ledger.exceptions.length} exception${ledger.exceptions.length === 1 ? "" : "s"}; ${exceptionFails.length} without a follow-up.`,
      failures: exceptionFails,
      links: [command(`charter audit exceptions ${periodArgs}`.trim())],
      children: [],
    },
  ];
  const failures = [...changeFails, ...exceptionFails];
  const checked = changes.length + ledger.exceptions.length;
  return {
    ...def,
    status: statusOf(checked, failures),
    checked,
    summary: checked === 0 ? "No model, prompt or permission change and no exception in the period: nothing to check." : children.map((c) => c.summary).join(" "),
    failures,
    links: children.flatMap((c) => c.links),
    children,
  };
}
