import type { TrailEvent, TrailFlag, TrailOutcome, TrailSourceKind, TrailSystem, Weekday } from "../trail/event.js";

/**
 * Turns one line of an NDJSON file of trail events (an export, a backtest, a hand-written test
 * case) into a TrailEvent, or says which field is wrong. The file is outside Charter's control:
 * every field is checked for type and size, unknown fields are refused (a misspelt field would
 * silently read as absent), and the result is built field by field, never by copying the input.
 */
export type EventParse = { readonly ok: true; readonly event: TrailEvent } | { readonly ok: false; readonly message: string };

const MAX_EVENT_LINE_BYTES = 64 * 1024;
const MAX_TEXT = 8 * 1024;
const MAX_DETAIL_KEYS = 64;

const SOURCES: readonly TrailSourceKind[] = ["pgaudit", "otlp", "events", "redis-acl", "squid", "github-token", "charter-alerts"];
const SYSTEMS: readonly TrailSystem[] = ["postgres", "redis", "http", "github", "tool"];
const OUTCOMES: readonly TrailOutcome[] = ["allowed", "denied", "error"];
const DAYS: readonly Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const FLAGS: readonly TrailFlag[] = ["unattributed", "agent-mismatch", "clock-skew", "resource-unmapped"];
const FIELDS = new Set([
  "id", "seq", "source", "sourceInstance", "attested", "sourceKey", "observedAt", "receivedAt", "principal", "claimedAgent", "tokenAgent",
  "action", "system", "resource", "instance", "outcome", "errorCode", "traceId", "spanId", "tool", "model", "inputTokens", "outputTokens",
  "detail", "agent", "permission", "manifestSeq", "manifestCommit", "inScope", "localDay", "localHour", "withinHours", "dataClasses", "flags", "hash",
]);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

class FieldError extends Error {}

export function parseEventLine(line: string): EventParse {
  if (line.length > MAX_EVENT_LINE_BYTES) return { ok: false, message: `line is longer than ${MAX_EVENT_LINE_BYTES} characters` };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, message: "not a JSON object (each line of the file is one event)" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, message: "not a JSON object (each line of the file is one event)" };
  const o = value as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => !FIELDS.has(k));
  if (unknown !== undefined) return { ok: false, message: `unknown field "${unknown.slice(0, 60)}"; see docs/detection.md for the event fields` };
  try {
    const event: TrailEvent = {
      id: text(o, "id"),
      seq: integer(o, "seq", 1),
      source: oneOf(o, "source", SOURCES),
      sourceInstance: text(o, "sourceInstance"),
      attested: bool(o, "attested"),
      sourceKey: text(o, "sourceKey"),
      observedAt: time(o, "observedAt"),
      receivedAt: time(o, "receivedAt"),
      principal: text(o, "principal"),
      claimedAgent: nullable(o, "claimedAgent", text),
      tokenAgent: nullable(o, "tokenAgent", text),
      action: text(o, "action"),
      system: nullable(o, "system", (x, k) => oneOf(x, k, SYSTEMS)),
      resource: nullable(o, "resource", text),
      instance: nullable(o, "instance", text),
      outcome: oneOf(o, "outcome", OUTCOMES),
      errorCode: nullable(o, "errorCode", text),
      traceId: nullable(o, "traceId", text),
      spanId: nullable(o, "spanId", text),
      tool: nullable(o, "tool", text),
      model: nullable(o, "model", text),
      inputTokens: nullable(o, "inputTokens", (x, k) => integer(x, k, 0)),
      outputTokens: nullable(o, "outputTokens", (x, k) => integer(x, k, 0)),
      detail: detail(o),
      agent: nullable(o, "agent", text),
      permission: nullable(o, "permission", text),
      manifestSeq: nullable(o, "manifestSeq", (x, k) => integer(x, k, 0)),
      manifestCommit: nullable(o, "manifestCommit", text),
      inScope: nullable(o, "inScope", bool),
      localDay: nullable(o, "localDay", (x, k) => oneOf(x, k, DAYS)),
      localHour: nullable(o, "localHour", (x, k) => {
        const h = integer(x, k, 0);
        if (h > 23) throw new FieldError(`${k} must be an hour from 0 to 23`);
        return h;
      }),
      withinHours: nullable(o, "withinHours", bool),
      dataClasses: strings(o, "dataClasses", undefined),
      flags: strings(o, "flags", FLAGS) as TrailFlag[],
      hash: optionalText(o, "hash"),
    };
    return { ok: true, event };
  } catch (error) {
    if (error instanceof FieldError) return { ok: false, message: error.message };
    throw error;
  }
}

function text(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== "string") throw new FieldError(`${key} must be a string`);
  if (v.length > MAX_TEXT) throw new FieldError(`${key} is longer than ${MAX_TEXT} characters`);
  return v;
}

/** hash is the trail's chaining; an export may leave it out, detection never reads it. */
function optionalText(o: Record<string, unknown>, key: string): string {
  return o[key] === undefined ? "" : text(o, key);
}

function nullable<T>(o: Record<string, unknown>, key: string, read: (o: Record<string, unknown>, key: string) => T): T | null {
  return o[key] === null || o[key] === undefined ? null : read(o, key);
}

function integer(o: Record<string, unknown>, key: string, min: number): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) throw new FieldError(`${key} must be a whole number of at least ${min}`);
  return v;
}

function bool(o: Record<string, unknown>, key: string): boolean {
  const v = o[key];
  if (typeof v !== "boolean") throw new FieldError(`${key} must be true or false`);
  return v;
}

function oneOf<T extends string>(o: Record<string, unknown>, key: string, allowed: readonly T[]): T {
  const v = o[key];
  if (typeof v !== "string" || !allowed.includes(v as T)) throw new FieldError(`${key} must be one of ${allowed.join(", ")}`);
  return v as T;
}

function time(o: Record<string, unknown>, key: string): string {
  const v = text(o, key);
  if (!ISO.test(v) || !Number.isFinite(Date.parse(v))) throw new FieldError(`${key} must be an ISO 8601 time such as 2026-03-02T09:15:00Z`);
  return v;
}

function strings(o: Record<string, unknown>, key: string, allowed: readonly string[] | undefined): string[] {
  const v = o[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > 64 || !v.every((s) => typeof s === "string" && s.length <= 200)) throw new FieldError(`${key} must be a list of at most 64 short strings`);
  const list = v as string[];
  const bad = allowed ? list.find((s) => !allowed.includes(s)) : undefined;
  if (bad !== undefined) throw new FieldError(`${key} has "${bad.slice(0, 40)}"; allowed: ${(allowed ?? []).join(", ")}`);
  return [...list];
}

function detail(o: Record<string, unknown>): Record<string, string> {
  const v = o["detail"];
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new FieldError("detail must be an object of strings");
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > MAX_DETAIL_KEYS) throw new FieldError(`detail has more than ${MAX_DETAIL_KEYS} keys`);
  const out: [string, string][] = [];
  for (const [k, s] of entries) {
    if (typeof s !== "string" || s.length > MAX_TEXT || k.length > 64) throw new FieldError(`detail.${k.slice(0, 40)} must be a short string`);
    out.push([k, s]);
  }
  // fromEntries defines own properties, so a "__proto__" key stays a plain key.
  return Object.fromEntries(out);
}
