import { type AppendResult, appendRecord, appendToLedger, EMPTY_LEDGER, idempotencyKey, type LedgerAppend, type LedgerTip } from "../../src/evidence/ledger.js";
import { type ChangeBody, filesRoot, type GenesisBody } from "../../src/evidence/record.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";

/** Fixed facts for building ledgers in tests and benchmarks; not real GitHub data. */
export const REPOSITORY = { id: "123456789", fullName: "acme/agents" } as const;
export const ORIGIN = "github.com/acme/agents/evidence";

export function genesisBody(publicKey: string): GenesisBody {
  return { repository: { ...REPOSITORY }, origin: ORIGIN, createdAt: "2026-01-01T00:00:00.000Z", publicKey };
}

const sha = (seed: number, length: 40 | 64): string => (seed.toString(16).padStart(8, "0").repeat(8)).slice(0, length);

export function changeBody(n: number): ChangeBody {
  const hashes = { "agents/support-triage/agent.yaml": sha(n, 64), "agents/support-triage/prompts/system.md": sha(n + 1, 64) };
  const mergeSha = sha(n + 2, 40);
  return {
    idempotencyKey: idempotencyKey(REPOSITORY.id, n, mergeSha),
    repository: { ...REPOSITORY },
    pullRequest: { number: n, url: `https://github.com/acme/agents/pull/${n}`, title: `Raise support-triage's temperature (#${n})` },
    author: "dana-support",
    mergedBy: "sam-lead",
    mergedAt: "2026-01-02T10:00:00Z",
    baseSha: sha(n + 3, 40),
    headSha: sha(n + 4, 40),
    mergeSha,
    changes: {
      changes: [
        {
          kind: "model-parameters-changed",
          agent: "support-triage",
          path: "agents/support-triage/agent.yaml",
          pointer: "/model/parameters/temperature",
          before: "0.2",
          after: "0.3",
          risk: "medium",
          summary: "model parameters changed: temperature 0.2 → 0.3",
        },
      ],
      agents: ["support-triage"],
      unclassified: [],
      maxRisk: "medium",
    },
    policy: { source: "base", path: ".github/charter.yml", sha256: sha(n + 5, 64) },
    decision: "approved",
    result: {
      name: "Charter policy",
      status: "satisfied",
      summary: "All rules are satisfied.",
      details: [],
      missing: [],
      children: [
        {
          name: "owner approval",
          status: "satisfied",
          summary: "1 of 1 approvals from the owners.",
          details: ["@sam-lead approved (owner via @acme/support-eng)"],
          missing: [],
          approvals: [{ reviewer: "sam-lead", via: "owner via @acme/support-eng", commitId: sha(n + 4, 40), submittedAt: "2026-01-02T09:00:00Z" }],
          children: [],
        },
      ],
    },
    approvals: [{ reviewer: "sam-lead", via: "owner via @acme/support-eng", commitId: sha(n + 4, 40), submittedAt: "2026-01-02T09:00:00Z" }],
    checks: [{ name: "unit tests", app: "github-actions", conclusion: "success", completedAt: "2026-01-02T08:00:00Z", url: null }],
    rollback: { plan: "Revert the pull request.", targets: [{ path: "agents/support-triage/agent.yaml", previousSha256: sha(n + 6, 64) }] },
    emergency: { active: false, reason: null },
    files: { hashes, root: filesRoot(hashes) },
    copies: [],
  };
}

/** observedAt for record i: one minute apart, increasing. */
export function observedAt(i: number): string {
  return new Date(Date.UTC(2026, 0, 2) + i * 60_000).toISOString();
}

export interface BuiltLedger {
  readonly signerKey: string;
  readonly verifierKey: string;
  readonly tip: LedgerTip;
  readonly records: { path: string; bytes: Uint8Array }[];
  readonly checkpoint: string;
  /** Checkpoint after each append, by size. */
  readonly checkpoints: string[];
}

/** A genesis record and `changes` change records, signed after every append. */
export function buildLedger(changes: number, keys = generateSignerKey(ORIGIN)): BuiltLedger {
  let last: LedgerAppend = appendToLedger(EMPTY_LEDGER, { kind: "genesis", body: genesisBody(keys.verifierKey), observedAt: observedAt(0) }, { signerKey: keys.signerKey });
  const records = [{ path: last.path, bytes: last.bytes }];
  const checkpoints = ["", last.checkpoint];
  for (let i = 1; i <= changes; i++) {
    last = appendToLedger(last.tip, { kind: "change", body: changeBody(i), observedAt: observedAt(i) }, { signerKey: keys.signerKey });
    records.push({ path: last.path, bytes: last.bytes });
    checkpoints.push(last.checkpoint);
  }
  return { ...keys, tip: last.tip, records, checkpoint: last.checkpoint, checkpoints };
}

/** Appends without signing each step, for large ledgers. */
export function appendChanges(tip: LedgerTip, from: number, count: number): AppendResult[] {
  const out: AppendResult[] = [];
  let current = tip;
  for (let i = from; i < from + count; i++) {
    const r = appendRecord(current, { kind: "change", body: changeBody(i), observedAt: observedAt(i) });
    out.push(r);
    current = r.tip;
  }
  return out;
}
