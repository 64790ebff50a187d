import { isCharterError } from "../errors.js";
import { parseCanonical } from "../evidence/canonical-json.js";
import { recordPath } from "../evidence/ledger.js";
import type { ChangeFact, ExceptionFact } from "../readiness/facts.js";
import type { LedgerDerived } from "../readiness/record-body.js";
import type { AuditStore } from "./audit-store.js";
import type { LedgerSource } from "./ledger-source.js";
import { currentAgents, queryChanges, queryExceptions } from "./queries.js";
import { updateIndex } from "./update-index.js";

export interface LedgerPeriod {
  readonly sinceMs: number | null;
  readonly untilMs: number;
  /** When the report is made: an emergency's retro-review is overdue by then or not. */
  readonly nowMs: number;
  readonly retroDays: number;
}

/**
 * What the ledger says for a readiness report (agents as their latest records leave them, the
 * period's changes and exceptions), read through the audit index brought up to date from the
 * source first. The same for charter readiness, the app's scheduled readiness record and
 * charter readiness --at, which reads a prefix of the ledger (prefixSource) into a fresh index.
 */
export async function ledgerDerivedFacts(index: AuditStore, source: LedgerSource, o: LedgerPeriod): Promise<LedgerDerived & { readonly size: number }> {
  // The index refuses a branch whose records do not chain: that is the report's finding, not its failure.
  let updated: { size: number; lastHash: string | null };
  try {
    updated = await updateIndex(index, source);
  } catch (error) {
    if (!isCharterError(error) || (error.code !== "INVALID_RECORD" && error.code !== "LEDGER_REWRITTEN")) throw error;
    return { size: await source.size(), tipHash: null, indexRefused: error.message.replace(/^charter: /, ""), agents: [], changes: [], exceptions: [] };
  }
  const period = { ...(o.sinceMs === null ? {} : { since: o.sinceMs }), until: o.untilMs };
  const agents = (await currentAgents(index)).map((a) => ({ agent: a.agent, status: a.status, permissions: a.permissions, provider: a.provider, versionSeq: a.versionSeq }));
  const changes: ChangeFact[] = [];
  for (const c of await queryChanges(index, period)) {
    const body = await recordBody(source, c.seq);
    const approvals = Array.isArray(body["approvals"]) ? (body["approvals"] as unknown[]) : [];
    const before = approvals.filter((a) => {
      const at = typeof (a as { submittedAt?: unknown }).submittedAt === "string" ? Date.parse((a as { submittedAt: string }).submittedAt) : Number.NaN;
      return Number.isFinite(at) && at <= c.mergedMs;
    }).length;
    const plan = (body["rollback"] as { plan?: unknown } | undefined)?.plan;
    changes.push({
      seq: c.seq,
      path: recordPath(c.seq),
      pullRequest: c.pullRequest,
      url: c.url,
      mergedAt: c.mergedAt,
      agents: c.agents.split(" ").filter((a) => a !== ""),
      kinds: c.kinds.split(" ").filter((k) => k !== ""),
      decision: c.decision,
      emergency: c.emergency,
      approvalsBeforeMerge: before,
      tested: c.tested,
      rollbackPlan: typeof plan === "string" && plan.trim() !== "" ? plan : null,
      retro: c.retro === null ? null : { seq: c.retro.seq, outcome: c.retro.outcome },
    });
  }
  const exceptions: ExceptionFact[] = [];
  for (const e of await queryExceptions(index, { ...period, now: o.nowMs, retroDays: o.retroDays })) {
    exceptions.push({ seq: e.seq, path: recordPath(e.seq), type: e.type, at: e.at, agents: e.agents.split(" ").filter((a) => a !== ""), detail: e.detail, followUp: e.type === "retro-review-overdue" ? null : followUpOf(await recordBody(source, e.seq)) });
  }
  return { size: updated.size, tipHash: updated.lastHash, indexRefused: null, agents, changes, exceptions };
}

/** The first `size` records of a ledger: the ledger as it stood when a later record was written. */
export function prefixSource(source: LedgerSource, size: number): LedgerSource {
  return {
    commit: source.commit,
    size: async () => Math.min(size, await source.size()),
    read: async (from, count) => (from >= size ? [] : source.read(from, Math.min(count, size - from))),
    objects: (hashes) => source.objects(hashes),
    close: () => Promise.resolve(),
  };
}

/**
 * A record's body, read defensively: the branch is writable by anyone with push rights, and
 * the integrity item is what judges whether it was; here a field of the wrong shape is absent.
 */
async function recordBody(source: LedgerSource, seq: number): Promise<Record<string, unknown>> {
  const [bytes] = await source.read(seq, 1);
  if (bytes === undefined) return {};
  try {
    const body = (parseCanonical(bytes) as { body?: unknown }).body;
    return typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The follow-up an exception or drift record names: its issue, or its issues. */
function followUpOf(body: Record<string, unknown>): string | null {
  const issue = body["issue"];
  if (typeof issue === "number") return `issue #${issue}`;
  const issues = Array.isArray(body["issues"]) ? body["issues"].filter((i): i is number => typeof i === "number") : [];
  return issues.length > 0 ? issues.map((i) => `issue #${i}`).join(", ") : null;
}
