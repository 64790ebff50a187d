import type { SourceEvent, TrailOutcome } from "../trail/event.js";
import type { PgLineResult, PgLogLine } from "./pgaudit.js";

/**
 * squid's access log in the JSON format Charter renders (LOG_FORMAT in the squid provider): one
 * line per request the proxy answered, written by the proxy, so attested. The user is the proxy
 * user that authenticated (`charter-agent-<id>.<lease>`), or `-` when none did (407). The user
 * name and URL are chosen by whoever sent the request and arrive URL-encoded; they are decoded
 * defensively and bounded. For CONNECT (HTTPS without interception) the proxy sees only host
 * and port, so no path can be recorded.
 */
const LEASE_USER = /^(charter-agent-[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?)\.([0-9a-f]{24})$/;
const MAX_FIELD = 8192;
const HOST = /^[a-z0-9.-]{1,253}$/;

export function parseSquidLogLine(line: PgLogLine, instance: string): PgLineResult {
  let value: unknown;
  try {
    value = JSON.parse(line.text);
  } catch {
    return { kind: "malformed", reason: "not JSON (a torn or foreign line)" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { kind: "malformed", reason: "not a JSON object" };
  const record = value as Record<string, unknown>;
  const field = (name: string): string | undefined => {
    const v = record[name];
    return typeof v === "string" && v.length <= MAX_FIELD ? v : undefined;
  };
  // A connection closed before it sent a request (a port probe, a client giving up): no action was asked for.
  if (field("method") === "-" && field("result") === "NONE_NONE") return { kind: "skip" };
  const ts = Number(field("ts"));
  const method = decoded(field("method"))?.toLowerCase();
  const status = Number(field("status"));
  if (!Number.isFinite(ts) || ts <= 0 || method === undefined || !/^[a-z]{1,20}$/.test(method) || !Number.isInteger(status)) {
    return { kind: "malformed", reason: "not a line of Charter's squid log format (ts, method, status)" };
  }
  const user = decoded(field("user")) ?? "-";
  const lease = LEASE_USER.exec(user);
  const host = (decoded(field("host")) ?? "").toLowerCase();
  const port = field("port") ?? "";
  const authority = HOST.test(host) ? (port === "" || port === "-" || port === "80" ? host : /^\d{1,5}$/.test(port) ? `${host}:${port}` : host) : null;
  const path = method === "connect" ? null : pathOf(decoded(field("url")));
  const outcome: TrailOutcome = status === 403 || status === 407 ? "denied" : status === 0 || status >= 500 ? "error" : "allowed";
  const detail: Record<string, string> = { status: String(status) };
  for (const name of ["bytes", "elapsedMs", "result"]) {
    const v = field(name);
    if (v !== undefined && /^[A-Za-z0-9_.-]{1,40}$/.test(v)) detail[name] = v;
  }
  if (lease?.[2] !== undefined) detail["lease"] = lease[2];
  const event: SourceEvent = {
    source: "squid",
    sourceInstance: instance,
    attested: true,
    sourceKey: `${line.fileKey}:${String(line.offset)}`,
    observedAt: new Date(Math.round(ts * 1000)).toISOString(),
    // The lease part names a credential, not an identity: the principal is the agent's proxy identity.
    principal: lease?.[1] ?? (user === "-" ? "" : user.slice(0, 200)),
    claimedAgent: null,
    tokenAgent: null,
    action: method,
    system: "http",
    resource: authority === null ? null : path === null ? authority : `${authority}${path}`,
    instance: null,
    outcome,
    errorCode: status >= 400 ? String(status) : null,
    traceId: null,
    spanId: null,
    tool: null,
    model: null,
    inputTokens: null,
    outputTokens: null,
    detail,
  };
  return { kind: "event", event };
}

function decoded(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The URL's path, without query; null when the URL does not parse. */
function pathOf(url: string | undefined): string | null {
  if (url === undefined) return null;
  try {
    const path = new URL(url).pathname;
    return path.length > 2048 ? path.slice(0, 2048) : path;
  } catch {
    return null;
  }
}
