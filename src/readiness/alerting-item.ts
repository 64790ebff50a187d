import type { ItemDefinition } from "./checklist-items.js";
import type { AlertFact, ReadinessFacts } from "./facts.js";
import { command, type Failure, type ItemResult, statusOf } from "./result.js";

function hours(ms: number): string {
  const h = ms / 3_600_000;
  return h >= 1 ? `${Math.round(h * 10) / 10} h` : `${Math.round(ms / 60_000)} min`;
}

function alertFailure(a: AlertFact, limitMs: number, nowMs: number): Failure | null {
  const short = a.id.slice(0, 12);
  const subject = `alert ${short} (${a.rule}, ${a.agent ?? `principal ${a.principal}`})`;
  const links = [{ kind: "alert" as const, ref: a.id }, command(`charter alerts show ${short}`)];
  if (a.firstResponse === null) {
    // Recorded while a suppression of its agent and rule held: evaluated by that suppression's reason.
    if (a.status !== "open" || nowMs - a.firedMs <= limitMs) return null;
    return { subject, reason: `still open ${hours(nowMs - a.firedMs)} after it fired at ${a.firedAt}; the limit is ${hours(limitMs)}`, fix: `Evaluate it: charter alerts ack ${short}, then resolve (--reason: what was found and done) or suppress it.`, links };
  }
  const waited = a.firstResponse.ms - a.firedMs;
  if (waited > limitMs) return { subject, reason: `first ${a.firstResponse.to} by ${a.firstResponse.by} ${hours(waited)} after it fired; the limit is ${hours(limitMs)}`, fix: "Route alerts to someone on call (the escalation issue and webhook, docs/operations.md) so they are evaluated in time.", links };
  if (a.status === "acknowledged" && (a.reason ?? "").trim() === "") return { subject, reason: `acknowledged by ${a.firstResponse.by} without a reason and never resolved`, fix: `Resolve it with what was found: charter alerts resolve ${short} --reason "…".`, links };
  return null;
}

/**
 * Alerting: every alert fired in the period was evaluated (acknowledged, resolved or suppressed)
 * within the response limit, and its evaluation says why. An alert still open but younger than
 * the limit is not late yet.
 */
export function alertingItem(def: ItemDefinition, facts: ReadinessFacts): ItemResult {
  const base = { ...def, children: [] };
  if (facts.alerts === null) return { ...base, status: "not-applicable", checked: 0, summary: "No alert store is configured (live detection keeps it beside the trail).", failures: [], links: [] };
  const { alerts, respondWithinMs, nowMs } = facts.alerts;
  const failures = alerts.flatMap((a) => {
    const f = alertFailure(a, respondWithinMs, nowMs);
    return f === null ? [] : [f];
  });
  const pending = alerts.filter((a) => a.firstResponse === null && nowMs - a.firedMs <= respondWithinMs).length;
  return {
    ...base,
    status: statusOf(alerts.length, failures),
    checked: alerts.length,
    summary:
      alerts.length === 0
        ? "No alert fired in the period: nothing to check."
        : `${alerts.length} alert${alerts.length === 1 ? "" : "s"} fired; ${failures.length === 0 ? `each evaluated with a reason within ${hours(respondWithinMs)}` : `${failures.length} not evaluated in time or without a reason`}${pending > 0 ? ` (${pending} open, still within the limit)` : ""}.`,
    failures,
    links: [command("charter alerts list")],
  };
}
