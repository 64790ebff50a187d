import { covers, type Permission, parsePermission } from "../manifest/permission.js";
import type { PrincipalDirectory } from "./attribute.js";
import type { UnchainedEvent } from "./event-bytes.js";
import { eventId } from "./event-bytes.js";
import type { SourceEvent, TrailFlag } from "./event.js";
import { LocalClock, withinAllowedHours } from "./local-time.js";
import type { ManifestTimeline, ManifestVersion } from "./manifest-timeline.js";
import { ResourceCatalog } from "./resource-catalog.js";

/** What ingest decides each event against: provisioning state, the approved manifests and the catalog. */
export interface IngestContext {
  readonly timeline: ManifestTimeline;
  readonly principals: PrincipalDirectory;
  readonly catalog: ResourceCatalog;
  readonly clock: LocalClock;
  /** Observed and received times further apart than this are flagged clock-skew. */
  readonly skewMs: number;
}

export function emptyContext(principals: PrincipalDirectory, timeline: ManifestTimeline, skewMs = 5 * 60_000): IngestContext {
  return { timeline, principals, catalog: ResourceCatalog.empty(), clock: new LocalClock(), skewMs };
}

/** An event with everything ingest decides except its place in the chain. */
export type DecidedEvent = Omit<UnchainedEvent, "seq">;

/** An action the permission vocabulary has no word for, so no manifest can have approved it (CREATE, DROP, ALTER...). */
const UNGRANTABLE = "ungrantable";

const PG_TABLE_ACTIONS = new Set(["select", "insert", "update", "delete", "truncate", "references", "trigger"]);
// A trail names the same few resources over and over; parsing each once is enough.
const permissionCache = new Map<string, Permission | null>();
const scopeCache = new WeakMap<ManifestVersion, Map<string, boolean>>();

/**
 * Attribution and enrichment of one event, with no I/O: the same source event, context and
 * receive time always give the same decision. Nothing the source said is changed; what is
 * doubtful is flagged.
 */
export function decide(source: SourceEvent, receivedMs: number, ctx: IngestContext): DecidedEvent {
  const flags: TrailFlag[] = [];
  const observedMs = Date.parse(source.observedAt);

  // A self-reported event speaks for the agent its token belongs to, whatever it claims.
  let agent: string | null;
  if (source.tokenAgent !== null) {
    agent = source.tokenAgent;
    if (source.claimedAgent !== null && source.claimedAgent !== source.tokenAgent) flags.push("agent-mismatch");
  } else {
    agent = ctx.principals.lookup(source.principal, source.instance ?? source.sourceInstance, observedMs)?.agent ?? null;
  }
  if (agent === null) flags.push("unattributed");

  const permission = permissionOf(source);
  if (permission === undefined) flags.push("resource-unmapped");
  const version = agent === null ? null : ctx.timeline.at(agent, observedMs);

  let inScope: boolean | null = null;
  if (version !== null && version.known) {
    if (source.system === "tool" && source.tool !== null) inScope = version.tools.includes(source.tool);
    else if (permission === UNGRANTABLE) inScope = false;
    else if (permission !== undefined && permission !== null) inScope = permitted(version, permission);
  }

  let localDay: DecidedEvent["localDay"] = null;
  let localHour: number | null = null;
  let withinHours: boolean | null = null;
  const hours = version?.allowedHours ?? null;
  if (hours !== null && Number.isFinite(observedMs)) {
    const local = ctx.clock.at(observedMs, hours.timezone);
    if (local !== null) {
      localDay = local.day;
      localHour = local.hour;
      withinHours = withinAllowedHours(local, hours);
    }
  }

  if (!Number.isFinite(observedMs) || Math.abs(receivedMs - observedMs) > ctx.skewMs) flags.push("clock-skew");

  // Every field written out in one fixed order: events then share one object shape, which
  // keeps the hot path (tens of thousands a second) out of the engine's slow dictionary mode.
  return {
    source: source.source,
    sourceInstance: source.sourceInstance,
    attested: source.attested,
    sourceKey: source.sourceKey,
    observedAt: source.observedAt,
    principal: source.principal,
    claimedAgent: source.claimedAgent,
    tokenAgent: source.tokenAgent,
    action: source.action,
    system: source.system,
    resource: source.resource,
    instance: source.instance,
    outcome: source.outcome,
    errorCode: source.errorCode,
    traceId: source.traceId,
    spanId: source.spanId,
    tool: source.tool,
    model: source.model,
    inputTokens: source.inputTokens,
    outputTokens: source.outputTokens,
    detail: source.detail,
    id: eventId(source.source, source.sourceInstance, source.sourceKey),
    receivedAt: isoOf(receivedMs),
    agent,
    permission: permission === UNGRANTABLE ? null : (permission?.raw ?? null),
    manifestSeq: version?.seq ?? null,
    manifestCommit: version?.commit ?? null,
    inScope,
    localDay,
    localHour,
    withinHours,
    dataClasses: ctx.catalog.classesOf(source.system, source.resource, source.instance),
    flags,
  };
}

let lastIsoMs = Number.NaN;
let lastIso = "";
/** A submission's events share one receive time: format it once. */
function isoOf(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIsoMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/**
 * The permission an action needs, in the manifest's vocabulary: null when the action needs none
 * that the vocabulary names (a connection, a tool call), undefined when the resource cannot be
 * mapped (dynamic SQL, a name outside the grammar).
 */
function permissionOf(e: Pick<SourceEvent, "system" | "action" | "resource" | "instance">): Permission | typeof UNGRANTABLE | null | undefined {
  if (e.system === null || e.system === "tool") return null;
  // Charter issuing a token is not an action on the repository; the token's scope is in its detail.
  if (e.system === "github" && e.action === "token-issued") return null;
  // A statement that touches no relation (SELECT 1, SET, BEGIN) needs no permission.
  if (e.resource === null) return e.action === "connect" || e.system === "postgres" ? null : undefined;
  let raw: string;
  switch (e.system) {
    case "postgres":
      if (e.action === "connect") return null;
      // DDL and other statements no permission in the vocabulary grants: never in scope.
      if (!PG_TABLE_ACTIONS.has(e.action) && e.action !== "execute" && e.action !== "usage") return UNGRANTABLE;
      raw = `postgres:${e.action}:${e.resource}${e.instance === null ? "" : `@${e.instance}`}`;
      break;
    case "redis":
      raw = `redis:${e.action}:${e.resource}${e.instance === null ? "" : `@${e.instance}`}`;
      break;
    case "http":
      raw = `http:${e.action}:${e.resource}`;
      break;
    case "github":
      raw = `github:${e.action}:${e.resource}`;
      break;
  }
  const cached = permissionCache.get(raw);
  if (cached !== undefined) return cached;
  const parsed = parsePermission(raw);
  const answer = parsed.ok ? parsed.permission : null;
  if (permissionCache.size > 100_000) permissionCache.clear();
  permissionCache.set(raw, answer);
  return answer ?? undefined;
}

function permitted(version: ManifestVersion, needed: Permission): boolean {
  let cache = scopeCache.get(version);
  if (cache === undefined) scopeCache.set(version, (cache = new Map<string, boolean>()));
  const hit = cache.get(needed.raw);
  if (hit !== undefined) return hit;
  const answer = version.status !== "deleted" && version.permissions.some((p) => covers(p, needed));
  cache.set(needed.raw, answer);
  return answer;
}
