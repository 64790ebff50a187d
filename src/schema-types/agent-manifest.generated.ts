/* Generated from schemas/agent-manifest.schema.json by scripts/generate-types.js. Do not edit: run npm run generate. */

/**
 * An AI agent under change control: who owns it, which model and prompts it runs, what it may touch, and how long its credentials live. One file per agent at agents/<id>/agent.yaml.
 */
export interface AgentManifest {
  /**
   * Version of this manifest format. Only charter/v1 exists today.
   */
  apiVersion: "charter/v1";
  /**
   * Always Agent.
   */
  kind: "Agent";
  /**
   * Stable identifier: a DNS label (lowercase letters, digits and hyphens, starting with a letter, at most 63 characters). It names the agent's directory, its credentials and its evidence, so never reuse or rename it.
   */
  id: string;
  /**
   * Display name shown to reviewers.
   */
  name: string;
  /**
   * What the agent is for, in a sentence or two: the business reason its access is justified.
   */
  purpose: string;
  /**
   * Lifecycle status. A retired agent holds no permissions and its credentials are removed.
   */
  status: "active" | "retired";
  /**
   * Where the agent runs.
   */
  environment: "production" | "staging" | "development" | "sandbox";
  /**
   * Accountable owners: GitHub users and/or teams. Owners approve changes to the agent and answer for its access.
   *
   * @minItems 1
   * @maxItems 20
   */
  owners: Owner[];
  /**
   * Free-form labels that approval rules can select on (for example team or cost-center).
   */
  labels?: {
    [k: string]: string | undefined;
  };
  /**
   * Classes of data the agent can read or write. Use [] only for an agent that touches no data at all.
   */
  dataClassifications: (
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
  model: Model;
  /**
   * Prompt files, by path relative to this manifest's directory. Their content is hashed into the change record, never inlined.
   *
   * @maxItems 50
   */
  prompts: Prompt[];
  /**
   * Tools the agent may call, each with the exact permissions it needs.
   *
   * @maxItems 100
   */
  tools: Tool[];
  credentials: Credentials;
  runtime?: Runtime;
  retirement?: Retirement;
  /**
   * Accounts the agent itself acts as. An agent can never approve a change: reviews from these accounts never count.
   */
  identities?: {
    /**
     * The GitHub login (user or app bot, e.g. acme-review-bot[bot]) the agent acts as.
     */
    github?: string;
  };
  /**
   * Where to escalate an incident involving this agent (a channel, rotation or mailbox name; not a secret).
   */
  contact?: string;
}
/**
 * Exactly one of user (a GitHub login) or team (org/team-slug).
 */
export interface Owner {
  /**
   * A GitHub login, without @.
   */
  user?: string;
  /**
   * A GitHub team as org/team-slug, without @.
   */
  team?: string;
}
/**
 * The model the agent runs, pinned to an exact version so that a model update is a reviewed change.
 */
export interface Model {
  /**
   * Model vendor or host, e.g. anthropic, openai, google, azure-openai, bedrock, self-hosted.
   */
  provider: string;
  /**
   * Model name as the provider spells it, without a floating alias such as -latest.
   */
  name: string;
  /**
   * Exact pinned version or snapshot (e.g. 20250929, 2024-08-06, 1.2.0). Never latest or a range.
   */
  version: string;
  /**
   * Sampling parameters that change behaviour and are therefore reviewed.
   */
  parameters?: {
    temperature?: number;
    maxOutputTokens?: number;
  };
}
export interface Prompt {
  /**
   * Path relative to the manifest's directory, with forward slashes; it must stay inside that directory.
   */
  path: string;
  /**
   * How the prompt is used.
   */
  role?: "system" | "instructions" | "template" | "examples";
}
export interface Tool {
  /**
   * Tool name as the agent runtime knows it.
   */
  name: string;
  description?: string;
  /**
   * Exact permissions in Charter's vocabulary: <system>:<action>:<resource>[@<instance>], e.g. postgres:select:crm.public.customers@crm-prod.
   *
   * @maxItems 100
   */
  permissions: string[];
}
/**
 * How the agent's identity and credentials are provisioned.
 */
export interface Credentials {
  /**
   * The credential provider that issues this agent's credentials.
   */
  provider: "local" | "postgres";
  /**
   * Longest a single credential may live: a whole number with s, m, h or d (e.g. 15m, 1h). At most 7d.
   */
  maxLifetime: string;
  /**
   * Upper bound on simultaneous sessions for a credential (maps to CONNECTION LIMIT where the provider supports it).
   */
  maxConcurrentSessions?: number;
}
/**
 * Constraints on normal behaviour that anomaly detection can check against.
 */
export interface Runtime {
  allowedHours?: {
    /**
     * IANA time zone, e.g. UTC or Europe/Berlin.
     */
    timezone: string;
    /**
     * @minItems 1
     */
    days: ("mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun")[];
    start: string;
    end: string;
  };
  maxRequestsPerMinute?: number;
  maxCostPerDayUsd?: number;
  /**
   * Tool names whose calls need a human in the loop at run time.
   */
  humanApprovalRequiredFor?: string[];
}
/**
 * Required when status is retired: when and why.
 */
export interface Retirement {
  date: string;
  reason: string;
}
