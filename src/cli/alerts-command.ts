import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import { timeOption } from "../evidence/instant.js";
import { CharterError } from "../errors.js";
import { ALERT_STATUSES, type AlertChange, type AlertStatus, type AlertStore, type AlertSuppression, MAX_SUPPRESSION_MS, type StoredAlert } from "../sources/alert-store.js";
import { openAlertStore } from "../sources/open-alert-store.js";
import { openTrailStore, trailLocation } from "../sources/open-trail-store.js";
import { evaluateAlert } from "../sources/alert-log.js";
import { chooseFormat } from "./choose-format.js";
import { parseOptions } from "./parse-options.js";
import { EXIT, type CliIo } from "./io.js";

const ALERTS_FORMATS = ["table", "json"] as const;
type Format = (typeof ALERTS_FORMATS)[number];

const ALERTS_HELP = `Usage: charter alerts list [--agent ID] [--rule ID] [--status open|acknowledged|resolved|suppressed] [--since TIME] [--limit N]
       charter alerts show ID
       charter alerts ack ID [--by LOGIN] [--reason TEXT]
       charter alerts resolve ID --reason TEXT [--by LOGIN]
       charter alerts suppress ID --reason TEXT --until TIME [--by LOGIN]
       charter alerts suppressions
       (each with [--format table|json] [--db PATH])

The alerts live detection raised in the running app, and their evaluation: acknowledging,
resolving and suppressing an alert records who did it, when and why, which is the CC7.3 record
of the event. An alert moves forwards only: open → acknowledged → resolved or suppressed.

  list      newest first (default 50): id, status, severity, rule, agent, fired, events
  show      one alert in full (ID or a prefix of at least 8 hex characters): rule, agent,
            owners, manifest version, events with trace ids, why it fired, its history
  ack       marks it acknowledged
  resolve   marks it resolved; --reason is required (what was found, what was done)
  suppress  marks it suppressed and stops escalating its agent and rule until --until (at most
            90 days): later alerts of both are still recorded, as suppressed, naming this one;
            --reason is required (why they are expected)
  suppressions  the suppressions in force: agent or principal, rule, until, by, why

  --agent ID --rule ID --status S --since TIME   filters for list (TIME: ISO 8601, alerts fired since)
  --by LOGIN      who evaluates it (default: the operating-system user)
  --db PATH       the SQLite trail file (default as the app: CHARTER_TRAIL_DB, or PostgreSQL with DATABASE_URL)
  --format        table (default) or json

Exit status: 0 ok; 1 list found open alerts; 2 usage error, unknown alert, or a status change
that goes backwards.
`;

const MAX_REASON = 2000;

export async function alertsCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      agent: { type: "string" },
      rule: { type: "string" },
      status: { type: "string" },
      since: { type: "string" },
      limit: { type: "string" },
      by: { type: "string" },
      reason: { type: "string" },
      until: { type: "string" },
      db: { type: "string" },
      format: { type: "string", default: "table" },
      help: { type: "boolean", short: "h" },
    },
  }, ALERTS_HELP);
  if (values.help) {
    io.out(ALERTS_HELP);
    return EXIT.ok;
  }
  const format = chooseFormat(values.format, ALERTS_FORMATS);
  const [sub, id, ...rest] = positionals;
  if (sub !== "list" && sub !== "show" && sub !== "ack" && sub !== "resolve" && sub !== "suppress" && sub !== "suppressions") {
    throw new CharterError("USAGE", sub === undefined ? "charter alerts needs a subcommand" : `unknown alerts subcommand "${sub}"`, { hint: "Use charter alerts list, show, ack, resolve, suppress or suppressions." });
  }
  const noId = sub === "list" || sub === "suppressions";
  if (rest.length > 0 || (noId && id !== undefined)) throw new CharterError("USAGE", `unexpected argument "${rest[0] ?? id ?? ""}"`, { hint: "Run charter alerts --help." });
  if (!noId && id === undefined) throw new CharterError("USAGE", `charter alerts ${sub} needs an alert id`, { hint: "List alerts and their ids with charter alerts list." });
  const listOnly = (["agent", "rule", "status", "since", "limit"] as const).find((k) => values[k] !== undefined);
  if (sub !== "list" && listOnly !== undefined) throw new CharterError("USAGE", `--${listOnly} applies to charter alerts list only`);
  const changing = sub === "ack" || sub === "resolve" || sub === "suppress";
  if (!changing && (values.by !== undefined || values.reason !== undefined)) throw new CharterError("USAGE", `--${values.by !== undefined ? "by" : "reason"} applies to ack, resolve and suppress only`);
  if (sub !== "suppress" && values.until !== undefined) throw new CharterError("USAGE", "--until applies to charter alerts suppress only");
  if ((sub === "resolve" || sub === "suppress") && (values.reason ?? "").trim() === "") {
    throw new CharterError("USAGE", `charter alerts ${sub} needs --reason`, { hint: sub === "resolve" ? "Say what was found and what was done: it is the evaluation of the event." : "Say why alerts of this agent and rule are expected: it is the evaluation of the event." });
  }
  const now = Date.now();
  const untilMs = sub === "suppress" ? suppressionEnd(values.until, now) : null;
  if ((values.reason ?? "").length > MAX_REASON) throw new CharterError("USAGE", `--reason is longer than ${MAX_REASON} characters`, { hint: "Link to a longer write-up instead." });

  const store = await openStore(io, values.db);
  try {
    if (sub === "list") {
      const status = values.status;
      if (status !== undefined && !ALERT_STATUSES.includes(status as AlertStatus)) throw new CharterError("USAGE", `--status ${JSON.stringify(status)} is not one of ${ALERT_STATUSES.join(", ")}`);
      const alerts = await store.list({
        limit: parseLimit(values.limit),
        ...(values.agent === undefined ? {} : { agent: values.agent }),
        ...(values.rule === undefined ? {} : { rule: values.rule }),
        ...(status === undefined ? {} : { status: status as AlertStatus }),
        ...(values.since === undefined ? {} : { sinceMs: timeOption(values.since, "--since") }),
      });
      io.out(renderList(alerts, format));
      return alerts.some((a) => a.status === "open") ? EXIT.findings : EXIT.ok;
    }
    if (sub === "suppressions") {
      io.out(renderSuppressions(await store.suppressions(now), format));
      return EXIT.ok;
    }
    const found = await store.get(id as string);
    if (found === null) throw new CharterError("NOT_FOUND", `no alert ${id as string}`, { hint: "Give the id (or 8 or more of its first characters) as charter alerts list shows it." });
    if (sub === "show") {
      io.out(renderShow(found, await store.history(found.alert.id), format));
      return EXIT.ok;
    }
    const by = values.by?.trim() || userInfo().username;
    const reason = values.reason?.trim() || null;
    const trail = await openTrailStore(process.env, io.cwd, values.db);
    let changed;
    try {
      changed = await evaluateAlert(store, trail, { id: found.alert.id, to: untilMs !== null ? "suppressed" : sub === "ack" ? "acknowledged" : "resolved", by, reason, untilMs }, now);
    } finally {
      await trail.close();
    }
    const until = untilMs === null ? "" : ` until ${new Date(untilMs).toISOString()}`;
    io.out(format === "json" ? `${JSON.stringify({ ...summary(changed), ...(untilMs === null ? {} : { until: new Date(untilMs).toISOString() }) })}\n` : `${changed.alert.id.slice(0, 12)} ${changed.status} by ${by} at ${changed.changedAt ?? ""}${until}\n`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

async function openStore(io: CliIo, db: string | undefined): Promise<AlertStore> {
  const location = trailLocation(process.env, io.cwd, db);
  if (location.kind === "sqlite" && !existsSync(location.path)) {
    throw new CharterError("NOT_FOUND", `no trail store at ${location.path}`, { hint: "Run it where the app runs, or pass --db with the app's CHARTER_TRAIL_DB." });
  }
  return openAlertStore(process.env, io.cwd, db);
}

/** A suppression must end, and within MAX_SUPPRESSION_MS: nobody silences a rule for good from a terminal. */
function suppressionEnd(value: string | undefined, now: number): number {
  if (value === undefined) throw new CharterError("USAGE", "charter alerts suppress needs --until", { hint: "Say when the suppression ends (ISO 8601), at most 90 days from now." });
  const until = timeOption(value, "--until");
  if (until <= now) throw new CharterError("USAGE", `--until ${value} is not in the future`, { hint: "Give a time after now, at most 90 days ahead." });
  if (until - now > MAX_SUPPRESSION_MS) throw new CharterError("USAGE", `--until ${value} is more than 90 days from now`, { hint: "Suppress for at most 90 days; suppress again when it ends if the reason still holds." });
  return until;
}

function parseLimit(value: string | undefined): number {
  if (value === undefined) return 50;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1 || n > 10_000) throw new CharterError("USAGE", `--limit ${JSON.stringify(value)} is not a number from 1 to 10000`);
  return n;
}

function summary(s: StoredAlert) {
  return { id: s.alert.id, status: s.status, severity: s.alert.severity, rule: s.alert.rule.id, agent: s.alert.agent, principal: s.alert.principal, firedAt: s.alert.firedAt, eventCount: s.alert.eventCount, changedBy: s.changedBy, changedAt: s.changedAt, reason: s.reason };
}

function renderList(alerts: readonly StoredAlert[], format: Format): string {
  if (format === "json") return `${JSON.stringify({ alerts: alerts.map(summary) })}\n`;
  if (alerts.length === 0) return "no alerts\n";
  const rows = alerts.map((s) => [s.alert.id.slice(0, 12), s.status, s.alert.severity, s.alert.rule.id, s.alert.agent ?? `(${s.alert.principal})`, s.alert.firedAt.slice(0, 19), String(s.alert.eventCount)]);
  return table(["ID", "STATUS", "SEVERITY", "RULE", "AGENT", "FIRED", "EVENTS"], rows);
}

function renderSuppressions(suppressions: readonly AlertSuppression[], format: Format): string {
  if (format === "json") return `${JSON.stringify({ suppressions })}\n`;
  if (suppressions.length === 0) return "no suppressions in force\n";
  const rows = suppressions.map((s) => {
    const [who = "", file = "", rule = ""] = s.key.split("\n");
    return [who, file === "builtin" ? rule : `${rule} [${file}]`, s.until.slice(0, 19), s.by, s.alertId.slice(0, 12), s.reason];
  });
  return table(["AGENT", "RULE", "UNTIL", "BY", "ALERT", "REASON"], rows);
}

function renderShow(s: StoredAlert, history: readonly AlertChange[], format: Format): string {
  if (format === "json") return `${JSON.stringify({ ...s, history })}\n`;
  const a = s.alert;
  const lines = [
    `alert ${a.id}`,
    `  status    ${s.status}${s.changedBy === null ? "" : ` (by ${s.changedBy} at ${s.changedAt ?? ""})`}`,
    `  rule      ${a.rule.id} (${a.rule.kind}) ${a.rule.title}${a.rule.file === null ? "" : ` [${a.rule.file}]`}`,
    `  severity  ${a.severity}${a.dataClasses.length > 0 ? ` (data: ${a.dataClasses.join(", ")})` : ""}`,
    `  agent     ${a.agent ?? "(unattributed)"}  principal ${a.principal}`,
    `  owners    ${a.owners.join(", ") || "none"}`,
    `  manifest  change record ${a.manifest.seq === null ? "none" : String(a.manifest.seq)}, commit ${a.manifest.commit ?? "none"}`,
    `  window    ${a.window.start} – ${a.window.end}, fired ${a.firedAt}, recorded ${s.recordedAt}`,
    `  escalated issue ${s.issueAt ?? "pending"}, webhook ${s.webhookAt ?? "pending or not configured"}`,
    `  events    ${String(a.eventCount)}`,
    ...a.events.map((e) => `    seq ${String(e.seq)}  ${e.observedAt}  ${e.id}${e.traceId === null ? "" : `  trace ${e.traceId}`}`),
    "  why",
  ];
  const walk = (r: { text: string; children: readonly { text: string; children: readonly unknown[] }[] }, depth: number): void => {
    lines.push(`${"  ".repeat(depth + 2)}${r.text}`);
    for (const c of r.children) walk(c as typeof r, depth + 1);
  };
  walk(a.why, 0);
  lines.push("  history", ...(history.length === 0 ? ["    (none)"] : history.map((h) => `    ${h.at}  ${h.from} → ${h.to}  by ${h.by}${h.reason === null ? "" : `: ${h.reason}`}`)));
  return `${lines.join("\n")}\n`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ");
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}
