import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CharterError } from "../../src/errors.js";
import type { Job } from "../../src/jobs/job-queue.js";
import { SqliteJobQueue } from "../../src/jobs/sqlite-queue.js";
import { createCharterMetrics, JOB_DURATION_BUCKETS, MetricsRegistry } from "../../src/github/ops/metrics.js";
import { parseExposition, type MetricFamily, type Sample } from "./exposition.js";

const dir = mkdtempSync(join(tmpdir(), "charter-metrics-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function family(families: Map<string, MetricFamily>, name: string): MetricFamily {
  const found = families.get(name);
  if (!found) throw new Error(`no metric family ${name} in the output`);
  return found;
}

function only(samples: readonly Sample[], name: string, labels: Record<string, string>): number | undefined {
  const matching = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length);
  expect(matching.length).toBeLessThanOrEqual(1);
  return matching[0]?.value;
}

function expectCode(run: () => unknown, code: CharterError["code"]): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(CharterError);
  expect((thrown as CharterError).code).toBe(code);
}

describe("MetricsRegistry exposition", () => {
  it("renders HELP and TYPE before each family's samples, and nothing for an empty registry", async () => {
    expect(await new MetricsRegistry().render()).toBe("");
    const registry = new MetricsRegistry();
    const counter = registry.counter("demo_events_total", "Events seen.\nSecond line with a \\ backslash.", ["event"]);
    registry.gauge("demo_idle", "A gauge nobody set.");
    counter.inc({ event: "push" });
    counter.inc({ event: "push" }, 2);
    counter.inc({ event: "pull_request" });

    const text = await registry.render();
    const families = parseExposition(text);
    expect([...families.keys()]).toEqual(["demo_events_total", "demo_idle"]);
    const events = family(families, "demo_events_total");
    expect(events.type).toBe("counter");
    expect(events.help).toBe("Events seen.\nSecond line with a \\ backslash.");
    expect(events.samples).toEqual([
      { name: "demo_events_total", labels: { event: "push" }, value: 3 },
      { name: "demo_events_total", labels: { event: "pull_request" }, value: 1 },
    ]);
    expect(family(families, "demo_idle")).toMatchObject({ type: "gauge", samples: [] });
    // Line feeds in HELP are escaped, so each family takes exactly its lines.
    expect(text.split("\n").filter((line) => line.startsWith("# HELP demo_events_total"))).toHaveLength(1);
  });

  it("escapes backslashes, double quotes and line feeds in label values, and they read back unchanged", async () => {
    const registry = new MetricsRegistry();
    const gauge = registry.gauge("demo_records", "Records per repository.", ["repository"]);
    const awkward = 'acme/"quoted"\\path\nnext line';
    gauge.set({ repository: awkward }, 7);
    gauge.set({ repository: "acme/plain" }, 1);

    const text = await registry.render();
    expect(text).toContain('demo_records{repository="acme/\\"quoted\\"\\\\path\\nnext line"} 7\n');
    const samples = family(parseExposition(text), "demo_records").samples;
    expect(only(samples, "demo_records", { repository: awkward })).toBe(7);
    expect(only(samples, "demo_records", { repository: "acme/plain" })).toBe(1);
  });

  it("renders histograms with cumulative buckets, +Inf equal to the count, and the sum", async () => {
    const registry = new MetricsRegistry();
    const histogram = registry.histogram("demo_duration_seconds", "How long.", ["outcome"], [0.1, 1, 10]);
    for (const value of [0.05, 0.1, 0.5, 2, 2, 50]) histogram.observe({ outcome: "done" }, value);
    histogram.observe({ outcome: "dead" }, 0.01);

    const samples = family(parseExposition(await registry.render()), "demo_duration_seconds").samples;
    const buckets = (outcome: string) => samples.filter((s) => s.name === "demo_duration_seconds_bucket" && s.labels["outcome"] === outcome).map((s) => [s.labels["le"], s.value]);
    // 0.1 is in the 0.1 bucket: a bucket's bound is inclusive.
    expect(buckets("done")).toEqual([["0.1", 2], ["1", 3], ["10", 5], ["+Inf", 6]]);
    expect(buckets("dead")).toEqual([["0.1", 1], ["1", 1], ["10", 1], ["+Inf", 1]]);
    expect(only(samples, "demo_duration_seconds_count", { outcome: "done" })).toBe(6);
    expect(only(samples, "demo_duration_seconds_sum", { outcome: "done" })).toBeCloseTo(54.65, 10);
    for (const outcome of ["done", "dead"]) {
      const values = buckets(outcome).map(([, value]) => value as number);
      expect(values).toEqual([...values].sort((a, b) => a - b));
      expect(values.at(-1)).toBe(only(samples, "demo_duration_seconds_count", { outcome }));
    }
  });

  it("renders an unlabelled histogram with le as its only label", async () => {
    const registry = new MetricsRegistry();
    registry.histogram("demo_size_bytes", "Sizes.", [], [1024]).observe({}, 4096);
    const samples = family(parseExposition(await registry.render()), "demo_size_bytes").samples;
    expect(samples).toEqual([
      { name: "demo_size_bytes_bucket", labels: { le: "1024" }, value: 0 },
      { name: "demo_size_bytes_bucket", labels: { le: "+Inf" }, value: 1 },
      { name: "demo_size_bytes_sum", labels: {}, value: 4096 },
      { name: "demo_size_bytes_count", labels: {}, value: 1 },
    ]);
  });

  it("refuses misuse with INTERNAL errors: bad names, duplicates, wrong labels, decreasing counters, unordered buckets", () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter("demo_total", "Demo.", ["event"]);
    expectCode(() => registry.counter("demo_total", "Again."), "INTERNAL");
    expectCode(() => registry.counter("demo-total", "Dash."), "INTERNAL");
    expectCode(() => registry.gauge("demo_gauge", "Reserved label.", ["__name"]), "INTERNAL");
    expectCode(() => registry.histogram("demo_h", "le is the histogram's.", ["le"], [1]), "INTERNAL");
    expectCode(() => registry.histogram("demo_h2", "Unordered.", [], [1, 1]), "INTERNAL");
    expectCode(() => registry.histogram("demo_h3", "Empty.", [], []), "INTERNAL");
    expectCode(() => { counter.inc({ event: "push" }, -1); }, "INTERNAL");
    expectCode(() => { counter.inc({ event: "push" }, NaN); }, "INTERNAL");
    // Label sets are checked at run time too: values reach here from untyped payloads.
    expectCode(() => { counter.inc({} as { event: string }); }, "INTERNAL");
    expectCode(() => { counter.inc({ event: "push", extra: "x" } as { event: string }); }, "INTERNAL");
  });

  it("runs collect hooks before rendering, and a hook that throws fails the render", async () => {
    const registry = new MetricsRegistry();
    const gauge = registry.gauge("demo_depth", "Depth.");
    let reads = 0;
    registry.onCollect(() => {
      reads += 1;
      gauge.set({}, reads * 10);
    });
    expect(only(family(parseExposition(await registry.render()), "demo_depth").samples, "demo_depth", {})).toBe(10);
    expect(only(family(parseExposition(await registry.render()), "demo_depth").samples, "demo_depth", {})).toBe(20);

    registry.onCollect(() => Promise.reject(new Error("collector broke")));
    await expect(registry.render()).rejects.toThrow("collector broke");
  });
});

describe("Charter's metrics", () => {
  const job = (event: string): Job => ({ id: "1", key: "acme/agents", deliveryId: "d-1", event, payload: {}, attempt: 1, enqueuedAt: new Date(0).toISOString() });

  it("defines every documented family with its type, and renders in the exposition format", async () => {
    const metrics = createCharterMetrics();
    const families = parseExposition(await metrics.render());
    expect(Object.fromEntries([...families.values()].map((f) => [f.name, f.type]))).toEqual({
      charter_webhooks_received_total: "counter",
      charter_jobs_queued: "gauge",
      charter_jobs_running: "gauge",
      charter_jobs_retrying: "gauge",
      charter_jobs_dead: "gauge",
      charter_job_oldest_age_seconds: "gauge",
      charter_job_queue_up: "gauge",
      charter_job_duration_seconds: "histogram",
      charter_job_failures_total: "counter",
      charter_github_requests_total: "counter",
      charter_github_rate_limit_remaining: "gauge",
      charter_evidence_appends_total: "counter",
      charter_ledger_records: "gauge",
      charter_drift_findings: "gauge",
    });
    for (const f of families.values()) expect(f.help.length).toBeGreaterThan(0);
  });

  it("records settled jobs as durations in seconds by event and outcome, and counts retries and dead letters as failures", async () => {
    const metrics = createCharterMetrics();
    metrics.onJobSettled(job("pull_request"), "done", 1500);
    metrics.onJobSettled(job("pull_request"), "retry", 40);
    metrics.onJobSettled(job("push"), "dead", 20);
    metrics.webhooksReceived.inc({ event: "push" });
    metrics.evidenceAppends.inc({ kind: "change" });
    metrics.ledgerRecords.set({ repository: "acme/agents" }, 42);

    const families = parseExposition(await metrics.render());
    const duration = family(families, "charter_job_duration_seconds").samples;
    expect(only(duration, "charter_job_duration_seconds_sum", { event: "pull_request", outcome: "done" })).toBe(1.5);
    expect(only(duration, "charter_job_duration_seconds_bucket", { event: "pull_request", outcome: "done", le: "1" })).toBe(0);
    expect(only(duration, "charter_job_duration_seconds_bucket", { event: "pull_request", outcome: "done", le: "2.5" })).toBe(1);
    expect(duration.filter((s) => s.name === "charter_job_duration_seconds_bucket" && s.labels["outcome"] === "done")).toHaveLength(JOB_DURATION_BUCKETS.length + 1);
    const failures = family(families, "charter_job_failures_total").samples;
    expect(only(failures, "charter_job_failures_total", { event: "pull_request" })).toBe(1);
    expect(only(failures, "charter_job_failures_total", { event: "push" })).toBe(1);
    expect(only(family(families, "charter_webhooks_received_total").samples, "charter_webhooks_received_total", { event: "push" })).toBe(1);
    expect(only(family(families, "charter_evidence_appends_total").samples, "charter_evidence_appends_total", { kind: "change" })).toBe(1);
    expect(only(family(families, "charter_ledger_records").samples, "charter_ledger_records", { repository: "acme/agents" })).toBe(42);
  });

  it("reads the job queue's stats on every scrape, and reports an unreadable queue as charter_job_queue_up 0", async () => {
    const queue = new SqliteJobQueue({ path: join(dir, "queue.sqlite") });
    const metrics = createCharterMetrics();
    metrics.observeQueue(queue);
    const gauges = async (): Promise<Record<string, number | undefined>> => {
      const families = parseExposition(await metrics.render());
      const value = (name: string) => only(family(families, name).samples, name, {});
      return {
        queued: value("charter_jobs_queued"),
        running: value("charter_jobs_running"),
        retrying: value("charter_jobs_retrying"),
        dead: value("charter_jobs_dead"),
        up: value("charter_job_queue_up"),
      };
    };

    expect(await gauges()).toEqual({ queued: 0, running: 0, retrying: 0, dead: 0, up: 1 });
    await queue.enqueue({ key: "acme/agents", deliveryId: "d-1", event: "push", payload: {} });
    await queue.enqueue({ key: "acme/agents", deliveryId: "d-2", event: "push", payload: {} });
    expect(await gauges()).toEqual({ queued: 2, running: 0, retrying: 0, dead: 0, up: 1 });
    const families = parseExposition(await metrics.render());
    expect(only(family(families, "charter_job_oldest_age_seconds").samples, "charter_job_oldest_age_seconds", {})).toBeGreaterThanOrEqual(0);

    await queue.close();
    // The scrape still answers; the queue gauges keep what was last read.
    expect(await gauges()).toEqual({ queued: 2, running: 0, retrying: 0, dead: 0, up: 0 });
  });
});
