/* Generated from schemas/evidence-record.schema.json by scripts/generate-types.js. Do not edit: run npm run generate. */

/**
 * One record of Charter's evidence ledger, stored as RFC 8785 canonical JSON plus a newline at records/<seq / 1,000,000>/<seq / 1000 % 1000>/<seq>.json on the evidence branch. Each record holds the SHA-256 of the previous record's stored bytes; a signed checkpoint commits to the Merkle root of all of them.
 */
export type EvidenceRecord =
  | GenesisRecord
  | ChangeRecord
  | ExceptionRecord
  | RetroApprovalRecord
  | ProvisioningRecord
  | DriftRecord
  | AccessReviewRecord
  | TrailAnchorRecord
  | TrailExceptionRecord
  | ReadinessRecord;
/**
 * A timestamp exactly as GitHub's API returned it; copied verbatim, never re-formatted.
 */
export type GithubTime = string;
/**
 * A git object id in lowercase hex (SHA-1, or SHA-256 repositories).
 */
export type GitSha = string;
/**
 * Any JSON value Charter records (numbers are integers: canonical records hold no fractions).
 */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | {
      [k: string]: JsonValue | undefined;
    };
/**
 * A SHA-256 hash in lowercase hex.
 */
export type Sha256 = string;

/**
 * Starts the log and names the key that signs its checkpoints.
 */
export interface GenesisRecord {
  /**
   * Record format and version.
   */
  schema: "charter.evidence/v1";
  seq: 0;
  kind: "genesis";
  /**
   * The genesis record has no predecessor.
   */
  prev: null;
  /**
   * The writer's clock when it wrote the record. Informational only: never a policy input.
   */
  observedAt: string;
  body: GenesisBody;
}
export interface GenesisBody {
  repository: RepositoryRef;
  /**
   * The checkpoint origin line of this log.
   */
  origin: string;
  createdAt: string;
  /**
   * The verifier key (Go note format) that signs this log's checkpoints.
   */
  publicKey: string;
}
export interface RepositoryRef {
  /**
   * GitHub's numeric repository id, as a string.
   */
  id: string;
  /**
   * owner/name at the time of writing.
   */
  fullName: string;
}
/**
 * A merged pull request that changed agents or governance files.
 */
export interface ChangeRecord {
  /**
   * Record format and version.
   */
  schema: "charter.evidence/v1";
  /**
   * Position in the log, from 0 (the genesis record) without gaps.
   */
  seq: number;
  kind: "change";
  /**
   * SHA-256 of the previous record's stored bytes.
   */
  prev: string;
  /**
   * The writer's clock when it wrote the record. Informational only: never a policy input.
   */
  observedAt: string;
  body: ChangeBody;
}
export interface ChangeBody {
  /**
   * (repository id, PR number, merge SHA): a redelivered webhook finds this and adds nothing.
   */
  idempotencyKey: string;
  repository: RepositoryRef;
  pullRequest: PullRequestRef;
  author: string;
  mergedBy: string;
  mergedAt: GithubTime;
  baseSha: GitSha;
  headSha: GitSha;
  mergeSha: GitSha;
  changes: RecordedChangeSet;
  policy: RecordedPolicy;
  decision: "approved" | "pending" | "blocked" | "invalid";
  result: RecordedResultNode;
  approvals: RecordedApproval[];
  checks: RecordedCheck[];
  /**
   * Whether one person's approval counted for one rule per agent (the default) or for every rule they were eligible for; absent in older records.
   */
  separationOfDuties?: boolean;
  /**
   * Logins of the pull request's author and of everyone who authored, co-authored or committed its commits: none of them could approve it, nor its retro-review. Absent in older records.
   */
  contributors?: string[];
  /**
   * Reviews that could not count whatever the rule, and why: the author, a contributor, a bot, or an agent's own account. Absent in older records.
   */
  excludedReviews?: ExcludedReview[];
  rollback: RecordedRollback;
  emergency: RecordedEmergency;
  files: RecordedFiles;
  /**
   * Content-addressed copies stored beside the record at objects/sha256/<first 2 hex>/<rest>.
   */
  copies: Sha256[];
}
export interface PullRequestRef {
  number: number;
  url: string;
  title: string;
}
/**
 * The semantic change set (src/change/change-set.ts).
 */
export interface RecordedChangeSet {
  changes: RecordedChange[];
  agents: string[];
  unclassified: string[];
  maxRisk: "low" | "medium" | "high" | "critical";
}
/**
 * One semantic change; before and after are the values on each side, null where the thing did not exist.
 */
export interface RecordedChange {
  kind:
    | "agent-created"
    | "agent-retired"
    | "agent-reactivated"
    | "agent-deleted"
    | "model-changed"
    | "model-parameters-changed"
    | "prompt-added"
    | "prompt-removed"
    | "prompt-changed"
    | "tool-added"
    | "tool-removed"
    | "permission-added"
    | "permission-removed"
    | "permission-widened"
    | "permission-narrowed"
    | "owners-changed"
    | "credential-lifetime-raised"
    | "credential-lifetime-lowered"
    | "credential-provider-changed"
    | "data-classification-added"
    | "data-classification-removed"
    | "environment-changed"
    | "labels-changed"
    | "runtime-changed"
    | "description-only"
    | "policy-changed"
    | "schema-changed"
    | "codeowners-changed"
    | "ci-workflow-changed"
    | "detection-changed"
    | "catalog-changed";
  agent?: string;
  path: string;
  pointer?: string;
  before: JsonValue;
  after: JsonValue;
  risk: "low" | "medium" | "high" | "critical";
  summary: string;
}
export interface RecordedPolicy {
  source: "base" | "default";
  path: string;
  sha256: Sha256 | null;
}
/**
 * The policy evaluation's result tree (src/policy/result.ts), as decided at merge.
 */
export interface RecordedResultNode {
  name: string;
  status: "satisfied" | "pending" | "blocked" | "skipped";
  summary: string;
  details: string[];
  missing: RecordedMissing[];
  approvals?: RecordedApproval[];
  check?: RecordedCheck;
  children: RecordedResultNode[];
}
export interface RecordedMissing {
  what: "approval" | "check" | "section" | "re-review" | "reason" | "identity";
  count?: number;
  from?: string[];
  detail: string;
}
export interface RecordedApproval {
  reviewer: string;
  /**
   * Why the reviewer was eligible: "owner", "member of @acme/security"…
   */
  via: string;
  /**
   * The rule the approval was counted for. With separation of duties (the default) one person is counted for one rule per agent; absent in records written before rules were recorded.
   */
  rule?: string;
  /**
   * The changed agent the approval was counted for; absent for governance files.
   */
  agent?: string;
  /**
   * The commit the approval was given on.
   */
  commitId: GitSha | null;
  submittedAt: GithubTime | null;
}
export interface RecordedCheck {
  name: string;
  app: string | null;
  /**
   * For a GitHub Actions job: the workflow file the policy bound the check to, and that posted it.
   */
  workflow?: string;
  conclusion: string | null;
  /**
   * Set by the check's client: recorded, not trusted as a time.
   */
  completedAt: GithubTime | null;
  url: string | null;
}
export interface ExcludedReview {
  reviewer: string;
  reason: "author" | "contributor" | "bot" | "agent";
}
export interface RecordedRollback {
  /**
   * The pull request's rollback section, verbatim.
   */
  plan: string | null;
  targets: RollbackTarget[];
}
export interface RollbackTarget {
  path: string;
  /**
   * null: the file did not exist before, so rolling back deletes it.
   */
  previousSha256: Sha256 | null;
}
export interface RecordedEmergency {
  active: boolean;
  reason: string | null;
}
export interface RecordedFiles {
  /**
   * Repository path → SHA-256 of every manifest and prompt file at the merge commit.
   */
  hashes: {
    [k: string]: Sha256 | undefined;
  };
  /**
   * Merkle root over the hashes (see filesRoot in src/evidence/record.ts).
   */
  root: Sha256;
}
/**
 * A change that bypassed Charter's check: an admin merge, or a direct push to governed paths.
 */
export interface ExceptionRecord {
  /**
   * Record format and version.
   */
  schema: "charter.evidence/v1";
  /**
   * Position in the log, from 0 (the genesis record) without gaps.
   */
  seq: number;
  kind: "exception";
  /**
   * A SHA-256 hash in lowercase hex.
   */
  prev: string;
  /**
   * The writer's clock when it wrote the record. Informational only: never a policy input.
   */
  observedAt: string;
  body: ExceptionBody;
}
export interface ExceptionBody {
  kind: "admin-bypass" | "direct-push";
  repository: RepositoryRef;
  /**
   * @minItems 1
   */
  commits: GitSha[];
  /**
   * The bypassing pull request; null for a direct push.
   */
  pullRequest: PullRequestRef | null;
  /**
   * Why this is an exception, in one sentence.
   */
  reason: string;
  /**
   * Agents the commits touched.
   */
  agents: string[];
  /**
   * The issue opened to the agents' owners.
   */
  issue: number | null;
}
/**
 * Closes an emergency change once its retro-review got the required approvals, or flags it overdue.
 */
export interface RetroApprovalRecord {
  /**
   * Record format and version.
   */
  schema: "charter.evidence/v1";
  /**
   * Position in the log, from 0 (the genesis record) without gaps.
   */
  seq: number;
  kind: "retro-approval";
  /**
   * A SHA-256 hash in lowercase hex.
   */
  prev: string;
  /**
   * The writer's clock when it wrote the record. Informational only: never a policy input.
   */
  observedAt: string;
  body: RetroApprovalBody;
}
export interface RetroApprovalBody {
  repository: RepositoryRef;
  emergency: EmergencyRecordRef;
  issue: number | null;
  approvals: RecordedApproval[];
  outcome: "completed" | "overdue";
}
/**
 * The emergency change record this closes: its seq and the SHA-256 of its stored bytes.
 */
export interface EmergencyRecordRef {
  seq: number;
  sha256: Sha256;
}
/**
 * What credential provisioning did after an approved change (or an exception): the plan, the operations applied, and the verification that followed.
 */
export interface ProvisioningRecord {
  /**
   * Record format and version.
   */
  schema: "charter.evidence/v1";
  /**
   * Position in the log, from 0 (the genesis record) without gaps.
   */
  seq: number;
  kind: "provisioning";
  /**
   * A SHA-256 hash in lowercase hex.
   */
  prev: string;
  /**
   * The writer's clock when it wrote the record. Informational only: never a policy input.
   */
  observedAt: string;
  body: ProvisioningBody;
}
export interface ProvisioningBody {
  repository: RepositoryRef;
  /**
   * What started this provisioning run.
   */
  source: "change" | "exception" | "reconciler" | "operator";
  /**
   * The change or exception record whose approved state was provisioned; null for an operator run not tied to one.
   */
  after: RecordRef | null;
  /**
   * A git object id in lowercase hex (SHA-1, or SHA-256 repositories).
   */
  commit: string;
  /**
   * The agents this run provisioned.
   */
  agents: string[];
  /**
   * What the first plan said to do.
   */
  plan: ProvisioningOperation[];
  /**
   * What was applied, with each step's status.
   */
  applied: ProvisioningOperation[];
  verification: {
    /**
     * What a fresh plan after applying still wanted to do: empty when the systems match the manifests.
     */
    remaining: ProvisioningOperation[];
    escalations: Escalation[];
  };
  /**
   * converged: a plan after applying was empty.
   */
  outcome: "converged" | "incomplete" | "failed";
}
/**
 * Another record of this log: its seq and the SHA-256 of its stored bytes.
 */
export interface RecordRef {
  seq: number;
  sha256: Sha256;
}
/**
 * One step a provider planned or applied, described without any secret.
 */
export interface ProvisioningOperation {
  /**
   * The provider that performs it (local, postgres).
   */
  provider: string;
  /**
   * The system instance (e.g. crm-prod), when the provider serves several.
   */
  instance?: string;
  /**
   * The agent id.
   */
  agent: string;
  /**
   * What is done: create-identity, grant, revoke, update-identity, deprovision, ...
   */
  action: string;
  /**
   * What it is done to: a role, a privilege on an object, a registry entry.
   */
  target: string;
  /**
   * Absent in a plan; the result once applied.
   */
  status?: "planned" | "applied" | "failed" | "skipped";
  /**
   * Why the step failed, when it did.
   */
  error?: string;
}
/**
 * Something provisioning could not make right by itself and a person must look at.
 */
export interface Escalation {
  provider: string;
  instance?: string;
  agent: string;
  reason: string;
  /**
   * What a person runs to resolve it, when known: exact statements for the system named by provider and instance.
   */
  fix?: string;
}
/**
 * A difference between the approved state and what a credential system actually holds, found by drift detection.
 */
export interface DriftRecord {
  /**
   * Record format and version.
   */
  schema: "charter.evidence/v1";
  /**
   * Position in the log, from 0 (the genesis record) without gaps.
   */
  seq: number;
  kind: "drift";
  /**
   * A SHA-256 hash in lowercase hex.
   */
  prev: string;
  /**
   * The writer's clock when it wrote the record. Informational only: never a policy input.
   */
  observedAt: string;
  body: DriftBody;
}
export interface DriftBody {
  repository: RepositoryRef;
  /**
   * A git object id in lowercase hex (SHA-1, or SHA-256 repositories).
   */
  commit: string;
  /**
   * @minItems 1
   */
  findings: DriftFinding[];
  /**
   * Issues opened or updated for the drifted agents.
   */
  issues: number[];
}
export interface DriftFinding {
  provider: string;
  instance?: string;
  agent: string;
  /**
   * missing-identity, missing-grant, extra-grant, foreign-grant, unmanaged-identity, orphaned-identity, lifetime, ...
   */
  kind: string;
  detail: string;
  /**
   * Who made an unexpected grant, where the system records it.
   */
  grantor?: string;
  /**
   * How the agent holds it when not through its own identity: PUBLIC, the ownership marker role, or a chain of roles such as readers → pg_read_all_data (SET ROLE marks a step the agent must take explicitly).
   */
  via?: string;
  /**
   * What a person runs to remove it, when the provider may not remove it itself: exact statements for the system named by provider and instance.
   */
  fix?: string;
}
/**
 * A periodic snapshot of every agent, its owners and its access (the CC6.2 access review).
 */
export interface AccessReviewRecord {
  /**
   * Record format and version.
   */
  schema: "charter.evidence/v1";
  /**
   * Position in the log, from 0 (the genesis record) without gaps.
   */
  seq: number;
  kind: "access-review";
  /**
   * A SHA-256 hash in lowercase hex.
   */
  prev: string;
  /**
   * The writer's clock when it wrote the record. Informational only: never a policy input.
   */
  observedAt: string;
  body: AccessReviewBody;
}
export interface AccessReviewBody {
  repository: RepositoryRef;
  commit: GitSha;
  asOf: string;
  agents: AccessReviewEntry[];
}
export interface AccessReviewEntry {
  agent: string;
  status: string;
  owners: string[];
  permissions: string[];
  dataClassifications: string[];
  provider: string;
  lastChange: RecordRef | null;
  lastProvisioning: RecordRef | null;
  /**
   * Whether unresolved drift was recorded for the agent.
   */
  drift: boolean;
}
/**
 * Anchors sealed segments of the action trail: their ranges and Merkle roots, and the trail's signed checkpoint at the last of them. One record covers every segment sealed since the previous anchor, so anchoring costs one commit per interval whatever the event rate.
 */
export interface TrailAnchorRecord {
  /**
   * Record format and version.
   */
  schema: "charter.evidence/v1";
  /**
   * Position in the log, from 0 (the genesis record) without gaps.
   */
  seq: number;
  kind: "trail-anchor";
  /**
   * A SHA-256 hash in lowercase hex.
   */
  prev: string;
  /**
   * The writer's clock when it wrote the record. Informational only: never a policy input.
   */
  observedAt: string;
  body: TrailAnchorBody;
}
export interface TrailAnchorBody {
  /**
   * The trail's checkpoint origin (charter-trail/<id>).
   */
  origin: string;
  /**
   * @minItems 1
   * @maxItems 1000
   */
  segments: TrailSegment[];
  /**
   * The signed C2SP checkpoint of the trail at the last segment's toSeq.
   */
  checkpoint: string;
  /**
   * Per source and instance: events in the trail and the latest seen, at anchoring time.
   */
  coverage: TrailCoverage[];
  /**
   * Events per agent and data class in the anchored segments (null agent: unattributed; null class: all).
   */
  counts?: TrailCount[];
  alerts?: TrailAlertSummary;
}
export interface TrailSegment {
  index: number;
  fromSeq: number;
  toSeq: number;
  /**
   * A SHA-256 hash in lowercase hex.
   */
  root: string;
}
export interface TrailCoverage {
  source: string;
  instance: string;
  attested: boolean;
  events: number;
  /**
   * The latest observed time of the source's events.
   */
  lastEventAt: string | null;
}
export interface TrailCount {
  agent: string | null;
  dataClass: string | null;
  events: number;
}
/**
 * The alerts raised and evaluated in the anchored segments, and those still open at the last one, computed from the alert log's records in the chain (charter trail verify recomputes it).
 */
export interface TrailAlertSummary {
  /**
   * Alerts raised in the anchored segments, per rule, severity, agent (null: unattributed) and the status they had at the last anchored event.
   */
  raised: TrailAlertCount[];
  /**
   * Evaluations logged in the anchored segments, per rule, severity and agent of their alert and the status they set.
   */
  evaluations: TrailEvaluationCount[];
  /**
   * The evaluations logged in the anchored segments, oldest first, at most 100: which alert, when, and how long after it was raised.
   *
   * @maxItems 100
   */
  evaluated: TrailEvaluation[];
  /**
   * Evaluations beyond the first 100, counted in evaluations but not listed.
   */
  evaluatedOmitted: number;
  /**
   * Alerts not yet resolved or suppressed at the last anchored event, oldest first, at most 50.
   *
   * @maxItems 50
   */
  open: TrailOpenAlert[];
  /**
   * All alerts not yet resolved or suppressed, listed or not.
   */
  openTotal: number;
}
export interface TrailAlertCount {
  rule: string;
  severity: string;
  agent: string | null;
  status: "open" | "acknowledged" | "resolved" | "suppressed";
  alerts: number;
}
export interface TrailEvaluationCount {
  rule: string;
  severity: string;
  agent: string | null;
  to: "acknowledged" | "resolved" | "suppressed";
  evaluations: number;
}
export interface TrailEvaluation {
  alert: string;
  rule: string;
  severity: string;
  to: "acknowledged" | "resolved" | "suppressed";
  at: string;
  /**
   * The alert's first evaluation: what time to evaluation is measured by.
   */
  first: boolean;
  /**
   * Seconds from the alert being raised to this evaluation (null: its raise is not in the log).
   */
  afterSeconds: number | null;
}
export interface TrailOpenAlert {
  alert: string;
  rule: string;
  severity: string;
  agent: string | null;
  status: "open" | "acknowledged";
  raisedAt: string;
}
/**
 * An attested source of the action trail went silent or lost events: actions on protected resources may be missing from the trail.
 */
export interface TrailExceptionRecord {
  /**
   * Record format and version.
   */
  schema: "charter.evidence/v1";
  /**
   * Position in the log, from 0 (the genesis record) without gaps.
   */
  seq: number;
  kind: "trail-exception";
  /**
   * A SHA-256 hash in lowercase hex.
   */
  prev: string;
  /**
   * The writer's clock when it wrote the record. Informational only: never a policy input.
   */
  observedAt: string;
  body: TrailExceptionBody;
}
export interface TrailExceptionBody {
  origin: string;
  source: string;
  instance: string;
  /**
   * gap: lines were lost (a log truncated, removed or unreadable); silent: nothing arrived for longer than allowed.
   */
  kind: "gap" | "silent";
  detail: string;
  detectedAt: string;
}
/**
 * The SOC 2 readiness report of a period, item by item, as the app evaluated it, with the facts it rested on that the ledger alone cannot give again (the trail, the alerts, the seed query timing): charter readiness --at re-evaluates the rest from the ledger before this record and compares.
 */
export interface ReadinessRecord {
  /**
   * Record format and version.
   */
  schema: "charter.evidence/v1";
  /**
   * Position in the log, from 0 (the genesis record) without gaps.
   */
  seq: number;
  kind: "readiness";
  /**
   * A SHA-256 hash in lowercase hex.
   */
  prev: string;
  /**
   * The writer's clock when it wrote the record. Informational only: never a policy input.
   */
  observedAt: string;
  body: ReadinessBody;
}
export interface ReadinessBody {
  repository: RepositoryRef;
  period: {
    since: string | null;
    until: string;
  };
  status: "pass" | "fail";
  /**
   * @maxItems 20
   */
  items: ReadinessItem[];
  /**
   * The records the ledger-derived items were judged on: every record before this one.
   */
  ledgerSize: number;
  retroDays: number;
  facts: ReadinessFrozenFacts;
  /**
   * A SHA-256 hash in lowercase hex.
   */
  factsSha256: string;
}
/**
 * One item of the checklist (or a finer answer it is made of), bounded: at most 20 failures are listed, failuresOmitted counts the rest.
 */
export interface ReadinessItem {
  id: string;
  title: string;
  /**
   * @maxItems 10
   */
  criteria: string[];
  status: "pass" | "fail" | "not-applicable";
  checked: number;
  summary: string;
  /**
   * @maxItems 20
   */
  failures: ReadinessFailure[];
  failuresOmitted: number;
  /**
   * @maxItems 8
   */
  links: ReadinessLink[];
  /**
   * @maxItems 50
   */
  children: ReadinessItem[];
  /**
   * Figures measured while answering, as decimal strings (records hold integers only).
   */
  measured?: {
    [k: string]: string | undefined;
  };
}
export interface ReadinessFailure {
  subject: string;
  reason: string;
  fix: string;
  /**
   * @maxItems 8
   */
  links: ReadinessLink[];
}
export interface ReadinessLink {
  kind: "record" | "command" | "event" | "alert" | "source";
  ref: string;
  note?: string;
}
/**
 * The facts of the evaluation that the ledger before this record cannot give again. truncated names every list or text cut to keep the record bounded; an item resting on one is compared as recorded, not recomputed.
 */
export interface ReadinessFrozenFacts {
  ledger: {
    branch: string;
    commit: string;
    verification: {
      ok: boolean;
      keySource: "given" | "pinned" | "branch";
      signed: boolean;
      witnessesRequired: number;
      witnessed: number;
      /**
       * @maxItems 20
       */
      problems: ReadinessProblem[];
    };
  };
  /**
   * The credential providers configured (names, instances and the databases a PostgreSQL provider governs; never a URL or secret).
   *
   * @maxItems 200
   */
  providers: {
    name: "local" | "postgres" | "redis" | "squid" | "github";
    instance?: string;
    /**
     * @maxItems 200
     */
    databases?: string[];
  }[];
  trail: null | {
    location: string;
    events: number;
    /**
     * @maxItems 500
     */
    principals: {
      principal: string;
      agent: string | null;
      events: number;
      firstSeq: number;
    }[];
    /**
     * @maxItems 100
     */
    sharedBindings: {
      principal: string;
      /**
       * @maxItems 20
       */
      agents: string[];
    }[];
    /**
     * @maxItems 200
     */
    sources: {
      source: string;
      instance: string;
      attested: boolean;
      state: string;
      events: number;
      lastReceivedAt: string | null;
      quietSinceMs: number | null;
      silentAfterSeconds: number;
      /**
       * @maxItems 10
       */
      gapsInPeriod: {
        kind: string;
        at: string;
        detail: string;
      }[];
    }[];
    verification: null | {
      ok: boolean;
      events: number;
      sealedThrough: number;
      anchoredThrough: number;
      /**
       * @maxItems 20
       */
      problems: ReadinessProblem[];
    };
    seedQuery: {
      command: string;
      microseconds: number;
      budgetMs: number;
      total: number;
      agents: number;
    };
  };
  alerts: null | {
    location: string;
    respondWithinMs: number;
    nowMs: number;
    /**
     * @maxItems 500
     */
    alerts: {
      id: string;
      rule: string;
      agent: string | null;
      principal: string;
      firedAt: string;
      firedMs: number;
      status: string;
      firstResponse: null | {
        at: string;
        ms: number;
        to: string;
        by: string;
      };
      reason: string | null;
    }[];
  };
  /**
   * @maxItems 20
   */
  truncated: string[];
}
export interface ReadinessProblem {
  code: string;
  message: string;
  seq?: number;
  path?: string;
}
