import { reason, utcDay } from "../alert.js";
import { BUILTIN_RULES, type EventContext, type Hit } from "../hit.js";
import type { ResolvedSettings } from "../settings.js";

/**
 * The four rules that need nothing but the event and the manifest in force: an identity no
 * manifest owns, a retired agent acting, an action outside the approved permissions, and one
 * outside runtime.allowedHours. The trail already decided scope and hours at ingest (inScope,
 * withinHours); these rules turn its verdicts into alerts. A retired agent's actions are
 * reported as that alone: retirement removed every permission, so "out of scope" and "outside
 * hours" would only repeat it.
 */
export function scopeHits(ctx: EventContext, settings: ResolvedSettings): Hit[] {
  const { event, seen, ms, manifest } = ctx;
  if (ctx.isApproval) return [];
  // The common case, checked first: an attributed, active agent acting in scope and in hours.
  if (event.agent !== null && event.inScope !== false && event.withinHours !== false && manifest?.status !== "retired") return [];
  const out: Hit[] = [];
  const day = utcDay(ms);
  const hit = (rule: Hit["rule"], level: Hit["level"], subject: string, text: string, facts: string[]): void => {
    if (settings.disabled.has(rule.id)) return;
    out.push({ rule, level, subject, windowStart: day.start, windowEnd: day.end, events: [seen], eventCount: 1, why: reason(text, facts.map((f) => reason(f))) });
  };
  const what = `${event.action} on ${event.resource ?? "an unmapped resource"}${event.instance ? `@${event.instance}` : ""}`;

  if (event.agent === null) {
    hit(BUILTIN_RULES.unattributed, "high", `${event.source}|${event.sourceInstance}|${event.principal}`, `${event.principal} acted (${what}) but no manifest owns this identity`, [
      `source ${event.source} (${event.sourceInstance}), ${event.attested ? "attested by the infrastructure" : "self-reported"}`,
      `outcome ${event.outcome}${event.errorCode ? ` (${event.errorCode})` : ""}`,
    ]);
    return out;
  }
  if (manifest?.status === "retired") {
    hit(BUILTIN_RULES.retired, "high", event.agent, `${event.agent} is retired${manifest.retirement ? ` since ${manifest.retirement.date}` : ""} but acted: ${what}`, [
      `manifest in force: change record ${event.manifestSeq ?? "unknown"} says status retired`,
      `principal ${event.principal}, outcome ${event.outcome}`,
    ]);
    return out;
  }
  if (event.inScope === false) {
    const carried = event.outcome === "denied" ? "the infrastructure refused it" : "the infrastructure carried it out";
    hit(BUILTIN_RULES.outOfScope, event.outcome === "denied" ? "medium" : "high", `${event.agent}|${event.permission ?? `${event.system ?? ""}:${event.action}:${event.resource ?? ""}`}`, `${event.agent} did ${what}, which its approved manifest does not grant; ${carried}`, [
      `needs ${event.permission ?? "a permission outside the vocabulary"}`,
      `manifest in force: change record ${event.manifestSeq ?? "unknown"}`,
    ]);
  }
  if (event.withinHours === false) {
    const hours = manifest?.runtime?.allowedHours;
    hit(BUILTIN_RULES.outsideHours, "medium", event.agent, `${event.agent} acted at ${event.localDay ?? "?"} ${String(event.localHour ?? "?").padStart(2, "0")}h local time, outside its allowed hours`, [
      hours ? `allowed: ${hours.days.join(", ")} ${hours.start}–${hours.end} ${hours.timezone}` : "allowed hours as stamped at ingest",
      what,
    ]);
  }
  return out;
}
