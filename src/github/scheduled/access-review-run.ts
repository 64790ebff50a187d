import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ProbotOctokit } from "probot";
import { buildAccessReview } from "../../audit/access-review.js";
import type { AuditStore } from "../../audit/audit-store.js";
import { openPostgresIndex } from "../../audit/postgres-index.js";
import { openSqliteIndex } from "../../audit/sqlite-index.js";
import { updateIndex } from "../../audit/update-index.js";
import { isCharterError } from "../../errors.js";
import { type AppendOutcome, appendRecords, EVIDENCE_BRANCH, type EvidenceTarget } from "../merge/evidence-writer.js";
import { githubLedgerSource } from "../api/github-ledger-source.js";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Where the app keeps a repository's audit index: a schema per repository in the shared
 * PostgreSQL database when DATABASE_URL is set (replicas share it), else a SQLite file per
 * repository under CHARTER_AUDIT_DIR (default .charter/audit). The index is rebuildable from the
 * evidence branch at any time.
 */
export function auditIndexOpener(env: Env): (repositoryId: string) => Promise<AuditStore> {
  const url = env["DATABASE_URL"]?.trim();
  if (url) {
    const prefix = env["CHARTER_AUDIT_SCHEMA"]?.trim() || "charter_audit";
    return (repositoryId) => openPostgresIndex(url, `${prefix}_${repositoryId}`);
  }
  const dir = env["CHARTER_AUDIT_DIR"]?.trim() || join(".charter", "audit");
  return (repositoryId) => {
    mkdirSync(dir, { recursive: true });
    return Promise.resolve(openSqliteIndex(join(dir, `${repositoryId}.sqlite`)));
  };
}

/**
 * The periodic access review (CC6.2): brings the repository's audit index up to date from the
 * evidence branch, snapshots every agent (owners, permissions, data classes, provider, the
 * records that put them there, last provisioning, drift) and appends it as an access-review
 * record, once per period.
 */
export async function runAccessReview(
  octokit: ProbotOctokit,
  target: EvidenceTarget,
  options: { readonly openIndex: (repositoryId: string) => Promise<AuditStore>; readonly now: () => Date; readonly periodSeconds: number },
): Promise<AppendOutcome | undefined> {
  let source;
  try {
    source = await githubLedgerSource(octokit, target, target.branch ?? EVIDENCE_BRANCH);
  } catch (error) {
    if (isCharterError(error) && error.code === "NOT_FOUND") return undefined;
    throw error;
  }
  const store = await options.openIndex(target.repositoryId);
  try {
    await updateIndex(store, source);
    const { repository } = await octokit.graphql<{ repository: { defaultBranchRef: { target: { oid: string } | null } | null } | null }>(
      `query CharterDefaultHead($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { defaultBranchRef { target { oid } } } }`,
      { owner: target.owner, name: target.repo },
    );
    const commit = repository?.defaultBranchRef?.target?.oid;
    if (commit === undefined) return undefined;
    const now = options.now();
    const body = await buildAccessReview(store, { repository: { id: target.repositoryId, fullName: `${target.owner}/${target.repo}` }, commit, asOf: now.toISOString() });
    const period = Math.floor(now.getTime() / (options.periodSeconds * 1000));
    const observedAt = (): string => options.now().toISOString();
    return await appendRecords(octokit, target, {
      idempotencyKey: `access-review:${target.repositoryId}:${String(options.periodSeconds)}:${String(period)}`,
      records: [() => ({ kind: "access-review", body, observedAt: observedAt() })],
      observedAt,
      message: (seq) => `Evidence ${String(seq)}: access review of ${String(body.agents.length)} agent(s)`,
    });
  } finally {
    await store.close();
  }
}
