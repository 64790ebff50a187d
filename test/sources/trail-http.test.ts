import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OTLPProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { createIngestToken } from "../../src/sources/ingest-tokens.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import type { TrailEvent } from "../../src/trail/event.js";
import { runCli } from "../cli/run-cli.js";
import { GitHubSimulator } from "../github-sim/index.js";
import { type CharterProcess, startCharterProcess } from "../helpers/start-charter-process.js";

/**
 * The trail's receivers in Charter's own process, started as npm start starts the app, fed by
 * the real OpenTelemetry JS SDK and its stock OTLP/HTTP exporters.
 */
const KEYS = generateSignerKey("charter-test-trail-http");
let sim: GitHubSimulator;
let closeSim: () => Promise<void>;
let app: CharterProcess;
let dir: string;
let db: string;
let triageToken: string;
let gatewayToken: string;
let revokedToken: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "charter-trail-http-"));
  db = join(dir, "trail.sqlite");
  const store = openSqliteTrail(db);
  triageToken = (await createIngestToken(store, { kind: "agent", agent: "support-triage" })).token;
  gatewayToken = (await createIngestToken(store, { kind: "source", instance: "payments-gateway" })).token;
  const revoked = await createIngestToken(store, { kind: "agent", agent: "code-review" });
  await store.revokeToken(revoked.record.id, Date.now());
  revokedToken = revoked.token;
  await store.close();
  sim = await GitHubSimulator.create();
  const http = await sim.listen();
  closeSim = async () => {
    await http.close();
    await sim.close();
  };
  app = await startCharterProcess(sim, { simUrl: http.url, signingKey: KEYS.signerKey, env: { CHARTER_QUEUE_DB: join(dir, "queue.sqlite"), CHARTER_TRAIL_DB: db, CHARTER_TRAIL_MAX_QUEUED: "20000" } });
});
afterAll(async () => {
  await app.kill();
  await closeSim();
  rmSync(dir, { recursive: true, force: true });
});

async function exportSpans(exporter: SpanExporter, spans: (tracer: ReturnType<BasicTracerProvider["getTracer"]>) => void): Promise<void> {
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": "triage-worker" }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  spans(provider.getTracer("agent"));
  await provider.forceFlush();
  await provider.shutdown();
}

async function events(): Promise<TrailEvent[]> {
  const store = openSqliteTrail(db);
  try {
    const { eventFromBytes } = await import("../../src/trail/event-bytes.js");
    return (await store.readChain(1, 1000)).map((l) => eventFromBytes(l.bytes, l.hash.toString("hex")));
  } finally {
    await store.close();
  }
}

describe("the trail's HTTP receivers in the running app", () => {
  it("records the stock OTLP/HTTP JSON exporter's execute_tool spans under the token's agent, and flags a span that claims another", async () => {
    const errors: unknown[] = [];
    const exporter = new OTLPTraceExporter({ url: `${app.url}/v1/traces`, headers: { authorization: `Bearer ${triageToken}` } });
    await exportSpans(exporter, (tracer) => {
      const tool = tracer.startSpan("execute_tool crm_lookup", { kind: SpanKind.INTERNAL, attributes: { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "crm_lookup", "gen_ai.tool.call.id": "call_1", "gen_ai.agent.id": "support-triage" } });
      tool.end();
      const spoof = tracer.startSpan("execute_tool issue_refund", { attributes: { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "issue_refund", "gen_ai.agent.id": "finance-reconciliation" } });
      spoof.setStatus({ code: SpanStatusCode.ERROR, message: "refused" });
      spoof.end();
      const chat = tracer.startSpan("chat claude-sonnet-4-5", { attributes: { "gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-sonnet-4-5", "gen_ai.usage.input_tokens": 812, "gen_ai.usage.output_tokens": 64 } });
      chat.end();
      tracer.startSpan("GET /health").end();
      // OpenInference, Vercel AI SDK and Traceloop name a tool call their own ways.
      tracer.startSpan("lookup", { attributes: { "openinference.span.kind": "TOOL", "tool.name": "crm_lookup" } }).end();
      tracer.startSpan("ai.toolCall", { attributes: { "ai.toolCall.name": "crm_lookup", "ai.toolCall.id": "v1" } }).end();
      tracer.startSpan("crm_lookup.tool", { attributes: { "traceloop.span.kind": "tool", "traceloop.entity.name": "crm_lookup" } }).end();
    }).catch((e: unknown) => errors.push(e));
    expect(errors).toEqual([]);
    const stored = (await events()).filter((e) => e.source === "otlp");
    expect(stored.map((e) => [e.action, e.tool, e.agent, e.flags.join(",")])).toEqual([
      ["execute_tool", "crm_lookup", "support-triage", ""],
      ["execute_tool", "issue_refund", "support-triage", "agent-mismatch"],
      ["chat", null, "support-triage", ""],
      ["execute_tool", "crm_lookup", "support-triage", ""],
      ["execute_tool", "crm_lookup", "support-triage", ""],
      ["execute_tool", "crm_lookup", "support-triage", ""],
    ]);
    expect(stored[1]?.claimedAgent).toBe("finance-reconciliation");
    expect(stored[2]).toMatchObject({ model: "claude-sonnet-4-5", inputTokens: 812, attested: false });
    expect(stored.every((e) => /^[0-9a-f]{32}$/.test(e.traceId ?? ""))).toBe(true);
  });

  it("lets charter audit actions find the spans while the app keeps ingesting", async () => {
    // The app holds the store open and writes to it; the CLI reads beside it.
    const query = async (...args: string[]) => {
      const result = await runCli(["audit", "actions", "--db", db, "--source", "otlp", "--format", "json", "--all", ...args], dir);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      return JSON.parse(result.stdout) as { total: number; events: TrailEvent[] };
    };
    const tools = await query("--agent", "support-triage", "--action", "execute_tool");
    expect(tools.total).toBe(5);
    expect(tools.events.map((e) => e.tool)).toEqual(["crm_lookup", "issue_refund", "crm_lookup", "crm_lookup", "crm_lookup"]);
    expect(tools.events.find((e) => e.tool === "issue_refund")).toMatchObject({ agent: "support-triage", claimedAgent: "finance-reconciliation", flags: ["agent-mismatch"], attested: false });
    // The spoofed claim never lands under the claimed agent.
    expect((await query("--agent", "finance-reconciliation")).total).toBe(0);
    const exporter = new OTLPTraceExporter({ url: `${app.url}/v1/traces`, headers: { authorization: `Bearer ${triageToken}` } });
    await exportSpans(exporter, (tracer) => {
      tracer.startSpan("execute_tool crm_update", { attributes: { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "crm_update" } }).end();
    });
    expect((await query("--agent", "support-triage", "--action", "execute_tool")).events.map((e) => e.tool).at(-1)).toBe("crm_update");
  });

  it("refuses the stock exporter with an unknown token: 401, and nothing of it is stored", async () => {
    const before = (await events()).length;
    const direct = await fetch(`${app.url}/v1/traces`, { method: "POST", headers: { authorization: "Bearer charter_it_00000000deadbeef_" + "B".repeat(43), "content-type": "application/json" }, body: JSON.stringify({ resourceSpans: [] }) });
    expect(direct.status).toBe(401);
    expect(((await direct.json()) as { error: string }).error).toContain("ingest token");
    const results: number[] = [];
    const exporter = new OTLPTraceExporter({ url: `${app.url}/v1/traces`, headers: { authorization: `Bearer ${revokedToken}` } });
    await exportSpans(
      {
        export: (spans, done) => {
          exporter.export(spans, (r) => {
            results.push(r.code);
            done(r);
          });
        },
        shutdown: () => exporter.shutdown(),
      },
      (tracer) => {
        tracer.startSpan("execute_tool crm_lookup", { attributes: { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "crm_lookup" } }).end();
      },
    );
    expect(results).toHaveLength(1);
    expect(results[0]).not.toBe(0);
    expect((await events()).length).toBe(before);
  });

  it("answers the protobuf exporter with 415 and a message to use JSON", async () => {
    const response = await fetch(`${app.url}/v1/traces`, { method: "POST", headers: { authorization: `Bearer ${triageToken}`, "content-type": "application/x-protobuf" }, body: Buffer.from([0x0a, 0x00]) });
    expect(response.status).toBe(415);
    expect(((await response.json()) as { error: string }).error).toContain("http/json");
    // The stock protobuf exporter gets the same answer and reports the export failed.
    const before = (await events()).length;
    const exporter = new OTLPProtoExporter({ url: `${app.url}/v1/traces`, headers: { authorization: `Bearer ${triageToken}` } });
    const result = await new Promise<{ code: number; error?: Error }>((resolve) => {
      void exportSpans(
        {
          export: (spans, done) => { exporter.export(spans, (r) => { resolve(r); done(r); }); },
          shutdown: () => exporter.shutdown(),
        },
        (tracer) => { tracer.startSpan("execute_tool crm_lookup", { attributes: { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "crm_lookup" } }).end(); },
      );
    });
    expect(result.code).not.toBe(0);
    expect((await events()).length).toBe(before);
  });

  it("refuses unknown, revoked and missing tokens with 401, and never echoes the token", async () => {
    for (const authorization of [undefined, "Bearer charter_it_0123456789abcdef_" + "A".repeat(43), `Bearer ${revokedToken}`, "Basic dXNlcjpwYXNz"]) {
      const response = await fetch(`${app.url}/api/trail/events`, { method: "POST", headers: { "content-type": "application/x-ndjson", ...(authorization ? { authorization } : {}) }, body: "{}\n" });
      expect(response.status).toBe(401);
      expect(await response.text()).not.toContain("charter_it_0");
    }
  });

  it("takes NDJSON from an infrastructure source as attested, once per event id, and names the wrong field of a bad line", async () => {
    const line = (id: string, over: Record<string, unknown> = {}) =>
      JSON.stringify({ eventId: id, eventTime: `${new Date().toISOString().slice(0, 10)}T12:00:00.000Z`, userIdentity: { type: "account", principalId: "svc-refunds" }, eventSource: "http", eventName: "post", resources: [{ name: "api.payments.example/v1/refunds" }], detail: { status: "201" }, ...over });
    const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
      fetch(`${app.url}/api/trail/events`, { method: "POST", headers: { authorization: `Bearer ${gatewayToken}`, "content-type": "application/x-ndjson", ...headers }, body });
    const first = await post(`${line("r-1")}\n${line("r-2")}\n`);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ stored: 2, duplicates: 0 });
    // A redelivery: the same event, as sent the first time.
    const again = await post(`${line("r-1")}\n`);
    expect(await again.json()).toMatchObject({ stored: 0, duplicates: 1 });
    const gz = await post(gzipSync(`${line("r-3")}\n`), { "content-encoding": "gzip" });
    expect(await gz.json()).toMatchObject({ stored: 1 });
    const bad = await post(`${line("r-4")}\n${line("r-5", { outcome: "maybe" })}\n`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^line 2 \/outcome: /);
    const stored = (await events()).filter((e) => e.source === "events");
    expect(stored).toHaveLength(3);
    expect(stored.every((e) => e.attested && e.agent === null && e.flags.includes("unattributed"))).toBe(true);
  });

  it("refuses a body past the documented limit with 413, and a gzip bomb the same way", async () => {
    const big = await fetch(`${app.url}/api/trail/events`, { method: "POST", headers: { authorization: `Bearer ${gatewayToken}`, "content-type": "application/x-ndjson" }, body: "x".repeat(1024 * 1024 + 1) });
    expect(big.status).toBe(413);
    // An OTLP upload that declares more than its limit (4 MiB) is answered before its body is
    // read: the headers alone get the 413.
    const before = (await events()).length;
    const oversized = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${app.url}/v1/traces`, { method: "POST", headers: { authorization: `Bearer ${triageToken}`, "content-type": "application/json", "content-length": String(4 * 1024 * 1024 + 1) } });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body });
          req.destroy();
        });
      });
      req.on("error", reject);
      req.write('{"resourceSpans":[');
    });
    expect(oversized.status).toBe(413);
    expect((JSON.parse(oversized.body) as { error: string }).error).toContain(`${4 * 1024 * 1024} bytes`);
    expect((await events()).length).toBe(before);
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    const response = await fetch(`${app.url}/v1/traces`, { method: "POST", headers: { authorization: `Bearer ${triageToken}`, "content-type": "application/json", "content-encoding": "gzip" }, body: bomb });
    expect(response.status).toBe(413);
  });

  it("answers a malformed OTLP body with 400 naming the field", async () => {
    const body = { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: "xyz", spanId: "00f067aa0ba902b7", name: "execute_tool", startTimeUnixNano: "1700000000000000000" }] }] }] };
    const response = await fetch(`${app.url}/v1/traces`, { method: "POST", headers: { authorization: `Bearer ${triageToken}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: /);
  });
});
