import { existsSync } from "node:fs";
import { CharterError, isCharterError } from "../errors.js";
import { performance } from "node:perf_hooks";
import type { AuditStore } from "../audit/audit-store.js";
import type { LedgerSource } from "../audit/ledger-source.js";
import { currentAgents, queryChanges, queryExceptions } from "../audit/queries.js";
import { updateIndex } from "../audit/update-index.js";
import { POLICY_PATH } from "../change/governed-paths.js";
import { parseCanonical } from "../evidence/canonical-json.js";
import { CHECKPOINT_PATH, PUBLIC_KEY_PATH, recordPath } from "../evidence/ledger.js";
import { LedgerVerifier } from "../evidence/verify.js";
import { readBranchFiles } from "../git/branch-files.js";
import { fileAt } from "../git/governed-history.js";
import { streamTreeFiles } from "../git/tree-stream.js";
import { readWitnessNotes } from "../git/witness-tags.js";
import { parsePolicy } from "../policy/load-policy.js";
import { providerDescriptors, provisioningSettings } from "../provision/config.js";
import type { AlertFact, ChangeFact, ExceptionFact, LedgerFacts, PrincipalSeen, ReadinessFacts, SharedBinding, SourceFact, TrailFacts, VerificationProblem } from "../readiness/facts.js";
import type { CharterPolicy } from "../schema-types/charter-policy.generated.js";
import type { AlertStore } from "../sources/alert-store.js";
import { ALERT_LOG_SOURCE_NAME } from "../sources/alert-log.js";
import { openAlertStore } from "../sources/open-alert-store.js";
import { openTrailStore, trailLocation } from "../sources/open-trail-store.js";
import { offHoursOrAll } from "../sources/trail-queries.js";
import { statusRows } from "../sources/trail-status.js";
import type { TrailStore } from "../sources/trail-store.js";
import { DEFAULT_SILENT_AFTER_MS } from "./trail-command.js";
import { verifyStoredTrail } from "./stored-trail-verification.js";

/** What the command was told: where to look and what limits to judge by. */
export interface ReadinessOptions {
  readonly root: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly branch: string;
  readonly source: LedgerSource;
  readonly index: AuditStore;
  readonly sinceMs: number | null;
  readonly untilMs: number;
  readonly nowMs: number;
  readonly periodArgs: string;
  /** --key: the verifier keys the reader trusts; empty: the key pinned in the policy, else the branch's own. */
  readonly keys: readonly string[];
  readonly witnesses: readonly string[];
  readonly minWitnesses: number;
  readonly db: string | undefined;
  readonly queryBudgetMs: number;
  readonly respondWithinMs: number;
  readonly retroDays: number;
  /** The data class of the seed query. */
  readonly seedClass: string;
}

/** The most alerts one report reads; a larger period is refused rather than judged on part of it. */
const MAX_ALERTS = 100_000;

/**
 * Gathers the readiness facts from the evidence itself: the ledger read at the evidence branch's
 * tip (through the audit index, brought up to date first) and verified as charter verify does,
 * the trail store read and verified as charter trail verify does, the alert store.
 */
export async function gatherReadinessFacts(o: ReadinessOptions): Promise<{ facts: ReadinessFacts; notes: string[] }> {
  const notes: string[] = [];
  const policy = await policyAtHead(o.root, notes);
  const { keys, keySource } = verifierKeys(o, policy);
  const { ledger, keysUsed } = await ledgerFacts(o, policy, keys, keySource);
  const location = trailLocation(o.env, o.cwd, o.db);
  let trail: TrailFacts | null = null;
  let alerts: ReadinessFacts["alerts"] = null;
  if (location.kind === "sqlite" && !existsSync(location.path)) {
    notes.push(`no action trail at ${location.path} (pass --db, or set CHARTER_TRAIL_DB or DATABASE_URL as the app runs)`);
  } else {
    const store = await openTrailStore(o.env, o.cwd, o.db);
    try {
      trail = await trailFacts(o, store, keysUsed);
    } finally {
      await store.close();
    }
    const alertStore = await openAlertStore(o.env, o.cwd, o.db);
    try {
      alerts = { location: trail.location, respondWithinMs: o.respondWithinMs, nowMs: o.nowMs, alerts: await alertFacts(alertStore, o) };
    } finally {
      await alertStore.close();
    }
  }
  return { facts: { period: { sinceMs: o.sinceMs, untilMs: o.untilMs }, periodArgs: o.periodArgs, ledger, trail, alerts }, notes };
}

/** The policy as committed at HEAD: reviewed configuration, not a working-tree edit. */
async function policyAtHead(root: string, notes: string[]): Promise<CharterPolicy | undefined> {
  const bytes = await fileAt(root, "HEAD", POLICY_PATH);
  if (bytes === null) return undefined;
  const parsed = parsePolicy(bytes);
  if (parsed.ok) return parsed.policy;
  notes.push(`${POLICY_PATH} at HEAD cannot be read (${parsed.diagnostics[0]?.message ?? "invalid"}): no provider and no pinned key are taken from it`);
  return undefined;
}

function verifierKeys(o: ReadinessOptions, policy: CharterPolicy | undefined): { keys: readonly string[]; keySource: "given" | "pinned" | "branch" } {
  if (o.keys.length > 0) return { keys: o.keys, keySource: "given" };
  const pinned = policy?.evidence?.verifierKey;
  return pinned === undefined ? { keys: [], keySource: "branch" } : { keys: [pinned], keySource: "pinned" };
}

async function ledgerFacts(o: ReadinessOptions, policy: CharterPolicy | undefined, given: readonly string[], keySource: "given" | "pinned" | "branch"): Promise<{ ledger: LedgerFacts; keysUsed: readonly string[] }> {
  const small = await readBranchFiles(o.root, o.source.commit, [CHECKPOINT_PATH, PUBLIC_KEY_PATH]);
  const text = (path: string): string | undefined => {
    const file = small.files.find((f) => f.path === path);
    return file === undefined ? undefined : new TextDecoder().decode(file.bytes);
  };
  const keys = keySource === "branch" ? [text(PUBLIC_KEY_PATH)?.trim() ?? ""].filter((k) => k !== "") : given;
  const verifier = new LedgerVerifier({
    checkpoint: text(CHECKPOINT_PATH) ?? "",
    verifierKeys: keys,
    ...(o.witnesses.length === 0 ? {} : { witnesses: { keys: o.witnesses, min: o.minWitnesses, notes: await readWitnessNotes(o.root) } }),
  });
  const unexpected: VerificationProblem[] = small.unexpected.map((path) => ({ path, code: "path-invalid", message: `${path} is not a regular file` }));
  for await (const item of streamTreeFiles(o.root, o.source.commit, ["records/"])) {
    if (item.kind === "file") verifier.add(item.path, item.bytes);
    else unexpected.push({ path: item.path, code: "path-invalid", message: `${item.path} is not a regular file (a link or submodule cannot be evidence)` });
  }
  const report = verifier.finish();
  const problems = [...report.problems, ...unexpected];
  // The index refuses a branch whose records do not chain: that is this report's finding, not its failure.
  let updated: { size: number; lastHash: string | null } = { size: report.size, lastHash: null };
  let indexRefused: string | null = null;
  try {
    updated = await updateIndex(o.index, o.source);
  } catch (error) {
    if (!isCharterError(error) || (error.code !== "INVALID_RECORD" && error.code !== "LEDGER_REWRITTEN")) throw error;
    indexRefused = error.message.replace(/^charter: /, "");
  }
  const period = { ...(o.sinceMs === null ? {} : { since: o.sinceMs }), until: o.untilMs };
  const agents = indexRefused !== null ? [] : (await currentAgents(o.index)).map((a) => ({ agent: a.agent, status: a.status, permissions: a.permissions, provider: a.provider, versionSeq: a.versionSeq }));
  const changes: ChangeFact[] = [];
  for (const c of indexRefused !== null ? [] : await queryChanges(o.index, period)) {
    const body = await recordBody(o.source, c.seq);
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
  for (const e of indexRefused !== null ? [] : await queryExceptions(o.index, { ...period, now: o.nowMs, retroDays: o.retroDays })) {
    exceptions.push({ seq: e.seq, path: recordPath(e.seq), type: e.type, at: e.at, agents: e.agents.split(" ").filter((a) => a !== ""), detail: e.detail, followUp: e.type === "retro-review-overdue" ? null : followUpOf(await recordBody(o.source, e.seq)) });
  }
  const ledger: LedgerFacts = {
    branch: o.branch,
    commit: o.source.commit,
    size: updated.size,
    tipHash: updated.lastHash,
    indexRefused,
    agents,
    providers: providerDescriptors(provisioningSettings(policy)),
    verification: { ok: problems.length === 0, keySource, signed: report.signedBy.length > 0, witnessesRequired: o.witnesses.length === 0 ? 0 : o.minWitnesses, witnessed: report.witnessed.length, problems },
    changes,
    exceptions,
    retroDays: o.retroDays,
  };
  // The trail's checkpoints are signed with the ledger's key: the same keys verify both.
  return { ledger, keysUsed: keys };
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

async function trailFacts(o: ReadinessOptions, store: TrailStore, keys: readonly string[]): Promise<TrailFacts> {
  const fromMs = o.sinceMs ?? 0;
  const window = [fromMs, o.untilMs];
  const principals: PrincipalSeen[] = [];
  // The alert log's records are Charter's own (an alert raised, a person's evaluation of it), not
  // actions on a protected resource: their principals are not identities the inventory judges.
  const alertLog = (await store.nameId("source", ALERT_LOG_SOURCE_NAME)) ?? -1;
  const rows = await store.select("SELECT principal, agent, count(*) AS n, min(seq) AS first FROM events WHERE observed_ms >= ? AND observed_ms < ? AND source <> ? GROUP BY principal, agent ORDER BY min(seq)", [...window, alertLog]);
  for (const r of rows) {
    const agentId = r["agent"] === null ? null : Number(r["agent"]);
    const principalId = Number(r["principal"]);
    const agent = agentId === null ? null : ((await store.nameOf("agent", agentId)) ?? `#${agentId}`);
    principals.push({ principal: (await store.nameOf("principal", principalId)) ?? `#${principalId}`, agent, events: Number(r["n"]), firstSeq: Number(r["first"]) });
  }
  const gaps = (await store.gaps()).filter((g) => g.detectedMs >= fromMs && g.detectedMs < o.untilMs);
  const sources: SourceFact[] = (await statusRows(store, o.nowMs, DEFAULT_SILENT_AFTER_MS)).map((s) => ({
    source: s.source,
    instance: s.instance,
    attested: s.attested,
    state: s.state,
    events: s.events,
    lastReceivedAt: s.lastReceivedAt,
    quietSinceMs: s.quietSince === null ? null : Date.parse(s.quietSince),
    silentAfterSeconds: s.silentAfterSeconds,
    gapsInPeriod: gaps.filter((g) => g.source === s.source && g.instance === s.instance).map((g) => ({ kind: g.kind, at: new Date(g.detectedMs).toISOString(), detail: g.detail })),
  }));
  const verified = await verifyStoredTrail(store, { root: o.root, ref: o.branch, verifierKeys: keys, env: o.env, cwd: o.cwd, db: o.db });
  const started = performance.now();
  const answer = await offHoursOrAll(store, { dataClass: o.seedClass, outsideHours: true, ...(o.sinceMs === null ? {} : { since: o.sinceMs }), until: o.untilMs });
  const ms = performance.now() - started;
  const events = Number((await store.select("SELECT count(*) AS n FROM events WHERE observed_ms >= ? AND observed_ms < ?", window))[0]?.["n"] ?? 0);
  return {
    location: store.location,
    events,
    principals,
    sharedBindings: sharedBindings(await store.bindings()),
    sources,
    verification: { ok: verified.ok, events: verified.events, sealedThrough: verified.sealedThrough, anchoredThrough: verified.anchoredThrough, problems: verified.problems },
    seedQuery: { command: `charter audit actions --data-class ${o.seedClass} --outside-hours ${o.periodArgs} --by-agent`.replace(/ {2,}/g, " "), ms, budgetMs: o.queryBudgetMs, total: answer.total, agents: answer.byAgent.length },
  };
}

/** Principals bound to different agents over overlapping times. */
function sharedBindings(bindings: readonly { principal: string; instance: string | null; agent: string; fromMs: number; untilMs: number | null }[]): SharedBinding[] {
  const byPrincipal = new Map<string, typeof bindings>();
  for (const b of bindings) byPrincipal.set(b.principal, [...(byPrincipal.get(b.principal) ?? []), b]);
  const out: SharedBinding[] = [];
  for (const [principal, list] of byPrincipal) {
    const agents = new Set<string>();
    for (const a of list) {
      for (const b of list) {
        if (a.agent === b.agent) continue;
        const overlap = a.fromMs < (b.untilMs ?? Infinity) && b.fromMs < (a.untilMs ?? Infinity) && (a.instance === null || b.instance === null || a.instance === b.instance);
        if (overlap) agents.add(a.agent).add(b.agent);
      }
    }
    if (agents.size > 1) out.push({ principal, agents: [...agents].sort() });
  }
  return out.sort((a, b) => a.principal.localeCompare(b.principal));
}

async function alertFacts(store: AlertStore, o: ReadinessOptions): Promise<AlertFact[]> {
  const listed = await store.list({ limit: MAX_ALERTS + 1, ...(o.sinceMs === null ? {} : { sinceMs: o.sinceMs }) });
  if (listed.length > MAX_ALERTS) throw new CharterError("LIMIT_EXCEEDED", `more than ${MAX_ALERTS} alerts fired since ${o.sinceMs === null ? "the beginning" : new Date(o.sinceMs).toISOString()}`, { hint: "Report a shorter period with --since." });
  const out: AlertFact[] = [];
  for (const s of listed) {
    const firedMs = Date.parse(s.alert.firedAt);
    if (!(firedMs < o.untilMs)) continue;
    const first = (await store.history(s.alert.id))[0];
    out.push({
      id: s.alert.id,
      rule: s.alert.rule.id,
      agent: s.alert.agent,
      principal: s.alert.principal,
      firedAt: s.alert.firedAt,
      firedMs,
      status: s.status,
      firstResponse: first === undefined ? null : { at: first.at, ms: Date.parse(first.at), to: first.to, by: first.by },
      reason: s.reason,
    });
  }
  return out.reverse();
}
