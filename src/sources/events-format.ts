import { validateAgainstSchema } from "../manifest/schema-validator.js";
import { validate as trailEventValidator } from "../schema-types/trail-event.validator.generated.js";
import type { SourceEvent, TrailOutcome, TrailSystem } from "../trail/event.js";

/**
 * Charter's own event format (schemas/trail-event.schema.json), one JSON object per line, for
 * any gateway, proxy or service that is not a built-in source. The lines are attacker-written:
 * each is size-bounded, parsed, validated against the schema (unknown fields refused), and only
 * then turned into a SourceEvent.
 */
export const EVENTS_LIMITS = {
  /** A request body or file read at once; past it HTTP answers 413. */
  maxBodyBytes: 1024 * 1024,
  /** One line (one event). */
  maxLineBytes: 16 * 1024,
  /** Events in one request. */
  maxEvents: 10_000,
} as const;

/** Who sent the lines: from the ingest token, never from the lines themselves. */
export interface EventsOrigin {
  readonly instance: string;
  readonly attested: boolean;
  /** For an agent's token: its agent, which every event is recorded under. */
  readonly tokenAgent: string | null;
}

export interface LineProblem {
  /** 1-based. */
  readonly line: number;
  /** JSON Pointer inside the event; "" for the line as a whole. */
  readonly pointer: string;
  readonly message: string;
}

export type EventsParse = { readonly ok: true; readonly events: SourceEvent[] } | { readonly ok: false; readonly problems: LineProblem[] };

interface InputEvent {
  eventId: string;
  eventTime: string;
  userIdentity: { type: string; principalId: string; agent?: string };
  eventSource: TrailSystem;
  eventName: string;
  resources?: { name: string; instance?: string }[];
  outcome?: TrailOutcome;
  errorCode?: string;
  traceId?: string;
  spanId?: string;
  tool?: string;
  model?: string;
  inputTokens?: number;
  outputTokens?: number;
  detail?: Record<string, string>;
}

const MAX_PROBLEMS = 20;
const ZONED = /(?:Z|[+-]\d{2}:\d{2})$/i;

/** Parses NDJSON text; every line must be a valid event, or nothing is taken (at most 20 problems are listed). */
export function parseEventLines(text: string, origin: EventsOrigin): EventsParse {
  const problems: LineProblem[] = [];
  const events: SourceEvent[] = [];
  const lines = text.split("\n");
  let count = 0;
  for (let i = 0; i < lines.length && problems.length < MAX_PROBLEMS; i++) {
    const raw = (lines[i] as string).replace(/\r$/, "");
    if (raw.trim() === "") continue;
    const line = i + 1;
    if (++count > EVENTS_LIMITS.maxEvents) {
      problems.push({ line, pointer: "", message: `more than ${EVENTS_LIMITS.maxEvents} events in one batch; send the rest in another` });
      break;
    }
    if (Buffer.byteLength(raw, "utf8") > EVENTS_LIMITS.maxLineBytes) {
      problems.push({ line, pointer: "", message: `the event is longer than ${EVENTS_LIMITS.maxLineBytes} bytes` });
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      problems.push({ line, pointer: "", message: `not JSON: ${(error as Error).message.slice(0, 200)}` });
      continue;
    }
    const start = { line, column: 1 };
    const schemaProblems = validateAgainstSchema(trailEventValidator, "event", { value, locate: () => ({ start, end: start }) });
    if (schemaProblems.length > 0) {
      for (const p of schemaProblems.slice(0, 5)) problems.push({ line, pointer: p.pointer, message: p.message });
      continue;
    }
    const e = value as InputEvent;
    // The schema's date-time admits a zone-less form Charter would have to guess a zone for.
    if (!ZONED.test(e.eventTime) || Number.isNaN(Date.parse(e.eventTime))) {
      problems.push({ line, pointer: "/eventTime", message: `eventTime ${JSON.stringify(e.eventTime)} needs a zone (Z or ±hh:mm)` });
      continue;
    }
    events.push(toSourceEvent(e, origin));
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, events };
}

function toSourceEvent(e: InputEvent, origin: EventsOrigin): SourceEvent {
  const resource = e.resources?.[0];
  const detail: Record<string, string> = { ...(e.detail ?? {}), principalType: e.userIdentity.type };
  return {
    source: "events",
    sourceInstance: origin.instance,
    attested: origin.attested,
    sourceKey: e.eventId,
    observedAt: new Date(Date.parse(e.eventTime)).toISOString(),
    principal: e.userIdentity.principalId,
    claimedAgent: e.userIdentity.agent ?? null,
    tokenAgent: origin.tokenAgent,
    action: e.eventName,
    system: e.eventSource,
    resource: e.eventSource === "tool" ? (e.tool ?? resource?.name ?? null) : (resource?.name ?? null),
    instance: resource?.instance ?? null,
    outcome: e.outcome ?? "allowed",
    errorCode: e.errorCode ?? null,
    traceId: e.traceId ?? null,
    spanId: e.spanId ?? null,
    tool: e.tool ?? (e.eventSource === "tool" ? (resource?.name ?? null) : null),
    model: e.model ?? null,
    inputTokens: e.inputTokens ?? null,
    outputTokens: e.outputTokens ?? null,
    detail,
  };
}

/** Problems as one readable message: "line 3 /eventTime: ...; line 7: not JSON". */
export function describeProblems(problems: readonly LineProblem[]): string {
  return problems.map((p) => `line ${p.line}${p.pointer === "" ? "" : ` ${p.pointer}`}: ${p.message}`).join("; ");
}
