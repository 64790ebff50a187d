import { existsSync } from "node:fs";
import type { AuditStore } from "../audit/audit-store.js";
import type { LedgerSource } from "../audit/ledger-source.js";
import { ledgerDerivedFacts } from "../audit/readiness-ledger.js";
import { POLICY_PATH } from "../change/governed-paths.js";
import { CHECKPOINT_PATH, PUBLIC_KEY_PATH } from "../evidence/ledger.js";
import { LedgerVerifier, type VerifyReport } from "../evidence/verify.js";
import { readBranchFiles } from "../git/branch-files.js";
import { fileAt } from "../git/governed-history.js";
import { streamTreeFiles } from "../git/tree-stream.js";
import { readWitnessNotes } from "../git/witness-tags.js";
import { parsePolicy } from "../policy/load-policy.js";
import { providerDescriptors, provisioningSettings } from "../provision/config.js";
import type { LedgerFacts, ReadinessFacts, TrailFacts, VerificationProblem } from "../readiness/facts.js";
import type { CharterPolicy } from "../schema-types/charter-policy.generated.js";
import { openAlertStore } from "../sources/open-alert-store.js";
import { openTrailStore, trailLocation } from "../sources/open-trail-store.js";
import { readinessAlertFacts, readinessTrailFacts } from "../sources/readiness-trail-facts.js";
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
      trail = await readinessTrailFacts(store, { ...o, silentAfterMs: DEFAULT_SILENT_AFTER_MS, verify: () => verifyStoredTrail(store, { root: o.root, ref: o.branch, verifierKeys: keysUsed, env: o.env, cwd: o.cwd, db: o.db }) });
    } finally {
      await store.close();
    }
    const alertStore = await openAlertStore(o.env, o.cwd, o.db);
    try {
      alerts = { location: trail.location, respondWithinMs: o.respondWithinMs, nowMs: o.nowMs, alerts: await readinessAlertFacts(alertStore, o) };
    } finally {
      await alertStore.close();
    }
  }
  return { facts: { period: { sinceMs: o.sinceMs, untilMs: o.untilMs }, periodArgs: o.periodArgs, ledger, trail, alerts }, notes };
}

/** The policy as committed at HEAD: reviewed configuration, not a working-tree edit. */
export async function policyAtHead(root: string, notes: string[]): Promise<CharterPolicy | undefined> {
  const bytes = await fileAt(root, "HEAD", POLICY_PATH);
  if (bytes === null) return undefined;
  const parsed = parsePolicy(bytes);
  if (parsed.ok) return parsed.policy;
  notes.push(`${POLICY_PATH} at HEAD cannot be read (${parsed.diagnostics[0]?.message ?? "invalid"}): no provider and no pinned key are taken from it`);
  return undefined;
}

export function verifierKeys(o: { readonly keys: readonly string[] }, policy: CharterPolicy | undefined): { keys: readonly string[]; keySource: "given" | "pinned" | "branch" } {
  if (o.keys.length > 0) return { keys: o.keys, keySource: "given" };
  const pinned = policy?.evidence?.verifierKey;
  return pinned === undefined ? { keys: [], keySource: "branch" } : { keys: [pinned], keySource: "pinned" };
}

/**
 * The evidence branch at `commit` verified as charter verify does: every record, the chain,
 * the checkpoint against `keys` (the branch's own published key when keySource is "branch"),
 * the witnesses' cosignatures when required.
 */
export async function verifyEvidenceBranch(o: { readonly root: string; readonly commit: string; readonly witnesses: readonly string[]; readonly minWitnesses: number }, given: readonly string[], keySource: "given" | "pinned" | "branch"): Promise<{ report: VerifyReport; problems: VerificationProblem[]; keys: readonly string[] }> {
  const small = await readBranchFiles(o.root, o.commit, [CHECKPOINT_PATH, PUBLIC_KEY_PATH]);
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
  for await (const item of streamTreeFiles(o.root, o.commit, ["records/"])) {
    if (item.kind === "file") verifier.add(item.path, item.bytes);
    else unexpected.push({ path: item.path, code: "path-invalid", message: `${item.path} is not a regular file (a link or submodule cannot be evidence)` });
  }
  const report = verifier.finish();
  return { report, problems: [...report.problems, ...unexpected], keys };
}

async function ledgerFacts(o: ReadinessOptions, policy: CharterPolicy | undefined, given: readonly string[], keySource: "given" | "pinned" | "branch"): Promise<{ ledger: LedgerFacts; keysUsed: readonly string[] }> {
  const { report, problems, keys } = await verifyEvidenceBranch({ ...o, commit: o.source.commit }, given, keySource);
  const derived = await ledgerDerivedFacts(o.index, o.source, { sinceMs: o.sinceMs, untilMs: o.untilMs, nowMs: o.nowMs, retroDays: o.retroDays });
  const { size, ...fromIndex } = derived;
  const ledger: LedgerFacts = {
    ...fromIndex,
    branch: o.branch,
    commit: o.source.commit,
    size: fromIndex.indexRefused === null ? size : report.size,
    providers: providerDescriptors(provisioningSettings(policy)),
    verification: { ok: problems.length === 0, keySource, signed: report.signedBy.length > 0, witnessesRequired: o.witnesses.length === 0 ? 0 : o.minWitnesses, witnessed: report.witnessed.length, problems },
    retroDays: o.retroDays,
  };
  // The trail's checkpoints are signed with the ledger's key: the same keys verify both.
  return { ledger, keysUsed: keys };
}
