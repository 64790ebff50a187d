/* Generated from schemas/charter-policy.schema.json by scripts/generate-types.js. Do not edit: run npm run generate. */

/**
 * Approval rules for changes to agents, read from .github/charter.yml on the pull request's base branch, never from the pull request itself.
 */
export interface CharterPolicy {
  /**
   * Policy format version. Only 1 exists today.
   */
  version: 1;
  /**
   * Rules for agent changes. Every rule whose `when` matches a change in the pull request must be satisfied.
   *
   * @maxItems 100
   */
  rules?: Rule[];
  /**
   * When the rules that a change to one agent triggers each need approvals (an owner and a member of the security team, say), they need distinct people: one person's approval counts for one rule per agent, and Charter finds an assignment of approvers to rules whenever one exists. Default true. Set false to let one person's approval count for every rule they are eligible for.
   */
  separationOfDuties?: boolean;
  /**
   * What a pull request that changes governance files (this policy, schemas/, CODEOWNERS, CI workflows) needs, judged by the base branch's policy.
   */
  governance?: {
    require: Requirement;
  };
  /**
   * The emergency lane: a labelled pull request with a reason gets the reduced requirements below instead of the rules, and a retro-review after merge.
   */
  emergency?: {
    /**
     * The pull request label that asks for the emergency lane.
     */
    label: string;
    /**
     * Heading of the pull request description's section that must give the reason. Default: Emergency reason.
     */
    reasonSection?: string;
    require: Requirement;
    /**
     * Days after merge by which the retro-review must be complete. Default 3.
     */
    retroReviewDays?: number;
  };
  /**
   * Credential provisioning after a merge: which providers enforce agents' permissions, and how drift is handled. Only non-secret settings live here; database URLs and signing keys come from the environment (docs/providers.md).
   */
  provisioning?: {
    /**
     * Deprovision identities Charter created whose agent's manifest was deleted. Default false: they are reported as orphaned instead. Retired agents are always deprovisioned.
     */
    prune?: boolean;
    /**
     * How often drift detection runs: a whole number with s, m, h or d. Default 1h.
     */
    driftInterval?: string;
    providers?: {
      /**
       * The embedded identity registry: it signs short-lived tokens carrying an agent's exact permissions for tool gateways. Enabled unless enabled is false.
       */
      local?: {
        enabled?: boolean;
        /**
         * The iss claim of issued tokens. Default charter.
         */
        issuer?: string;
      };
      /**
       * PostgreSQL servers, one per permission instance (the @instance of postgres permissions).
       *
       * @maxItems 50
       */
      postgres?: {
        /**
         * The @instance name permissions use, e.g. crm-prod. Its connection URL is read from CHARTER_POSTGRES_URL_<INSTANCE> (upper case, - as _).
         */
        instance: string;
        /**
         * Databases on this server Charter may grant in; a permission on any other database is unenforceable. Default: any.
         *
         * @minItems 1
         */
        databases?: string[];
        /**
         * pgaudit object auditing for the tables the resource catalog (.github/charter-resources.yml) classifies on this instance: charter sync grants the role named by the server's pgaudit.role the listed privileges on each classified table, so that every such statement on it writes an OBJECT audit line, whoever runs it. The role must exist, be NOLOGIN, not a superuser and have no members; sync refuses otherwise. Absent: Charter leaves object auditing alone.
         */
        objectAudit?: {
          /**
           * The statements audited on each classified table (pgaudit supports these four). Default: all four.
           *
           * @minItems 1
           */
          privileges?: ("select" | "insert" | "update" | "delete")[];
        };
      }[];
      /**
       * GitHub installation access tokens for github: permissions, minted by charter token issue --github with the app's credentials (APP_ID, PRIVATE_KEY; the API URL from CHARTER_GITHUB_API_URL), each scoped to exactly the approved repositories and permissions. Off unless enabled is true.
       */
      github?: {
        enabled?: boolean;
      };
      /**
       * squid 5 HTTP egress proxies. Charter renders each one's whole configuration from the approved http permissions (per-agent credentials and method/host/path rules, everything else denied, a JSON access log) and reloads it.
       *
       * @maxItems 20
       */
      squid?: {
        /**
         * The proxy's name in records, e.g. egress. Charter's directory for it (squid.conf, passwd, charter-state.json, access.log) is read from CHARTER_SQUID_DIR_<INSTANCE> (upper case, - as _).
         */
        instance: string;
        /**
         * The address:port squid listens on (http_port), e.g. 127.0.0.1:3128.
         */
        listen: string;
        /**
         * Path of squid's basic_ncsa_auth helper. Default: /usr/lib/squid/basic_ncsa_auth (Debian).
         */
        authProgram?: string;
        /**
         * A hosts file squid resolves names with before DNS (hosts_file). Default: the system's /etc/hosts.
         */
        hostsFile?: string;
      }[];
      /**
       * Redis 7 servers, one per permission instance (the @instance of redis permissions). Charter keeps one ACL user per agent on each.
       *
       * @maxItems 50
       */
      redis?: {
        /**
         * The @instance name permissions use, e.g. cache-prod. Its connection URL is read from CHARTER_REDIS_URL_<INSTANCE> (upper case, - as _).
         */
        instance: string;
        /**
         * ACL users on this server that Charter does not manage and drift detection must not report (the provisioner's own user is always known). Default: [default].
         *
         * @maxItems 100
         */
        knownUsers?: string[];
      }[];
    };
  };
  /**
   * Trust anchors for the evidence ledger. Read by charter verify from the default branch; like the rest of this file, a change to it is a governance change, approved under the base branch's governance rule and recorded.
   */
  evidence?: {
    /**
     * The verifier key (C2SP signed-note, Ed25519: <name>+<key id>+<base64 key>) whose signature charter verify requires on the evidence branch's checkpoint. It must match CHARTER_SIGNING_KEY.
     */
    verifierKey: string;
  };
}
export interface Rule {
  /**
   * Shown in the check run.
   */
  name: string;
  description?: string;
  when?: Selector;
  require: Requirement;
}
/**
 * Which changes trigger the rule. Every listed condition must hold; an empty selector matches every agent change.
 */
export interface Selector {
  /**
   * Change kinds (any of).
   *
   * @minItems 1
   */
  changes?: (
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
  )[];
  /**
   * Agent ids (any of).
   *
   * @minItems 1
   */
  agents?: string[];
  /**
   * Agent labels that must all be present with these values.
   */
  labels?: {
    [k: string]: string | undefined;
  };
  /**
   * Data classes (any of) the agent touches, before or after the change.
   *
   * @minItems 1
   */
  dataClassifications?: (
    | "public"
    | "internal"
    | "confidential"
    | "customer-pii"
    | "employee-pii"
    | "financial"
    | "payment-card"
    | "health"
    | "credentials"
    | "source-code"
  )[];
  /**
   * @minItems 1
   */
  environments?: ("production" | "staging" | "development" | "sandbox")[];
  /**
   * Only changes at or above this risk.
   */
  minRisk?: "low" | "medium" | "high" | "critical";
}
export interface Requirement {
  /**
   * Distinct eligible approvers needed (per agent when owners are approvers). Default 1.
   */
  approvals?: number;
  /**
   * Who may approve: anyone matching any entry. Default: the agent's owners.
   */
  from?: {
    /**
     * The owners of each changed agent, as listed on the base branch.
     */
    owners?: boolean;
    /**
     * @minItems 1
     */
    teams?: string[];
    /**
     * @minItems 1
     */
    users?: string[];
    /**
     * Anyone with at least this permission on the repository.
     */
    permission?: "admin" | "maintain" | "write";
  };
  /**
   * Check runs that must have succeeded on the head commit (testing performed), each bound to the source that must post it: a GitHub App (app) or a GitHub Actions workflow (workflow). Runs from any other source never satisfy it. A bare name, or an entry without exactly one source, is a policy error: that check cannot be satisfied until the policy names its source.
   *
   * @maxItems 50
   */
  checks?: (string | RequiredCheck)[];
  /**
   * Headings that must appear, with content, in the pull request description.
   */
  sections?: string[];
  /**
   * Count approvals given on an earlier commit of the pull request. Default false.
   */
  allowStaleApprovals?: boolean;
}
export interface RequiredCheck {
  /**
   * The check run's name as its source posts it (for a GitHub Actions workflow: the job's name).
   */
  name: string;
  /**
   * The GitHub App that must post the check: its slug (github.com/apps/<slug>) or its numeric id.
   */
  app?: string | number;
  /**
   * The GitHub Actions workflow that must post the check, by the path of its file; the check must be one of that workflow run's jobs.
   */
  workflow?: string;
}
