import { existsSync } from "node:fs";
import { CharterError } from "../errors.js";
import type { DeadJob, JobQueue, QueueStats } from "../jobs/job-queue.js";
import { openJobQueue, queueLocation } from "../jobs/open-queue.js";
import { chooseFormat } from "./choose-format.js";
import { EXIT, type CliIo } from "./io.js";
import { parseOptions } from "./parse-options.js";

const JOBS_FORMATS = ["text", "json"] as const;
type Format = (typeof JOBS_FORMATS)[number];

const JOBS_HELP = `Usage: charter jobs [--format text|json]
       charter jobs dead [--limit N] [--format text|json]
       charter jobs retry ID... | --all [--format text|json]

The app's durable job queue: every webhook is stored as a job before GitHub gets its answer, and
a job that keeps failing ends in the dead-letter list instead of being lost.

  (no subcommand)  counts: queued, running, retrying (failed, waiting for the next attempt),
                   dead, and the age of the oldest unfinished job
  dead             the dead-lettered jobs, newest first: id, event, key, delivery, attempts,
                   when it failed and its last error
  retry ID...      puts these dead jobs back in the queue with a full set of attempts
  retry --all      puts every dead job back in the queue

  --limit N        how many dead jobs to list (default 20)
  --format         text (default) or json

The queue is opened as the app opens it: PostgreSQL when DATABASE_URL is set, otherwise the
SQLite file CHARTER_QUEUE_DB (default .charter/queue.sqlite in the working directory).

Exit status: 0 ok; 1 when there are dead jobs (no subcommand) or when an ID given to retry was
not a dead job; 2 usage or internal error.
`;

export async function jobsCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions(
    {
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        limit: { type: "string" },
        all: { type: "boolean" },
        format: { type: "string", default: "text" },
        help: { type: "boolean", short: "h" },
      },
    },
    JOBS_HELP,
  );
  if (values.help) {
    io.out(JOBS_HELP);
    return EXIT.ok;
  }
  const format = chooseFormat(values.format, JOBS_FORMATS);
  const [sub, ...ids] = positionals;
  if (sub !== undefined && sub !== "dead" && sub !== "retry") {
    throw new CharterError("USAGE", `unknown jobs subcommand "${sub}"`, { hint: "Use charter jobs, charter jobs dead or charter jobs retry." });
  }
  if (sub !== "dead" && values.limit !== undefined) throw new CharterError("USAGE", "--limit applies to charter jobs dead only");
  if (sub !== "retry" && (values.all === true || ids.length > 0)) throw new CharterError("USAGE", `unexpected ${values.all === true ? "--all" : `argument "${ids[0] ?? ""}"`}`, { hint: "Run charter jobs --help." });
  if (sub === "retry" && (values.all === true) === ids.length > 0) {
    throw new CharterError("USAGE", "charter jobs retry needs either job ids or --all", { hint: "List the dead jobs and their ids with charter jobs dead." });
  }
  const limit = sub === "dead" ? parseLimit(values.limit) : 0;

  const queue = openQueue(io.cwd);
  try {
    if (sub === "dead") {
      io.out(renderDead(await queue.listDead(limit), format));
      return EXIT.ok;
    }
    if (sub === "retry") {
      const revived = await queue.retryDead(values.all === true ? [] : ids);
      io.out(format === "json" ? `${JSON.stringify({ revived })}\n` : `revived ${revived} dead job${revived === 1 ? "" : "s"}\n`);
      if (values.all !== true && revived < ids.length) {
        io.err(`charter: ${ids.length - revived} of the ids given ${ids.length - revived === 1 ? "is" : "are"} not a dead job; list them with charter jobs dead\n`);
        return EXIT.findings;
      }
      return EXIT.ok;
    }
    const stats = await queue.stats();
    io.out(renderStats(stats, format));
    return stats.dead > 0 ? EXIT.findings : EXIT.ok;
  } finally {
    await queue.close();
  }
}

/** The queue as the app opens it; a SQLite file that does not exist is reported, not created. */
function openQueue(cwd: string): JobQueue {
  const location = queueLocation(process.env, cwd);
  if (location.kind === "sqlite" && !existsSync(location.path)) {
    throw new CharterError("NOT_FOUND", `no job queue at ${location.path}`, {
      hint: "Run charter jobs in the app's working directory, or set CHARTER_QUEUE_DB (or DATABASE_URL) as the app has it.",
    });
  }
  return openJobQueue(process.env, { cwd });
}

function parseLimit(value: string | undefined): number {
  if (value === undefined) return 20;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new CharterError("USAGE", `--limit must be a positive whole number, not "${value}"`);
  return Number(value);
}

function renderStats(stats: QueueStats, format: Format): string {
  if (format === "json") return `${JSON.stringify(stats, null, 2)}\n`;
  const rows: [string, string][] = [
    ["queued", String(stats.queued)],
    ["running", String(stats.running)],
    ["retrying", String(stats.retrying)],
    ["dead", String(stats.dead)],
    ["oldest", stats.oldestAgeSeconds === 0 ? "-" : duration(stats.oldestAgeSeconds)],
  ];
  let out = rows.map(([name, value]) => `${name.padEnd(10)}${value}`).join("\n") + "\n";
  if (stats.dead > 0) out += `\n${stats.dead} dead job${stats.dead === 1 ? "" : "s"}: see charter jobs dead, then charter jobs retry ID... or --all once the cause is fixed.\n`;
  return out;
}

function renderDead(jobs: readonly DeadJob[], format: Format): string {
  if (format === "json") {
    const rows = jobs.map((j) => ({ id: j.id, event: j.event, key: j.key, deliveryId: j.deliveryId, attempts: j.attempt, lastError: j.lastError, failedAt: j.failedAt }));
    return `${JSON.stringify(rows, null, 2)}\n`;
  }
  if (jobs.length === 0) return "no dead jobs\n";
  const header = ["id", "event", "key", "delivery", "attempts", "failed at", "last error"];
  const rows = jobs.map((j) => [j.id, j.event, j.key, j.deliveryId, String(j.attempt), j.failedAt, firstLine(j.lastError)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3_600);
  const m = Math.floor((seconds % 3_600) / 60);
  const s = seconds % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}
