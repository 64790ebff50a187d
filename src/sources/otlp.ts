import type { SourceEvent } from "../trail/event.js";
import type { IngestToken } from "./trail-store.js";

/**
 * OTLP/HTTP JSON traces (what the stock OpenTelemetry exporters send to /v1/traces) turned into
 * trail events. Agent frameworks name the same facts four ways; each tool call and each model
 * call becomes one event whatever the convention:
 *
 *   tool call   gen_ai.operation.name=execute_tool + gen_ai.tool.name (OTel GenAI)
 *               openinference.span.kind=TOOL + tool.name (OpenInference)
 *               span ai.toolCall + ai.toolCall.name (Vercel AI SDK)
 *               traceloop.span.kind=tool + traceloop.entity.name (Traceloop / OpenLLMetry)
 *   model call  gen_ai.operation.name chat|text_completion|generate_content|embeddings,
 *               openinference.span.kind=LLM, ai.generateText.doGenerate / ai.streamText.doStream,
 *               traceloop.span.kind=llm; model and token counts from each convention's names
 *
 * Other spans (HTTP handlers, framework internals) carry nothing the trail records. Telemetry is
 * self-reported and attacker-written: the body is bounded, every field is checked, and the agent
 * is the token's, whatever the span claims (a different claim is kept and flagged).
 */
export const OTLP_LIMITS = {
  /** Bytes of a request body as sent (413 past it). */
  maxBodyBytes: 4 * 1024 * 1024,
  /** Bytes after gzip decoding (a small compressed body can expand enormously). */
  maxDecodedBytes: 16 * 1024 * 1024,
  maxSpans: 20_000,
  maxAttributes: 128,
  maxValueLength: 1000,
} as const;

export type OtlpParse = { readonly ok: true; readonly events: SourceEvent[]; readonly ignored: number } | { readonly ok: false; readonly field: string; readonly message: string };

type Attrs = Map<string, string | number | boolean>;

class OtlpProblem extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const NANOS = /^\d{1,20}$/;
const LLM_OPERATIONS = new Set(["chat", "text_completion", "generate_content", "embeddings"]);
const VERCEL_MODEL_SPANS = new Set(["ai.generateText.doGenerate", "ai.streamText.doStream", "ai.generateObject.doGenerate", "ai.streamObject.doStream"]);

export function parseOtlpTraces(body: unknown, token: Pick<IngestToken, "agent" | "instance">): OtlpParse {
  try {
    return { ok: true, ...normalize(body, token) };
  } catch (error) {
    if (error instanceof OtlpProblem) return { ok: false, field: error.field, message: error.message };
    throw error;
  }
}

function normalize(body: unknown, token: Pick<IngestToken, "agent" | "instance">): { events: SourceEvent[]; ignored: number } {
  const root = object(body, "the body");
  const events: SourceEvent[] = [];
  let ignored = 0;
  let spans = 0;
  for (const [r, rs] of array(root["resourceSpans"] ?? [], "resourceSpans").entries()) {
    const rsPath = `resourceSpans[${r}]`;
    const resource = object(object(rs, rsPath)["resource"] ?? {}, `${rsPath}.resource`);
    const resourceAttrs = attributes(resource["attributes"], `${rsPath}.resource.attributes`);
    for (const [s, ss] of array(object(rs, rsPath)["scopeSpans"] ?? [], `${rsPath}.scopeSpans`).entries()) {
      const ssPath = `${rsPath}.scopeSpans[${s}]`;
      for (const [i, raw] of array(object(ss, ssPath)["spans"] ?? [], `${ssPath}.spans`).entries()) {
        const path = `${ssPath}.spans[${i}]`;
        if (++spans > OTLP_LIMITS.maxSpans) throw new OtlpProblem(path, `more than ${OTLP_LIMITS.maxSpans} spans in one request; export smaller batches`);
        const event = spanEvent(object(raw, path), path, resourceAttrs, token);
        if (event === null) ignored++;
        else events.push(event);
      }
    }
  }
  return { events, ignored };
}

function spanEvent(span: Record<string, unknown>, path: string, resourceAttrs: Attrs, token: Pick<IngestToken, "agent" | "instance">): SourceEvent | null {
  const traceId = hexId(span["traceId"], `${path}.traceId`, HEX32, 32);
  const spanId = hexId(span["spanId"], `${path}.spanId`, HEX16, 16);
  const name = text(span["name"] ?? "", `${path}.name`);
  const attrs = attributes(span["attributes"], `${path}.attributes`);
  const start = nanos(span["startTimeUnixNano"], `${path}.startTimeUnixNano`);
  const status = span["status"] === undefined ? {} : object(span["status"], `${path}.status`);
  const failed = status["code"] === 2 || status["code"] === "STATUS_CODE_ERROR";

  const str = (key: string): string | null => {
    const v = attrs.get(key);
    return v === undefined ? null : String(v);
  };
  const int = (...keys: string[]): number | null => {
    for (const key of keys) {
      const v = attrs.get(key);
      const n = typeof v === "number" ? v : typeof v === "string" && /^\d{1,12}$/.test(v) ? Number(v) : NaN;
      if (Number.isSafeInteger(n) && n >= 0) return n;
    }
    return null;
  };
  const operation = str("gen_ai.operation.name");
  const openinference = str("openinference.span.kind")?.toUpperCase() ?? null;
  const traceloop = str("traceloop.span.kind")?.toLowerCase() ?? null;

  let kind: "tool" | "model" | null = null;
  let convention = "";
  let tool: string | null = null;
  if (operation === "execute_tool" || name.startsWith("execute_tool")) {
    kind = "tool";
    convention = "gen_ai";
    tool = str("gen_ai.tool.name") ?? (name.startsWith("execute_tool ") ? name.slice("execute_tool ".length) : null);
  } else if (openinference === "TOOL") {
    kind = "tool";
    convention = "openinference";
    tool = str("tool.name");
  } else if (name === "ai.toolCall") {
    kind = "tool";
    convention = "vercel-ai";
    tool = str("ai.toolCall.name");
  } else if (traceloop === "tool") {
    kind = "tool";
    convention = "traceloop";
    tool = str("traceloop.entity.name");
  } else if ((operation !== null && LLM_OPERATIONS.has(operation)) || openinference === "LLM" || VERCEL_MODEL_SPANS.has(name) || traceloop === "llm") {
    kind = "model";
    convention = operation !== null ? "gen_ai" : openinference === "LLM" ? "openinference" : VERCEL_MODEL_SPANS.has(name) ? "vercel-ai" : "traceloop";
  }
  if (kind === null) return null;
  if (kind === "tool" && (tool === null || tool === "")) throw new OtlpProblem(`${path}.attributes`, `a tool span (${convention}) without the tool's name`);

  const claimed = str("gen_ai.agent.id") ?? str("gen_ai.agent.name") ?? stringAttr(resourceAttrs, "gen_ai.agent.id") ?? stringAttr(resourceAttrs, "gen_ai.agent.name");
  const model = str("gen_ai.request.model") ?? str("gen_ai.response.model") ?? str("llm.model_name") ?? str("ai.model.id");
  const detail: Record<string, string> = { span: name.slice(0, 200), convention };
  const callId = str("gen_ai.tool.call.id") ?? str("ai.toolCall.id") ?? str("tool_call.id");
  if (callId !== null) detail["toolCallId"] = callId.slice(0, 200);
  if (failed && typeof status["message"] === "string") detail["status"] = status["message"].slice(0, 200);
  const service = stringAttr(resourceAttrs, "service.name");
  if (service !== null) detail["service"] = service.slice(0, 200);
  return {
    source: "otlp",
    sourceInstance: token.instance,
    attested: false,
    sourceKey: `${traceId}:${spanId}`,
    observedAt: new Date(Number(start / 1_000_000n)).toISOString(),
    principal: token.agent === null ? `token:${token.instance}` : `ingest-token:${token.agent}`,
    claimedAgent: claimed,
    tokenAgent: token.agent,
    action: kind === "tool" ? "execute_tool" : (operation ?? "chat"),
    system: kind === "tool" ? "tool" : null,
    resource: kind === "tool" ? tool : null,
    instance: null,
    outcome: failed ? "error" : "allowed",
    errorCode: failed ? (str("error.type") ?? "error") : null,
    traceId,
    spanId,
    tool: kind === "tool" ? tool : null,
    model,
    inputTokens: int("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt", "ai.usage.promptTokens", "ai.usage.inputTokens"),
    outputTokens: int("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion", "ai.usage.completionTokens", "ai.usage.outputTokens"),
    detail,
  };
}

function stringAttr(attrs: Attrs, key: string): string | null {
  const v = attrs.get(key);
  return v === undefined ? null : String(v);
}

function attributes(value: unknown, path: string): Attrs {
  const out: Attrs = new Map();
  if (value === undefined) return out;
  const list = array(value, path);
  if (list.length > OTLP_LIMITS.maxAttributes) throw new OtlpProblem(path, `more than ${OTLP_LIMITS.maxAttributes} attributes`);
  for (const [i, raw] of list.entries()) {
    const a = object(raw, `${path}[${i}]`);
    const key = text(a["key"], `${path}[${i}].key`);
    const v = a["value"] === undefined ? {} : object(a["value"], `${path}[${i}].value`);
    const scalar = v["stringValue"] ?? v["intValue"] ?? v["boolValue"] ?? v["doubleValue"];
    if (typeof scalar === "string") out.set(key, scalar.slice(0, OTLP_LIMITS.maxValueLength));
    else if (typeof scalar === "number" || typeof scalar === "boolean") out.set(key, scalar);
  }
  return out;
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new OtlpProblem(path, `${path} must be an object`);
  return value as Record<string, unknown>;
}

function array(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new OtlpProblem(path, `${path} must be an array`);
  return value;
}

function text(value: unknown, path: string): string {
  if (typeof value !== "string") throw new OtlpProblem(path, `${path} must be a string`);
  if (value.length > OTLP_LIMITS.maxValueLength) throw new OtlpProblem(path, `${path} is longer than ${OTLP_LIMITS.maxValueLength} characters`);
  return value;
}

/** OTLP/JSON writes ids as hex; some exporters send base64 (the protobuf JSON mapping): both are read. */
function hexId(value: unknown, path: string, pattern: RegExp, hexLength: number): string {
  if (typeof value === "string") {
    const lower = value.toLowerCase();
    if (pattern.test(lower) && !/^0+$/.test(lower)) return lower;
    const decoded = Buffer.from(value, "base64");
    if (decoded.length * 2 === hexLength && decoded.toString("base64").replace(/=+$/, "") === value.replace(/=+$/, "")) return decoded.toString("hex");
  }
  throw new OtlpProblem(path, `${path} must be ${hexLength} hex digits (not all zero)`);
}

function nanos(value: unknown, path: string): bigint {
  const textValue = typeof value === "number" && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof textValue !== "string" || !NANOS.test(textValue)) throw new OtlpProblem(path, `${path} must be nanoseconds since the epoch (a decimal string)`);
  const n = BigInt(textValue);
  // Years 2000–2200: anything else is a broken clock or an attack on date handling.
  if (n < 946_684_800_000_000_000n || n > 7_258_118_400_000_000_000n) throw new OtlpProblem(path, `${path} is not a time between 2000 and 2200`);
  return n;
}
