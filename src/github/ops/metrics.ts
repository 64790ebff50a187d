import { CharterError } from "../../errors.js";
import type { Job, JobQueue, QueueStats } from "../../jobs/job-queue.js";

/**
 * A small metrics registry rendered in the Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). Charter needs counters, gauges
 * and histograms with a handful of labels; that is a page of code, not a dependency.
 *
 * Label values must come from bounded sets (event names, outcomes, HTTP methods and statuses,
 * rate-limit resources, record kinds, installed repositories): every distinct combination is a
 * series that lives as long as the process.
 */

export type Labels<L extends string> = Readonly<Record<L, string>>;

export interface Counter<L extends string> {
  inc(labels: Labels<L>, by?: number): void;
}

export interface Gauge<L extends string> {
  set(labels: Labels<L>, value: number): void;
}

export interface Histogram<L extends string> {
  observe(labels: Labels<L>, value: number): void;
}

/** Runs before every render, to read values that are cheaper to ask for than to track (queue depth). */
export type CollectHook = () => void | Promise<void>;

type Kind = "counter" | "gauge" | "histogram";

interface HistogramSeries {
  readonly counts: number[];
  sum: number;
  count: number;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly kind: Kind;
  readonly labelNames: readonly string[];
  readonly buckets: readonly number[];
  /** Keyed by the rendered label set, e.g. `event="push"`, so rendering is a lookup. */
  readonly values: Map<string, number>;
  readonly histograms: Map<string, HistogramSeries>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class MetricsRegistry {
  readonly #families = new Map<string, Family>();
  readonly #hooks: CollectHook[] = [];

  counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    const family = this.#register(name, help, "counter", labelNames, []);
    return {
      inc: (labels, by = 1) => {
        // A counter only goes up; Prometheus reads a decrease as a process restart.
        if (!(by >= 0)) throw new CharterError("INTERNAL", `metric ${name}: a counter cannot be increased by ${by}`);
        const key = labelKey(family, labels);
        family.values.set(key, (family.values.get(key) ?? 0) + by);
      },
    };
  }

  gauge<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    const family = this.#register(name, help, "gauge", labelNames, []);
    return {
      set: (labels, value) => {
        family.values.set(labelKey(family, labels), value);
      },
    };
  }

  histogram<L extends string = never>(name: string, help: string, labelNames: readonly L[], buckets: readonly number[]): Histogram<L> {
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= (buckets[i - 1] ?? b)))) {
      throw new CharterError("INTERNAL", `metric ${name}: buckets must be finite and strictly increasing`);
    }
    const family = this.#register(name, help, "histogram", labelNames, buckets);
    return {
      observe: (labels, value) => {
        const key = labelKey(family, labels);
        let series = family.histograms.get(key);
        if (!series) {
          series = { counts: buckets.map(() => 0), sum: 0, count: 0 };
          family.histograms.set(key, series);
        }
        // Stored per bucket and made cumulative when rendered.
        const index = buckets.findIndex((upper) => value <= upper);
        if (index >= 0) series.counts[index] = (series.counts[index] ?? 0) + 1;
        series.sum += value;
        series.count += 1;
      },
    };
  }

  onCollect(hook: CollectHook): void {
    this.#hooks.push(hook);
  }

  /** Runs the collect hooks, then renders every family. A hook that throws fails the render. */
  async render(): Promise<string> {
    for (const hook of this.#hooks) await hook();
    const lines: string[] = [];
    for (const family of this.#families.values()) {
      lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.kind}`);
      if (family.kind === "histogram") renderHistogram(family, lines);
      else for (const [key, value] of family.values) lines.push(`${family.name}${braces(key)} ${formatNumber(value)}`);
    }
    return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
  }

  #register(name: string, help: string, kind: Kind, labelNames: readonly string[], buckets: readonly number[]): Family {
    if (!METRIC_NAME.test(name)) throw new CharterError("INTERNAL", `metric name "${name}" is not a valid Prometheus name`);
    if (this.#families.has(name)) throw new CharterError("INTERNAL", `metric ${name} is registered twice`);
    for (const label of labelNames) {
      // `le` is the histogram's own label; names starting with __ are reserved by Prometheus.
      if (!LABEL_NAME.test(label) || label.startsWith("__") || (kind === "histogram" && label === "le")) {
        throw new CharterError("INTERNAL", `metric ${name}: "${label}" is not a usable label name`);
      }
    }
    const family: Family = { name, help, kind, labelNames: [...labelNames], buckets, values: new Map(), histograms: new Map() };
    this.#families.set(name, family);
    return family;
  }
}

/** Renders a label set in the family's declared order; the exact set of names is required. */
function labelKey(family: Family, labels: Readonly<Record<string, string>>): string {
  const given = Object.keys(labels);
  if (given.length !== family.labelNames.length || family.labelNames.some((name) => !Object.hasOwn(labels, name))) {
    throw new CharterError("INTERNAL", `metric ${family.name} takes labels [${family.labelNames.join(", ")}], got [${given.join(", ")}]`);
  }
  return family.labelNames.map((name) => `${name}="${escapeLabelValue(labels[name] ?? "")}"`).join(",");
}

function renderHistogram(family: Family, lines: string[]): void {
  for (const [key, series] of family.histograms) {
    const prefix = key === "" ? "" : `${key},`;
    let cumulative = 0;
    family.buckets.forEach((upper, index) => {
      cumulative += series.counts[index] ?? 0;
      lines.push(`${family.name}_bucket{${prefix}le="${formatNumber(upper)}"} ${cumulative}`);
    });
    lines.push(`${family.name}_bucket{${prefix}le="+Inf"} ${series.count}`);
    lines.push(`${family.name}_sum${braces(key)} ${formatNumber(series.sum)}`);
    lines.push(`${family.name}_count${braces(key)} ${series.count}`);
  }
}

function braces(key: string): string {
  return key === "" ? "" : `{${key}}`;
}

/** In label values a backslash, a double quote and a line feed are escaped (format 0.0.4). */
function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** In HELP text only the backslash and the line feed are escaped. */
function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Seconds; a job is a handful of API calls, an evidence append with conflicts can take a minute. */
export const JOB_DURATION_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Charter's metrics, defined in one place so names and labels cannot drift between call sites. */
export interface CharterMetrics {
  readonly registry: MetricsRegistry;
  /** Webhook deliveries accepted, by event name (pull_request, push, …). */
  readonly webhooksReceived: Counter<"event">;
  /** Job run time by event and how the run ended: done, retry or dead. */
  readonly jobDuration: Histogram<"event" | "outcome">;
  /** Job runs that threw (retried or dead-lettered), by event. */
  readonly jobFailures: Counter<"event">;
  /**
   * GitHub API requests by HTTP method and final status ("none" when no response arrived). The
   * hooks wrap Octokit's retry and throttling plugins, so a retried request counts once, with
   * the status it finally got.
   */
  readonly githubRequests: Counter<"method" | "status">;
  /** x-ratelimit-remaining of the latest response, per x-ratelimit-resource (core, graphql, …). */
  readonly githubRateLimitRemaining: Gauge<"resource">;
  /** Records appended to evidence ledgers, by record kind (change, exception, provisioning, drift, …). */
  readonly evidenceAppends: Counter<"kind">;
  /** Records in a repository's ledger after the latest append this process made. */
  readonly ledgerRecords: Gauge<"repository">;
  /** Findings of a repository's latest drift run; 0 once it is back in line. */
  readonly driftFindings: Gauge<"repository">;
  /** Pass as the queue's WorkerOptions.onSettled. */
  readonly onJobSettled: (job: Job, outcome: "done" | "retry" | "dead", ms: number) => void;
  /** Reads the queue's stats on every scrape into the charter_jobs_* gauges. */
  observeQueue(queue: Pick<JobQueue, "stats">): void;
  render(): Promise<string>;
}

export function createCharterMetrics(): CharterMetrics {
  const registry = new MetricsRegistry();
  const webhooksReceived = registry.counter("charter_webhooks_received_total", "Webhook deliveries accepted, by event.", ["event"]);
  const queued = registry.gauge("charter_jobs_queued", "Jobs waiting to run for the first time.");
  const running = registry.gauge("charter_jobs_running", "Jobs running now.");
  const retrying = registry.gauge("charter_jobs_retrying", "Jobs that failed at least once and wait for their next attempt.");
  const dead = registry.gauge("charter_jobs_dead", "Dead-lettered jobs; `charter jobs` lists and retries them.");
  const oldest = registry.gauge("charter_job_oldest_age_seconds", "Age of the oldest job not yet done, in seconds; 0 when there is none.");
  const queueUp = registry.gauge("charter_job_queue_up", "1 when the latest scrape could read the job queue's stats, 0 when it could not.");
  const jobDuration = registry.histogram("charter_job_duration_seconds", "Job run time in seconds, by event and outcome (done, retry, dead).", ["event", "outcome"], JOB_DURATION_BUCKETS);
  const jobFailures = registry.counter("charter_job_failures_total", "Job runs that threw, retried or dead-lettered, by event.", ["event"]);
  const githubRequests = registry.counter("charter_github_requests_total", "GitHub API responses, by method and status (none: no response).", ["method", "status"]);
  const githubRateLimitRemaining = registry.gauge("charter_github_rate_limit_remaining", "x-ratelimit-remaining of the latest GitHub response, by rate-limit resource.", ["resource"]);
  const evidenceAppends = registry.counter("charter_evidence_appends_total", "Records appended to evidence ledgers, by kind.", ["kind"]);
  const ledgerRecords = registry.gauge("charter_ledger_records", "Records in a repository's evidence ledger after this process's latest append.", ["repository"]);
  const driftFindings = registry.gauge("charter_drift_findings", "Findings of a repository's latest drift run: where the providers differ from the approved state.", ["repository"]);

  return {
    registry,
    webhooksReceived,
    jobDuration,
    jobFailures,
    githubRequests,
    githubRateLimitRemaining,
    evidenceAppends,
    ledgerRecords,
    driftFindings,
    onJobSettled: (job, outcome, ms) => {
      jobDuration.observe({ event: job.event, outcome }, ms / 1000);
      if (outcome !== "done") jobFailures.inc({ event: job.event });
    },
    observeQueue: (queue) => {
      registry.onCollect(async () => {
        let stats: QueueStats;
        try {
          stats = await queue.stats();
        } catch {
          // The scrape still answers, so the other metrics and this gauge reach the alerting; the
          // queue gauges keep the last values read. Readiness reports the queue itself.
          queueUp.set({}, 0);
          return;
        }
        queueUp.set({}, 1);
        queued.set({}, stats.queued);
        running.set({}, stats.running);
        retrying.set({}, stats.retrying);
        dead.set({}, stats.dead);
        oldest.set({}, stats.oldestAgeSeconds);
      });
    },
    render: () => registry.render(),
  };
}
