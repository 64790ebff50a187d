import { parseOptions } from "./parse-options.js";
import { timeOption } from "../evidence/instant.js";
import { csvCell } from "../audit/report-format.js";
import { CharterError } from "../errors.js";
import { countActions, type ActionFilter, offHoursOrAll, pageActions, traceEvents } from "../sources/trail-queries.js";
import type { TrailEvent } from "../trail/event.js";
import type { ManifestVersion } from "../trail/manifest-timeline.js";
import { EXIT, type CliIo } from "./io.js";
import { loadCliContext } from "./trail-context-loader.js";
import { COMMON_OPTIONS, repositoryRoot, withStore } from "./trail-command.js";

const ACTIONS_HELP = `Usage: charter audit actions [--agent ID] [--since TIME] [--until TIME] [--resource PATTERN]
                             [--data-class CLASS] [--action ACTION] [--outcome allowed|denied|error]
                             [--outside-hours] [--out-of-scope] [--unattributed] [--source KIND[/INSTANCE]]
                             [--attested-only] [--by-agent]
                             [--format table|json|csv|ndjson] [--limit N | --all] [--after CURSOR] [--db PATH]
       charter audit trace TRACE_ID [--format table|json] [--db PATH] [--repo DIR]

actions  what agents did, from the action trail, in observed-time order: every event matching
         the filters, with the population's size. --resource is the permission vocabulary's
         resource without the action (postgres:crm.public.customers@crm-prod; a final * matches
         a prefix). --outside-hours: outside the agent's runtime.allowedHours in its time zone;
         --out-of-scope: not within the manifest in force at the time. --unattributed: by an
         identity no manifest owns (the alert log's own records, --source charter-alerts, are
         Charter's, not an identity's, and are left out). --by-agent prints the
         population per agent instead of the events (the off-hours question:
         charter audit actions --data-class customer-pii --outside-hours --since 2025-12-01 --by-agent).
trace    one task reconstructed: the tool span and every SQL statement that carried its trace
         id (sqlcommenter traceparent), in order, each with who acted, the manifest version and
         change record in force, its approvers, and the outcome.

Pages and cursors work as in the other audit reports (--limit, --after, --all).

Exit status: 0 answered (an empty answer means none), 2 usage error, no trail, or internal error.
`;

const FORMATS = ["table", "json", "csv", "ndjson"] as const;
const TABLE_ROWS = 100;

const COLUMNS: readonly [string, (e: TrailEvent) => string | number | null][] = [
  ["seq", (e) => e.seq],
  ["observed_at", (e) => e.observedAt],
  ["agent", (e) => e.agent ?? "(unattributed)"],
  ["principal", (e) => e.principal],
  ["action", (e) => e.action],
  ["resource", (e) => (e.system === null || e.resource === null ? "" : `${e.system}:${e.resource}${e.instance === null ? "" : `@${e.instance}`}`)],
  ["data_classes", (e) => e.dataClasses.join(" ")],
  ["outcome", (e) => e.outcome],
  ["local_time", (e) => (e.localDay === null ? "" : `${e.localDay} ${String(e.localHour).padStart(2, "0")}h`)],
  ["within_hours", (e) => (e.withinHours === null ? "" : e.withinHours ? "yes" : "no")],
  ["in_scope", (e) => (e.inScope === null ? "" : e.inScope ? "yes" : "no")],
  ["manifest", (e) => (e.manifestSeq === null ? "" : `record ${e.manifestSeq} ${e.manifestCommit?.slice(0, 12) ?? ""}`)],
  ["source", (e) => `${e.source}/${e.sourceInstance}${e.attested ? "" : " (self-reported)"}`],
  ["flags", (e) => e.flags.join(" ")],
  ["trace", (e) => e.traceId ?? ""],
  ["id", (e) => e.id],
];

export async function auditActionsCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOptions({
    args: [...argv],
    strict: true,
    options: {
      ...COMMON_OPTIONS,
      agent: { type: "string" },
      since: { type: "string" },
      until: { type: "string" },
      resource: { type: "string" },
      "data-class": { type: "string" },
      action: { type: "string" },
      outcome: { type: "string" },
      "outside-hours": { type: "boolean" },
      "out-of-scope": { type: "boolean" },
      unattributed: { type: "boolean" },
      source: { type: "string" },
      "attested-only": { type: "boolean" },
      "by-agent": { type: "boolean" },
      format: { type: "string", default: "table" },
      limit: { type: "string" },
      after: { type: "string" },
      all: { type: "boolean" },
    },
  }, ACTIONS_HELP);
  if (values.help) {
    io.out(ACTIONS_HELP);
    return EXIT.ok;
  }
  const format = values.format;
  if (!(FORMATS as readonly string[]).includes(format)) throw new CharterError("USAGE", `unknown format "${format}"`, { hint: `Use one of: ${FORMATS.join(", ")}.` });
  if (values.outcome !== undefined && !["allowed", "denied", "error"].includes(values.outcome)) throw new CharterError("USAGE", `--outcome ${JSON.stringify(values.outcome)} is not an outcome`, { hint: "Use allowed, denied or error." });
  if (values.all === true && values.limit !== undefined) throw new CharterError("USAGE", "--all and --limit ask for different things", { hint: "Give one of them." });
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!/^\d+$/.test(values.limit ?? "") || limit < 1)) throw new CharterError("USAGE", `--limit ${values.limit ?? ""} is not a number of rows`, { hint: "e.g. --limit 100, or --all." });
  const filter: ActionFilter = {
    ...(values.agent === undefined ? {} : { agent: values.agent }),
    ...(values.since === undefined ? {} : { since: timeOption(values.since, "--since") }),
    ...(values.until === undefined ? {} : { until: timeOption(values.until, "--until") }),
    ...(values.resource === undefined ? {} : { resource: values.resource }),
    ...(values["data-class"] === undefined ? {} : { dataClass: values["data-class"] }),
    ...(values.action === undefined ? {} : { action: values.action }),
    ...(values.outcome === undefined ? {} : { outcome: values.outcome as "allowed" | "denied" | "error" }),
    ...(values["outside-hours"] === true ? { outsideHours: true } : {}),
    ...(values["out-of-scope"] === true ? { outOfScope: true } : {}),
    ...(values.unattributed === true ? { unattributed: true } : {}),
    ...(values.source === undefined ? {} : { source: values.source }),
    ...(values["attested-only"] === true ? { attestedOnly: true } : {}),
  };
  return withStore(io, values.db, async (store) => {
    if (values["by-agent"] === true) {
      if (values.resource !== undefined || values.action !== undefined || values.outcome !== undefined || values["out-of-scope"] === true || values.unattributed === true || values.source !== undefined || values["attested-only"] === true) {
        throw new CharterError("USAGE", "--by-agent counts over agent, data class, allowed hours and time only", { hint: "Leave out the other filters, or list the events without --by-agent." });
      }
      const population = await offHoursOrAll(store, filter);
      if (format === "json") io.out(`${JSON.stringify({ report: "actions by agent", trail: store.location, filter, ...population }, null, 2)}\n`);
      else {
        io.out(`Actions by agent: ${population.total} event${population.total === 1 ? "" : "s"}\n\n`);
        for (const a of population.byAgent) io.out(`${(a.agent ?? "(unattributed)").padEnd(32)}  ${String(a.events)}\n`);
      }
      return EXIT.ok;
    }
    const pageSize = values.all === true ? undefined : (limit ?? (format === "table" ? TABLE_ROWS : undefined));
    const out = writer(format, io);
    let after = values.after;
    let next: string | null;
    for (;;) {
      const page = await pageActions(store, filter, { ...(pageSize === undefined ? { limit: 1000 } : { limit: pageSize }), ...(after === undefined ? {} : { after }) });
      out.rows(page.rows);
      next = page.next;
      if (pageSize !== undefined || next === null) break;
      after = next;
    }
    const total = await countActions(store, filter);
    out.end(total, pageSize === undefined ? null : next, store.location);
    return EXIT.ok;
  });
}

function writer(format: string, io: CliIo): { rows: (events: readonly TrailEvent[]) => void; end: (total: number, next: string | null, location: string) => void } {
  let shown = 0;
  const cells: string[][] = [];
  // Resource names and principals come from whoever issued the request: no control characters reach the terminal.
  // eslint-disable-next-line no-control-regex -- flattening control characters is the point
  const flat = (v: string | number | null): string => (v === null ? "" : String(v).replace(/[\u0000-\u001F\u007F-\u009F\u2028\u2029]+/g, " "));
  const footer = (total: number, next: string | null, location: string): string =>
    `${shown} of ${total} event${total === 1 ? "" : "s"}${next === null ? "" : `; the next page: --after ${next} (or --all)`}; trail ${location}`;
  switch (format) {
    case "ndjson":
      return {
        rows: (events) => {
          for (const e of events) io.out(`${JSON.stringify(e)}\n`);
          shown += events.length;
        },
        end: (total, next, location) => {
          io.err(`${footer(total, next, location)}\n`);
        },
      };
    case "json": {
      const all: TrailEvent[] = [];
      return {
        rows: (events) => {
          all.push(...events);
          shown += events.length;
        },
        end: (total, next, location) => {
          io.out(`${JSON.stringify({ report: "actions", trail: location, total, next, events: all }, null, 2)}\n`);
        },
      };
    }
    case "csv":
      io.out(`${COLUMNS.map(([h]) => csvCell(h)).join(",")}\r\n`);
      return {
        rows: (events) => {
          for (const e of events) io.out(`${COLUMNS.map(([, f]) => csvCell(f(e))).join(",")}\r\n`);
          shown += events.length;
        },
        end: (total, next, location) => {
          io.err(`${footer(total, next, location)}\n`);
        },
      };
    default: {
      const brief = COLUMNS.filter(([h]) => !["principal", "source", "trace", "id"].includes(h));
      return {
        rows: (events) => {
          for (const e of events) cells.push(brief.map(([, f]) => flat(f(e))));
          shown += events.length;
        },
        end: (total, next, location) => {
          const widths = brief.map(([h], i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
          const line = (values: readonly string[]): string => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
          io.out(["Actions", "", line(brief.map(([h]) => h)), ...cells.map(line), "", footer(total, next, location), ""].join("\n"));
        },
      };
    }
  }
}

export async function auditTraceCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions({ args: [...argv], allowPositionals: true, strict: true, options: { ...COMMON_OPTIONS, branch: { type: "string" }, format: { type: "string", default: "table" } } }, ACTIONS_HELP);
  if (values.help) {
    io.out(ACTIONS_HELP);
    return EXIT.ok;
  }
  const traceId = positionals[0];
  if (traceId === undefined || positionals.length > 1) throw new CharterError("USAGE", "name one trace id", { hint: "charter audit trace 4bf92f3577b34da6a3ce929d0e0e4736" });
  return withStore(io, values.db, async (store) => {
    const events = await traceEvents(store, traceId.toLowerCase());
    if (events.length === 0) throw new CharterError("NOT_FOUND", `no event of trace ${traceId} in the trail`, { hint: "charter audit actions --format json shows the trace ids recorded." });
    const { context } = await loadCliContext(store, repositoryRoot(io, values.repo), process.env, values.branch);
    const authorization = (e: TrailEvent): ManifestVersion | null => (e.agent === null || e.manifestSeq === null ? null : (context.timeline.versions(e.agent).find((v) => v.seq === e.manifestSeq) ?? null));
    const steps = events.map((e) => {
      const v = authorization(e);
      return {
        seq: e.seq,
        observedAt: e.observedAt,
        source: `${e.source}/${e.sourceInstance}`,
        attested: e.attested,
        identity: { agent: e.agent, principal: e.principal, ...(e.claimedAgent === null ? {} : { claimedAgent: e.claimedAgent }) },
        action: e.action,
        resource: e.resource,
        tool: e.tool,
        outcome: e.outcome,
        errorCode: e.errorCode,
        inScope: e.inScope,
        withinHours: e.withinHours,
        dataClasses: e.dataClasses,
        authorization: e.manifestSeq === null ? null : { changeRecord: e.manifestSeq, commit: e.manifestCommit, pullRequest: v?.pullRequest ?? null, decision: v?.decision ?? null, approvers: v?.approvers ?? [] },
        flags: e.flags,
        id: e.id,
        spanId: e.spanId,
      };
    });
    if (values.format === "json") {
      io.out(`${JSON.stringify({ trace: traceId, events: steps }, null, 2)}\n`);
      return EXIT.ok;
    }
    io.out(`Trace ${traceId}: ${steps.length} event${steps.length === 1 ? "" : "s"}, ${steps[0]?.observedAt ?? ""} to ${steps.at(-1)?.observedAt ?? ""}\n\n`);
    for (const s of steps) {
      const who = `${s.identity.agent ?? "(unattributed)"} as ${s.identity.principal}`;
      const what = s.tool !== null ? `tool ${s.tool}` : `${s.action} ${s.resource ?? ""}`.trim();
      const auth = s.authorization === null ? "no manifest in force" : `manifest of change record ${s.authorization.changeRecord} (${s.authorization.commit?.slice(0, 12) ?? ""}${s.authorization.pullRequest === null ? "" : `, PR #${s.authorization.pullRequest}`}${s.authorization.approvers.length === 0 ? "" : `, approved by ${s.authorization.approvers.join(" ")}`})`;
      io.out(`${s.observedAt}  ${s.source}${s.attested ? "" : " (self-reported)"}  ${who}: ${what} → ${s.outcome}${s.errorCode === null ? "" : ` ${s.errorCode}`}${s.inScope === false ? ", OUT OF SCOPE" : ""}${s.withinHours === false ? ", outside allowed hours" : ""}\n    ${auth}${s.flags.length === 0 ? "" : `; flags: ${s.flags.join(" ")}`}\n`);
    }
    return EXIT.ok;
  });
}
