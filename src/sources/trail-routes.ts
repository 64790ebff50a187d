import type { IncomingMessage, ServerResponse } from "node:http";
import { createGunzip } from "node:zlib";
import { isCharterError } from "../errors.js";
import { describeProblems, EVENTS_LIMITS, parseEventLines } from "./events-format.js";
import { authenticate } from "./ingest-tokens.js";
import { OTLP_LIMITS, parseOtlpTraces } from "./otlp.js";
import type { TrailIngestor } from "./trail-ingestor.js";
import type { AppendResult, TrailStore } from "./trail-store.js";

const EVENTS_PATH = "/api/trail/events";
const OTLP_TRACES_PATH = "/v1/traces";

export interface TrailRoutesDeps {
  readonly store: TrailStore;
  readonly ingestor: TrailIngestor;
  /** Where refusals are logged (never a token, never a body). */
  readonly log?: (level: "info" | "warn", fields: Record<string, unknown>, message: string) => void;
  /**
   * Request bodies held in memory at once, summed over concurrent requests (each counted at its
   * declared size, or at its limit when the size is not declared or the body is gzip): past it a
   * new request gets 429 before its body is read. Default 128 MiB.
   */
  readonly maxBufferedBytes?: number;
}

const DEFAULT_MAX_BUFFERED_BYTES = 128 * 1024 * 1024;

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The trail's two HTTP receivers beside Probot's webhook route:
 *
 *   POST /api/trail/events   NDJSON in Charter's event format (schemas/trail-event.schema.json)
 *   POST /v1/traces          OTLP/HTTP JSON, as the stock OpenTelemetry exporters send it
 *
 * Both answer only once the events are durable: 200 means stored (or already stored). Refusals:
 * 401 without a live ingest token, 413 past the size limit, 415 for protobuf (and other types),
 * 400 naming the field that is wrong (nothing of that request is stored), 429 with Retry-After
 * when ingest is behind or too many uploads are being read at once (the sender retries; nothing
 * is buffered without bound).
 */
export function trailRoutes(deps: TrailRoutesDeps): Handler {
  const maxBuffered = deps.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  let buffered = 0;
  /**
   * Reads the body within the shared budget: a flood of concurrent uploads (each within its own
   * limit) is refused with 429 instead of growing the heap until the process dies.
   */
  const readWithin = async (req: IncomingMessage, maxBytes: number, maxDecoded: number): Promise<string> => {
    const declared = Number(req.headers["content-length"] ?? "0");
    const gzip = (req.headers["content-encoding"] ?? "").toLowerCase() === "gzip";
    const share = gzip ? maxDecoded : Number.isSafeInteger(declared) && declared > 0 ? Math.min(declared, maxBytes + 1) : maxBytes;
    if (declared > maxBytes) return readBody(req, maxBytes, maxDecoded);
    if (buffered > 0 && buffered + share > maxBuffered) throw new HttpRefusal(429, `${buffered} bytes of other uploads are being read; retry after a pause`, { "retry-after": "1", connection: "close" });
    buffered += share;
    try {
      return await readBody(req, maxBytes, maxDecoded);
    } finally {
      buffered -= share;
    }
  };
  return async (req, res) => {
    const path = pathOf(req.url);
    if (path !== EVENTS_PATH && path !== OTLP_TRACES_PATH) return false;
    try {
      if (req.method !== "POST") throw new HttpRefusal(405, "use POST", { allow: "POST" });
      const token = await authenticate(deps.store, req.headers.authorization);
      if (token === null) throw new HttpRefusal(401, "a live ingest token is required: Authorization: Bearer charter_it_… (charter trail token create)", { "www-authenticate": "Bearer" });
      const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
      let result: AppendResult;
      if (path === OTLP_TRACES_PATH) {
        if (type === "application/x-protobuf" || type === "application/protobuf") {
          throw new HttpRefusal(415, "Charter accepts OTLP/HTTP with the JSON encoding only: configure the exporter for http/json (OTEL_EXPORTER_OTLP_PROTOCOL=http/json, or @opentelemetry/exporter-trace-otlp-http)");
        }
        if (type !== "application/json") throw new HttpRefusal(415, `content type ${JSON.stringify(type)} is not OTLP/HTTP JSON; send application/json`);
        const body = await readWithin(req, OTLP_LIMITS.maxBodyBytes, OTLP_LIMITS.maxDecodedBytes);
        let value: unknown;
        try {
          value = JSON.parse(body);
        } catch {
          throw new HttpRefusal(400, "the body is not JSON");
        }
        const parsed = parseOtlpTraces(value, token);
        if (!parsed.ok) throw new HttpRefusal(400, `${parsed.field}: ${parsed.message}`);
        result = await deps.ingestor.submit(parsed.events);
        deps.log?.("info", { token: token.id, agent: token.agent, stored: result.stored.length, duplicates: result.duplicates, ignored: parsed.ignored }, "charter: trail spans ingested");
        // The OTLP response: a full success has an empty partialSuccess.
        send(res, 200, { partialSuccess: {} });
        return true;
      }
      if (type !== "application/x-ndjson" && type !== "application/jsonl" && type !== "application/json" && type !== "text/plain") {
        throw new HttpRefusal(415, `content type ${JSON.stringify(type)} is not NDJSON; send application/x-ndjson`);
      }
      const body = await readWithin(req, EVENTS_LIMITS.maxBodyBytes, EVENTS_LIMITS.maxBodyBytes);
      const parsed = parseEventLines(body, { instance: token.instance, attested: token.attested, tokenAgent: token.agent });
      if (!parsed.ok) throw new HttpRefusal(400, describeProblems(parsed.problems));
      result = await deps.ingestor.submit(parsed.events);
      deps.log?.("info", { token: token.id, source: token.instance, stored: result.stored.length, duplicates: result.duplicates }, "charter: trail events ingested");
      send(res, 200, { stored: result.stored.length, duplicates: result.duplicates, ids: result.stored.map((e) => e.id), seqs: result.stored.map((e) => e.seq) });
      return true;
    } catch (error) {
      const refusal =
        error instanceof HttpRefusal
          ? error
          : isCharterError(error) && error.code === "OVERLOADED"
            ? new HttpRefusal(429, "ingest is behind; retry after a pause", { "retry-after": "1" })
            : null;
      if (refusal === null) {
        deps.log?.("warn", { err: error instanceof Error ? error.message : String(error), path }, "charter: trail ingest failed");
        send(res, 503, { error: "the trail could not store the events; retry" }, { "retry-after": "5" });
        return true;
      }
      if (refusal.status !== 401) deps.log?.("info", { status: refusal.status, path }, "charter: trail request refused");
      // The request body may still be arriving; the connection is closed after the answer so that
      // an oversized or unauthenticated upload is not read to its end.
      send(res, refusal.status, { error: refusal.message }, { ...refusal.headers, ...(refusal.status === 413 || refusal.status === 401 ? { connection: "close" } : {}) });
      return true;
    }
  };
}

export function pathOf(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? "", "http://localhost").pathname;
  } catch {
    return undefined;
  }
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(`${JSON.stringify(body)}\n`, "utf8");
  res.writeHead(status, { ...headers, "content-type": "application/json; charset=utf-8", "content-length": String(bytes.length), "cache-control": "no-store" });
  res.end(bytes);
}

/**
 * The body, refused with 413 as soon as it passes the limit (declared or actual), gzip decoded
 * when declared so, with a limit on the decoded size too.
 */
async function readBody(req: IncomingMessage, maxBytes: number, maxDecoded: number): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? "0");
  const tooLarge = (): HttpRefusal => new HttpRefusal(413, `the body is larger than ${maxBytes} bytes; send smaller batches`);
  if (declared > maxBytes) throw tooLarge();
  const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
  if (encoding !== "identity" && encoding !== "gzip") throw new HttpRefusal(415, `content encoding ${JSON.stringify(encoding)} is not supported; send gzip or none`);
  const chunks: Buffer[] = [];
  let size = 0;
  const stream = encoding === "gzip" ? req.pipe(createGunzip()) : req;
  let raw = 0;
  if (encoding === "gzip") {
    req.on("data", (chunk: Buffer) => {
      raw += chunk.length;
      if (raw > maxBytes) stream.destroy(tooLarge());
    });
  }
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > (encoding === "gzip" ? maxDecoded : maxBytes)) {
        stream.destroy();
        throw encoding === "gzip" ? new HttpRefusal(413, `the body decodes to more than ${maxDecoded} bytes`) : tooLarge();
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof HttpRefusal) throw error;
    throw new HttpRefusal(400, "the body could not be read (a broken upload or invalid gzip)");
  }
  const bytes = Buffer.concat(chunks);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpRefusal(400, "the body is not UTF-8");
  }
}
