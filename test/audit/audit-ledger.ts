import { appendToLedger, EMPTY_LEDGER, idempotencyKey, type LedgerAppend, type LedgerFile } from "../../src/evidence/ledger.js";
import { sha256 } from "../../src/evidence/merkle.js";
import type { ChangeBody, NewRecord } from "../../src/evidence/record.js";
import { filesRoot, recordHash } from "../../src/evidence/record.js";
import type { RecordedChange } from "../../src/schema-types/evidence-record.generated.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { changeBody, genesisBody, ORIGIN, REPOSITORY } from "../evidence/ledger-fixture.js";
import { type TempRepo, tempRepo } from "../helpers/temp-repo.js";

/**
 * A hand-built ledger whose audit answers are known. Two agents, written as their owners would:
 *
 *   seq  kind            what                                                  GitHub time (merge)
 *    1   change          finance-reconciliation created (v1)  alice; tests ok  2025-01-10T10:00:00Z
 *    2   change          support-triage created               bob; no checks   2025-02-01T09:00:00Z
 *    3   change          finance: permission added (v2)       alice, carol;    2025-03-01T12:00:00+01:00
 *                        + customer-pii                       a check failed   (= 11:00Z)
 *    4   change          support: EMERGENCY permission widened, no approvals   2025-03-10T00:00:00Z
 *    5   exception       admin-bypass of #4                                    observed 2025-03-10T00:05:00Z
 *    6   change          finance: EMERGENCY model change, no manifest copy     2025-04-01T08:00:00Z
 *    7   retro-approval  closes 6: completed by dave
 *    8   change          support: EMERGENCY owners changed                     2025-05-01T08:00:00Z
 *    9   retro-approval  flags 8 overdue
 *   10   provisioning    finance, converged, after 3
 *   11   drift           support missing-grant, finance extra-grant
 *   12   provisioning    finance converged: resolves finance's drift (support's stays)
 *   13   change          finance retired (v3)                 alice            2025-06-01T00:00:00Z
 *   14   exception       direct-push touching finance                          observed 2025-06-15T00:00:00Z
 *   15   access-review   a snapshot
 *
 * Emergency change 4 has no retro-approval record at all: overdue 7 days after merge.
 */
export const FINANCE = "finance-reconciliation";
export const SUPPORT = "support-triage";

export const MANIFESTS = {
  financeV1: manifest(FINANCE, "active", ["  - team: acme/finance", "  - user: fran"], ["financial"], ["postgres:select:ledger.public.invoices@erp"], "postgres"),
  financeV2: manifest(FINANCE, "active", ["  - team: acme/finance", "  - user: fran"], ["financial", "customer-pii"], ["postgres:select:ledger.public.invoices@erp", "postgres:update:ledger.public.invoices@erp"], "postgres"),
  financeV3: manifest(FINANCE, "retired", ["  - team: acme/finance"], [], [], "postgres", "retirement:\n  date: 2025-06-01\n  reason: replaced by the ERP's own reconciliation\n"),
  supportV1: manifest(SUPPORT, "active", ["  - user: dana"], ["customer-pii"], ["redis:read:support:tickets:*@cache-prod"], "local"),
  supportV2: manifest(SUPPORT, "active", ["  - user: dana"], ["customer-pii"], ["redis:read:support:tickets:*@cache-prod", "redis:write:support:tickets:*@cache-prod"], "local"),
  supportV3: manifest(SUPPORT, "active", ["  - user: dana", "  - user: erin"], ["customer-pii"], ["redis:read:support:tickets:*@cache-prod", "redis:write:support:tickets:*@cache-prod"], "local"),
} as const;

function manifest(id: string, status: string, owners: string[], classes: string[], permissions: string[], provider: string, extra = ""): string {
  const tools = permissions.length === 0 ? "tools: []\n" : `tools:\n  - name: main\n    permissions:\n${permissions.map((p) => `      - ${p}`).join("\n")}\n`;
  return [
    "apiVersion: charter/v1",
    "kind: Agent",
    `id: ${id}`,
    `name: ${id}`,
    "purpose: Test agent.",
    `status: ${status}`,
    "environment: production",
    "owners:",
    ...owners,
    `dataClassifications: [${classes.join(", ")}]`,
    "model:\n  provider: anthropic\n  name: claude-sonnet-4-5\n  version: \"20250929\"",
    "prompts: []",
    tools.trimEnd(),
    `credentials:\n  provider: ${provider}\n  maxLifetime: 1h`,
    extra.trimEnd(),
  ]
    .filter((l) => l !== "")
    .join("\n") + "\n";
}

const encoder = new TextEncoder();
const hex = (bytes: Uint8Array): string => Buffer.from(sha256(bytes)).toString("hex");
const gitSha = (n: number): string => n.toString(16).padStart(40, "a");

export interface ChangeSpec {
  readonly pr: number;
  readonly agent: string;
  readonly mergedAt: string;
  readonly kinds: readonly RecordedChange["kind"][];
  readonly manifest: string | null;
  /** false: the manifest hash is recorded, but no copy is stored. */
  readonly copy?: boolean;
  readonly approvers?: readonly string[];
  readonly checks?: readonly (string | null)[];
  readonly decision?: ChangeBody["decision"];
  readonly emergency?: string;
  readonly title?: string;
}

/** A change record body and the copies it carries, from a spec. */
export function change(spec: ChangeSpec): { body: ChangeBody; copies: Uint8Array[] } {
  const base = changeBody(spec.pr);
  const path = `agents/${spec.agent}/agent.yaml`;
  const bytes = spec.manifest === null ? null : encoder.encode(spec.manifest);
  const hashes: Record<string, string> = bytes === null ? {} : { [path]: hex(bytes) };
  const copies = bytes !== null && spec.copy !== false ? [bytes] : [];
  const mergeSha = gitSha(spec.pr);
  const approvals = (spec.approvers ?? []).map((reviewer) => ({ reviewer, via: "owner", commitId: gitSha(spec.pr + 1000), submittedAt: spec.mergedAt }));
  return {
    body: {
      ...base,
      idempotencyKey: idempotencyKey(REPOSITORY.id, spec.pr, mergeSha),
      pullRequest: { number: spec.pr, url: `https://github.com/acme/agents/pull/${spec.pr}`, title: spec.title ?? `Change ${spec.agent} (#${spec.pr})` },
      author: "author-" + spec.agent,
      mergedBy: "merger",
      mergedAt: spec.mergedAt,
      mergeSha,
      changes: {
        changes: spec.kinds.map((kind) => ({ kind, agent: spec.agent, path, before: null, after: null, risk: "high", summary: kind })),
        agents: [spec.agent],
        unclassified: [],
        maxRisk: "high",
      },
      decision: spec.decision ?? "approved",
      approvals,
      checks: (spec.checks ?? []).map((conclusion, i) => ({ name: `check-${i}`, app: "github-actions", conclusion, completedAt: spec.mergedAt, url: null })),
      emergency: { active: spec.emergency !== undefined, reason: spec.emergency ?? null },
      rollback: { plan: "Revert.", targets: [] },
      files: { hashes, root: filesRoot(hashes) },
      copies: copies.map(hex).sort(),
    },
    copies,
  };
}

export interface AuditLedger {
  readonly records: Uint8Array[];
  readonly objects: Map<string, Uint8Array>;
  /** Every file of the evidence branch (records, objects, checkpoint, public key). */
  readonly files: LedgerFile[];
  readonly hashes: string[];
  readonly signerKey: string;
  readonly verifierKey: string;
  readonly last: LedgerAppend;
}

type Entry = { readonly entry: NewRecord; readonly copies?: Uint8Array[] };

/** Appends entries to a fresh ledger (or continues `from`), collecting every file the app would write. */
export function buildAuditLedger(entries: readonly Entry[], from?: AuditLedger): AuditLedger {
  const keys = from ?? generateSignerKey(ORIGIN);
  let last = from?.last ?? appendToLedger(EMPTY_LEDGER, { kind: "genesis", body: genesisBody(keys.verifierKey), observedAt: "2025-01-01T00:00:00Z" }, { signerKey: keys.signerKey });
  const records = [...(from?.records ?? [last.bytes])];
  const objects = new Map(from?.objects ?? []);
  const files = new Map<string, Uint8Array>((from?.files ?? last.files).map((f) => [f.path, f.content]));
  for (const { entry, copies } of entries) {
    last = appendToLedger(last.tip, entry, { signerKey: keys.signerKey, copies: copies ?? [] });
    records.push(last.bytes);
    for (const c of copies ?? []) objects.set(hex(c), c);
    for (const f of last.files) files.set(f.path, f.content);
  }
  return {
    records,
    objects,
    files: [...files].map(([path, content]) => ({ path, content })),
    hashes: records.map(recordHash),
    signerKey: keys.signerKey,
    verifierKey: keys.verifierKey,
    last,
  };
}

/** The ledger of the table above. */
export function auditLedger(): AuditLedger {
  const repository = { ...REPOSITORY };
  const c1 = change({ pr: 11, agent: FINANCE, mergedAt: "2025-01-10T10:00:00Z", kinds: ["agent-created"], manifest: MANIFESTS.financeV1, approvers: ["alice"], checks: ["success"] });
  const c2 = change({ pr: 12, agent: SUPPORT, mergedAt: "2025-02-01T09:00:00Z", kinds: ["agent-created"], manifest: MANIFESTS.supportV1, approvers: ["bob"] });
  const c3 = change({ pr: 13, agent: FINANCE, mergedAt: "2025-03-01T12:00:00+01:00", kinds: ["permission-added", "data-classification-added"], manifest: MANIFESTS.financeV2, approvers: ["alice", "carol"], checks: ["success", "failure"] });
  const c4 = change({ pr: 14, agent: SUPPORT, mergedAt: "2025-03-10T00:00:00Z", kinds: ["permission-widened"], manifest: MANIFESTS.supportV2, decision: "pending", emergency: "ticket queue outage", title: "=HYPERLINK(\"http://evil.example\",\"click\")" });
  const c6 = change({ pr: 16, agent: FINANCE, mergedAt: "2025-04-01T08:00:00Z", kinds: ["model-changed"], manifest: MANIFESTS.financeV2.replace("20250929", "20251001"), copy: false, approvers: ["alice"], emergency: "month-end close" });
  const c8 = change({ pr: 18, agent: SUPPORT, mergedAt: "2025-05-01T08:00:00Z", kinds: ["owners-changed"], manifest: MANIFESTS.supportV3, approvers: ["dana"], emergency: "on-call handover" });
  const c13 = change({ pr: 23, agent: FINANCE, mergedAt: "2025-06-01T00:00:00Z", kinds: ["agent-retired", "permission-removed"], manifest: MANIFESTS.financeV3, approvers: ["alice"], checks: ["success"] });
  // Records that point at others need the others' hashes, so the ledger is built in two steps.
  const first: Entry[] = [
    { entry: { kind: "change", body: c1.body, observedAt: "2025-01-10T10:01:00Z" }, copies: c1.copies },
    { entry: { kind: "change", body: c2.body, observedAt: "2025-02-01T09:01:00Z" }, copies: c2.copies },
    { entry: { kind: "change", body: c3.body, observedAt: "2025-03-01T11:01:00Z" }, copies: c3.copies },
    { entry: { kind: "change", body: c4.body, observedAt: "2025-03-10T00:01:00Z" }, copies: c4.copies },
    {
      entry: {
        kind: "exception",
        body: { kind: "admin-bypass", repository, commits: [gitSha(14)], pullRequest: c4.body.pullRequest, reason: "merged by an admin while approvals were missing", agents: [SUPPORT], issue: 40 },
        observedAt: "2025-03-10T00:05:00Z",
      },
    },
    { entry: { kind: "change", body: c6.body, observedAt: "2025-04-01T08:01:00Z" }, copies: c6.copies },
  ];
  const partial = buildAuditLedger(first);
  const h = partial.hashes;
  const rest: Entry[] = [
    { entry: { kind: "retro-approval", body: { repository, emergency: { seq: 6, sha256: h[6] ?? "" }, issue: 41, approvals: [{ reviewer: "dave", via: "owner", commitId: null, submittedAt: "2025-04-03T00:00:00Z" }], outcome: "completed" }, observedAt: "2025-04-03T00:01:00Z" } },
    { entry: { kind: "change", body: c8.body, observedAt: "2025-05-01T08:01:00Z" }, copies: c8.copies },
  ];
  const partial2 = buildAuditLedger(rest, partial);
  const h2 = partial2.hashes;
  const provisioning = (after: number, agents: string[], observedAt: string): Entry => ({
    entry: {
      kind: "provisioning",
      body: { repository, source: "change", after: { seq: after, sha256: h2[after] ?? "" }, commit: gitSha(99), agents, plan: [], applied: [], verification: { remaining: [], escalations: [] }, outcome: "converged" },
      observedAt,
    },
  });
  const final: Entry[] = [
    { entry: { kind: "retro-approval", body: { repository, emergency: { seq: 8, sha256: h2[8] ?? "" }, issue: 42, approvals: [], outcome: "overdue" }, observedAt: "2025-05-09T00:00:00Z" } },
    provisioning(3, [FINANCE], "2025-05-10T00:00:00Z"),
    {
      entry: {
        kind: "drift",
        body: {
          repository,
          commit: gitSha(98),
          findings: [
            { provider: "local", agent: SUPPORT, kind: "missing-grant", detail: "write on support:tickets:* is not granted" },
            { provider: "postgres", instance: "erp", agent: FINANCE, kind: "extra-grant", detail: "DELETE on ledger.public.invoices", grantor: "dba" },
          ],
          issues: [43],
        },
        observedAt: "2025-05-11T00:00:00Z",
      },
    },
    provisioning(3, [FINANCE], "2025-05-12T00:00:00Z"),
    { entry: { kind: "change", body: c13.body, observedAt: "2025-06-01T00:01:00Z" }, copies: c13.copies },
    {
      entry: {
        kind: "exception",
        body: { kind: "direct-push", repository, commits: [gitSha(24)], pullRequest: null, reason: "pushed straight to main", agents: [FINANCE], issue: null },
        observedAt: "2025-06-15T00:00:00Z",
      },
    },
    { entry: { kind: "access-review", body: { repository, commit: gitSha(97), asOf: "2025-07-01T00:00:00Z", agents: [] }, observedAt: "2025-07-01T00:00:00Z" } },
  ];
  return buildAuditLedger(final, partial2);
}

/** A throwaway clone whose charter-evidence branch holds the ledger's files, as the app writes them; main is checked out. */
export function auditRepo(ledger: AuditLedger): TempRepo {
  const repo = tempRepo({ "README.md": "# agents\n" });
  repo.commitAll("main");
  writeEvidence(repo, ledger);
  return repo;
}

/** Replaces the evidence branch's content with the ledger's files, as one more commit. */
export function writeEvidence(repo: TempRepo, ledger: AuditLedger): void {
  const exists = repo.git("branch", "--list", "charter-evidence") !== "";
  if (exists) repo.git("checkout", "-q", "charter-evidence");
  else repo.git("checkout", "-q", "--orphan", "charter-evidence");
  repo.git("rm", "-q", "-rf", "--ignore-unmatch", ".");
  repo.write(Object.fromEntries(ledger.files.map((f) => [f.path, f.content])));
  repo.commitAll("evidence");
  repo.git("checkout", "-q", "main");
}
