import type { ProbotOctokit } from "probot";
import type { AuditStore } from "../../audit/audit-store.js";
import { indexedAnchors } from "../../audit/indexed-anchors.js";
import { ledgerDerivedFacts } from "../../audit/readiness-ledger.js";
import { POLICY_PATH } from "../../change/governed-paths.js";
import { isCharterError } from "../../errors.js";
import { openCheckpoint } from "../../evidence/checkpoint.js";
import { CHECKPOINT_PATH } from "../../evidence/ledger.js";
import { parseSignerKey } from "../../evidence/signed-note.js";
import { parsePolicy } from "../../policy/load-policy.js";
import { providerDescriptors, provisioningSettings } from "../../provision/config.js";
import type { ReadinessFacts, TrailFacts, VerificationProblem } from "../../readiness/facts.js";
import { frozenProviders, periodArgs, readinessBody } from "../../readiness/record-body.js";
import type { CharterPolicy } from "../../schema-types/charter-policy.generated.js";
import { readinessAlertFacts, readinessTrailFacts } from "../../sources/readiness-trail-facts.js";
import { verifyTrailAgainst } from "../../sources/trail-against-ledger.js";
import { readBlobTexts } from "../api/blob-texts.js";
import { githubLedgerSource } from "../api/github-ledger-source.js";
import { type AppendOutcome, appendRecords, EVIDENCE_BRANCH, type EvidenceTarget } from "../merge/evidence-writer.js";
import type { AlertStore } from "../../sources/alert-store.js";
import type { TrailStore } from "../../sources/trail-store.js";

/** What the readiness record reads of the app's action trail (its runtime, github/trail, hands it over). */
export interface ReadinessTrail {
  readonly store: TrailStore;
  /** The trail repository: only its readiness record judges the trail. */
  readonly repository: { readonly owner: string; readonly repo: string } | null;
  readonly detection: { readonly alerts: AlertStore } | null;
  readonly intervals: { readonly silentAfterMs: number };
}

export interface ReadinessRunOptions {
  readonly openIndex: (repositoryId: string) => Promise<AuditStore>;
  readonly now: () => Date;
  /** The report's period, ending now; one record per period. */
  readonly periodSeconds: number;
  /** The app's action trail, when this repository is the trail repository. */
  readonly trail: ReadinessTrail | undefined;
  readonly queryBudgetMs: number;
  readonly respondWithinMs: number;
  readonly retroDays: number;
}

/** The defaults charter readiness judges by, so the record and the command answer alike. */
export const READINESS_DEFAULTS = { queryBudgetMs: 1000, respondWithinMs: 24 * 3600 * 1000, retroDays: 7, seedClass: "customer-pii" } as const;

async function policyAtDefaultBranch(octokit: ProbotOctokit, target: EvidenceTarget): Promise<CharterPolicy | undefined> {
  const text = (await readBlobTexts(octokit, target, "HEAD", [POLICY_PATH])).get(POLICY_PATH) ?? null;
  if (text === null) return undefined;
  const parsed = parsePolicy(new TextEncoder().encode(text));
  return parsed.ok ? parsed.policy : undefined;
}

/**
 * The ledger as the app can check it without reading every record again: the checkpoint signed
 * by the app's own key for exactly the records the audit index holds, which it took only after
 * checking each one chains to the one before. The full check (every record hashed into the
 * signed root) is charter verify's, and charter readiness --at runs it before showing a record.
 */
async function checkpointProblems(octokit: ProbotOctokit, target: EvidenceTarget, commit: string, size: number, verifierKey: string): Promise<VerificationProblem[]> {
  const note = (await readBlobTexts(octokit, target, commit, [CHECKPOINT_PATH])).get(CHECKPOINT_PATH) ?? null;
  if (note === null) return [{ code: "checkpoint-malformed", message: "the evidence branch has no checkpoint" }];
  try {
    const checkpoint = openCheckpoint(note, [verifierKey]);
    return checkpoint.size === size ? [] : [{ code: "checkpoint-size-mismatch", message: `the checkpoint signs ${checkpoint.size} records, but ${size} were found` }];
  } catch (error) {
    if (!isCharterError(error)) throw error;
    return [{ code: "signature-invalid", message: `the checkpoint is not validly signed by the app's key: ${error.message.replace(/^charter: /, "")}` }];
  }
}

/**
 * The scheduled readiness record: the same facts charter readiness gathers (the ledger through
 * the audit index; the trail, its verification against the anchors and the alerts from the
 * app's own stores when this is the trail repository), judged by the same core, appended as a
 * signed readiness record once per period.
 */
export async function runReadiness(octokit: ProbotOctokit, target: EvidenceTarget, o: ReadinessRunOptions): Promise<AppendOutcome | undefined> {
  const branch = target.branch ?? EVIDENCE_BRANCH;
  let source;
  try {
    source = await githubLedgerSource(octokit, target, branch);
  } catch (error) {
    if (isCharterError(error) && error.code === "NOT_FOUND") return undefined;
    throw error;
  }
  const verifierKey = parseSignerKey(target.signerKey).verifierKey;
  const untilMs = o.now().getTime();
  const sinceMs = untilMs - o.periodSeconds * 1000;
  const args = periodArgs(sinceMs, untilMs);
  const policy = await policyAtDefaultBranch(octokit, target);
  const settings = provisioningSettings(policy);
  const store = await o.openIndex(target.repositoryId);
  let facts: ReadinessFacts;
  try {
    const { size, ...derived } = await ledgerDerivedFacts(store, source, { sinceMs, untilMs, nowMs: untilMs, retroDays: o.retroDays });
    const problems = derived.indexRefused === null ? await checkpointProblems(octokit, target, source.commit, size, verifierKey) : [];
    let trail: TrailFacts | null = null;
    let alerts: ReadinessFacts["alerts"] = null;
    const runtime = o.trail;
    if (runtime?.repository !== undefined && runtime.repository !== null && `${runtime.repository.owner}/${runtime.repository.repo}`.toLowerCase() === `${target.owner}/${target.repo}`.toLowerCase()) {
      const alertStore = runtime.detection?.alerts;
      trail = await readinessTrailFacts(runtime.store, {
        sinceMs,
        untilMs,
        nowMs: untilMs,
        periodArgs: args,
        seedClass: READINESS_DEFAULTS.seedClass,
        queryBudgetMs: o.queryBudgetMs,
        silentAfterMs: runtime.intervals.silentAfterMs,
        // The anchors from the index just brought up to date: requests stay flat as the ledger
        // grows. A branch the index refused is read record by record, as a clone would be.
        verify: () =>
          verifyTrailAgainst(runtime.store, {
            source,
            verifierKeys: [verifierKey],
            ...(derived.indexRefused === null ? { anchors: (origin: string) => indexedAnchors(store, origin, size) } : {}),
            ...(alertStore === undefined ? {} : { alerts: alertStore }),
          }),
      });
      if (alertStore !== undefined) alerts = { location: trail.location, respondWithinMs: o.respondWithinMs, nowMs: untilMs, alerts: await readinessAlertFacts(alertStore, { sinceMs, untilMs }) };
    }
    facts = {
      period: { sinceMs, untilMs },
      periodArgs: args,
      ledger: {
        ...derived,
        branch,
        commit: source.commit,
        size,
        providers: providerDescriptors(settings),
        verification: { ok: problems.length === 0 && derived.indexRefused === null, keySource: "given", signed: problems.length === 0, witnessesRequired: 0, witnessed: 0, problems },
        retroDays: o.retroDays,
      },
      trail,
      alerts,
    };
  } finally {
    await store.close();
    await source.close();
  }
  const { body } = readinessBody(facts, { repository: { id: target.repositoryId, fullName: `${target.owner}/${target.repo}` }, providers: frozenProviders(settings) });
  const period = Math.floor(untilMs / (o.periodSeconds * 1000));
  const observedAt = (): string => o.now().toISOString();
  return appendRecords(octokit, target, {
    idempotencyKey: `readiness:${target.repositoryId}:${String(o.periodSeconds)}:${String(period)}`,
    records: [() => ({ kind: "readiness", body, observedAt: observedAt() })],
    observedAt,
    message: (seq) => `Evidence ${String(seq)}: SOC 2 readiness ${body.status}, ${String(body.items.filter((i) => i.status === "fail").length)} of ${String(body.items.length)} items fail`,
  });
}
