/**
 * The action trail's event: one action an agent took (or was refused) on a resource, as the
 * infrastructure or the agent's telemetry reported it, then attributed, stamped with the
 * authorization in force and classified at ingest. These field names are Charter's published
 * event fields: detection rules (built-in and Sigma), `charter audit actions` and the trail's
 * exports all read them by these names, so a field is added, never renamed.
 *
 * Everything a source reports is attacker-influenced (an agent writes its own telemetry, and
 * resource names in SQL or URLs come from whoever issued the request): sources parse it into a
 * SourceEvent defensively, and only ingest decides attribution, scope and classification.
 */

/** Where an event came from. Attested sources are written by the infrastructure that served the request. */
export type TrailSourceKind = "pgaudit" | "otlp" | "events" | "redis-acl" | "squid" | "github-token" | "charter-alerts";

/** The system an action touched, in the manifest's permission vocabulary; `tool` for an agent's tool call. */
export type TrailSystem = "postgres" | "redis" | "http" | "github" | "tool";

export type TrailOutcome = "allowed" | "denied" | "error";

export type Weekday = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";

/**
 * Why an event is marked: facts found at ingest that a reader (or a rule) must see. Flags never
 * change what was recorded; they say what is doubtful about it.
 */
export type TrailFlag =
  /** No provisioning state maps the principal to an agent. */
  | "unattributed"
  /** A self-reported event claimed one agent while its ingest token belongs to another: recorded under the token's agent. */
  | "agent-mismatch"
  /** The observed time is further from the received time than the configured skew allows. */
  | "clock-skew"
  /** The resource could not be mapped into the permission vocabulary (for example dynamic SQL). */
  | "resource-unmapped";

/** What a source hands to ingest: the facts it parsed, before attribution and enrichment. */
export interface SourceEvent {
  readonly source: TrailSourceKind;
  /** The configured instance or ingest source this came from: `crm-prod`, `otel`, `payments-gateway`. */
  readonly sourceInstance: string;
  readonly attested: boolean;
  /**
   * Identifies the event within its source, stable across re-reads and redeliveries: a log file's
   * identity and byte offset, a span's trace and span id, a client's event id. Ingest records an
   * event once per (source, sourceInstance, sourceKey).
   */
  readonly sourceKey: string;
  /** When the infrastructure observed the action (ISO 8601, UTC); never rewritten. */
  readonly observedAt: string;
  /** The principal as the source names it: a PostgreSQL role or lease login, a proxy user, a token subject. */
  readonly principal: string;
  /** For self-reported events: the agent the event claims to be from. */
  readonly claimedAgent: string | null;
  /** For events sent with a per-agent ingest token: that token's agent. */
  readonly tokenAgent: string | null;
  /** `select`, `insert`, `connect`, `execute_tool`, `get`, `read`, `token-issued`… */
  readonly action: string;
  readonly system: TrailSystem | null;
  /** The resource in the permission vocabulary's resource form (`crm.public.customers`, `api.example/v1/refunds`), or the tool name. */
  readonly resource: string | null;
  /** The permission vocabulary's `@instance`. */
  readonly instance: string | null;
  readonly outcome: TrailOutcome;
  /** The source's error code, e.g. SQLSTATE `42501` for a permission denial. */
  readonly errorCode: string | null;
  /** W3C trace id (32 lowercase hex) and span id (16), when the source carries them. */
  readonly traceId: string | null;
  readonly spanId: string | null;
  /** For tool calls: the tool's name. */
  readonly tool: string | null;
  /** Token usage reported by telemetry, for cost rules. */
  readonly model: string | null;
  readonly inputTokens: number | null;
  readonly outputTokens: number | null;
  /** A few more source-specific facts (statement class, HTTP status, span name), bounded in size; never parameters or secrets. */
  readonly detail: Readonly<Record<string, string>>;
}

/** An event as the trail stores it: the source's facts plus what ingest decided. */
export interface TrailEvent extends SourceEvent {
  /** Deterministic: the same (source, sourceInstance, sourceKey) always gets the same id. */
  readonly id: string;
  /** Position in the trail, in arrival order, from 1. */
  readonly seq: number;
  /** When Charter received the event (ISO 8601, UTC). */
  readonly receivedAt: string;
  /** The agent the principal maps to through provisioning state at observedAt; null when unattributed. */
  readonly agent: string | null;
  /** The permission string the action needs, when the resource maps into the vocabulary. */
  readonly permission: string | null;
  /** The change record whose manifest was in force for the agent at observedAt (leads to the pull request and its approvers). */
  readonly manifestSeq: number | null;
  readonly manifestCommit: string | null;
  /** Whether the agent's manifest in force approves the action; null when there is no agent or no mapping. */
  readonly inScope: boolean | null;
  /** The agent's local weekday and hour at observedAt, in the timezone of its runtime.allowedHours (DST included). */
  readonly localDay: Weekday | null;
  readonly localHour: number | null;
  /** Whether observedAt falls within runtime.allowedHours; null when the manifest sets none. */
  readonly withinHours: boolean | null;
  /** The data classes the resource catalog assigns to the resource touched. */
  readonly dataClasses: readonly string[];
  readonly flags: readonly TrailFlag[];
  /** SHA-256 (hex) chaining this event to the previous one, over its canonical bytes. */
  readonly hash: string;
}
