import { reason, utcDay } from "../alert.js";
import { BUILTIN_RULES, type EventContext, type Hit, NO_HITS, type Seen, type StatefulRule } from "../hit.js";
import type { ResolvedSettings } from "../settings.js";
import type { TrailEvent } from "../../trail/event.js";
import { mapEntries, seenList } from "./time-window.js";

/**
 * An approval event, in the trail's vocabulary: a person's decision about one tool in one task.
 *
 *   action: approve   system: tool   tool: <the tool approved>   traceId: <the task's trace>
 *   outcome: allowed (approved) or denied (refused)   detail.approver: who decided
 *
 * It is accepted only from an attested source (an approval service sending with its own source
 * token) unless the settings accept self-reported approvals: an agent that skips its approval
 * step could report one just as easily.
 */
export function isApprovalEvent(event: TrailEvent): boolean {
  return event.action === "approve" && event.system === "tool" && event.tool !== null;
}

/** A tool call that needs human approval: an execute_tool span of a tool the manifest names in runtime.humanApprovalRequiredFor. */
function needsApproval(ctx: EventContext): boolean {
  const { event, manifest } = ctx;
  return event.action === "execute_tool" && event.tool !== null && event.agent !== null && manifest?.status !== "retired" && (manifest?.runtime?.humanApprovalRequiredFor?.includes(event.tool) ?? false);
}

interface Pending {
  readonly call: Seen;
  readonly tool: string;
  /** Charter's receive time after which the call is alerted on if no approval came. */
  readonly deadline: number;
}

interface Decision {
  readonly ms: number;
  readonly approved: boolean;
  readonly approver: string;
  /** Charter's receive time, to forget old decisions. */
  readonly received: number;
}

/** Decisions are kept this long after they are received: a task rarely runs longer. */
const KEEP_DECISIONS_MS = 86_400_000;

/**
 * charter/approval-missing: a tool listed in runtime.humanApprovalRequiredFor was called without
 * an approval of that tool in the same trace observed at or before the call. Sources deliver out
 * of order (a tool span is exported when it ends, the approval service posts on its own), so a
 * call waits approvals.waitSeconds of Charter's clock for its approval before it is reported.
 */
export class ApprovalMissingRule implements StatefulRule {
  readonly rule = BUILTIN_RULES.approvalMissing;
  /** By trace, then tool. */
  private decisions = new Map<string, Map<string, Decision[]>>();
  /** Ordered by deadline (receive times mostly increase, so a new call lands at the end). */
  private pending: Pending[] = [];
  /** Decisions in the order received, so the oldest are forgotten from the front. */
  private received: { readonly trace: string; readonly tool: string; readonly at: number }[] = [];

  observe(ctx: EventContext, settings: ResolvedSettings): readonly Hit[] {
    if (settings.disabled.has(this.rule.id)) return NO_HITS;
    const { event } = ctx;
    const received = Date.parse(event.receivedAt);
    if (ctx.isApproval) {
      if (event.traceId === null || event.tool === null || !(event.attested || settings.approvals.acceptSelfReported)) return NO_HITS;
      const byTool = this.decisions.get(event.traceId) ?? new Map<string, Decision[]>();
      this.decisions.set(event.traceId, byTool);
      const list = byTool.get(event.tool) ?? [];
      list.push({ ms: ctx.ms, approved: event.outcome === "allowed", approver: event.detail["approver"] ?? event.principal, received });
      byTool.set(event.tool, list);
      this.received.push({ trace: event.traceId, tool: event.tool, at: received });
      this.pending = this.pending.filter((p) => !(p.call.traceId === event.traceId && p.tool === event.tool && this.approval(p) !== undefined));
      return NO_HITS;
    }
    if (!needsApproval(ctx) || event.tool === null) return NO_HITS;
    const pending: Pending = { call: ctx.seen, tool: event.tool, deadline: received + settings.approvals.waitMs };
    if (event.traceId === null) return [this.hit(pending, "the call carries no trace id, so no approval can belong to it")];
    if (this.approval(pending)) return NO_HITS;
    let i = this.pending.length;
    while (i > 0 && (this.pending[i - 1]?.deadline ?? 0) > pending.deadline) i--;
    this.pending.splice(i, 0, pending);
    return NO_HITS;
  }

  tick(now: number, _settings: ResolvedSettings, final: boolean): readonly Hit[] {
    this.forgetDecisions(now);
    let dueCount = 0;
    while (dueCount < this.pending.length && (final || (this.pending[dueCount]?.deadline ?? 0) <= now)) dueCount++;
    if (dueCount === 0) return NO_HITS;
    const due = this.pending.splice(0, dueCount);
    return due.map((p) => {
      const refused = this.decisionsFor(p).find((d) => !d.approved && d.ms <= p.call.ms);
      return this.hit(p, refused ? `${refused.approver} refused it, and the tool ran anyway` : "no approval of this tool was recorded in the trace before the call");
    });
  }

  private forgetDecisions(now: number): void {
    let drop = 0;
    while (drop < this.received.length && (this.received[drop]?.at ?? 0) <= now - KEEP_DECISIONS_MS) {
      const r = this.received[drop++];
      if (!r) break;
      const byTool = this.decisions.get(r.trace);
      const list = byTool?.get(r.tool)?.filter((d) => d.received > now - KEEP_DECISIONS_MS);
      if (list && list.length > 0) byTool?.set(r.tool, list);
      else byTool?.delete(r.tool);
      if (byTool?.size === 0) this.decisions.delete(r.trace);
    }
    if (drop > 0) this.received.splice(0, drop);
  }

  private decisionsFor(p: Pending): readonly Decision[] {
    return (p.call.traceId === null ? undefined : this.decisions.get(p.call.traceId)?.get(p.tool)) ?? [];
  }

  private approval(p: Pending): Decision | undefined {
    return this.decisionsFor(p).find((d) => d.approved && d.ms <= p.call.ms);
  }

  private hit(p: Pending, why: string): Hit {
    const day = utcDay(p.call.ms);
    return {
      rule: this.rule,
      level: "high",
      subject: `${p.call.agent ?? ""}|${p.call.traceId ?? p.call.id}|${p.tool}`,
      windowStart: day.start,
      windowEnd: day.end,
      events: [p.call],
      eventCount: 1,
      why: reason(`${p.call.agent ?? "?"} called ${p.tool}, which its manifest lists under humanApprovalRequiredFor: ${why}`, [reason(`trace ${p.call.traceId ?? "none"}, call observed at ${p.call.observedAt}`)]),
    };
  }

  snapshot(): unknown {
    return { pending: this.pending, received: this.received, decisions: [...this.decisions].map(([trace, byTool]) => [trace, [...byTool]]) };
  }

  restore(state: unknown): void {
    const s = (state ?? {}) as { pending?: unknown; decisions?: unknown; received?: unknown };
    this.received = Array.isArray(s.received) ? (s.received as { trace: unknown; tool: unknown; at: unknown }[]).flatMap((r) => (typeof r.trace === "string" && typeof r.tool === "string" && typeof r.at === "number" ? [{ trace: r.trace, tool: r.tool, at: r.at }] : [])) : [];
    this.pending = Array.isArray(s.pending)
      ? s.pending.flatMap((p: unknown) => {
          const q = p as Partial<Pending> | null;
          const [call] = seenList([q?.call]);
          return call && typeof q?.tool === "string" && typeof q.deadline === "number" ? [{ call, tool: q.tool, deadline: q.deadline }] : [];
        })
      : [];
    this.decisions = new Map(
      mapEntries(s.decisions).map(([trace, byTool]) => [
        trace,
        new Map(mapEntries(byTool).map(([tool, list]) => [tool, Array.isArray(list) ? (list as Decision[]).filter((d) => typeof d.ms === "number" && typeof d.received === "number") : []])),
      ]),
    );
  }
}
