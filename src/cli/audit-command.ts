import { join, resolve } from "node:path";
import type { AuditStore } from "../audit/audit-store.js";
import { gitLedgerSource } from "../audit/git-ledger-source.js";
import { timeOption } from "../evidence/instant.js";
import type { LedgerSource } from "../audit/ledger-source.js";
import { DEFAULT_POSTGRES_SCHEMA, openPostgresIndex } from "../audit/postgres-index.js";
import { pageChangeLines } from "../audit/change-lines.js";
import { agentAt, countAgents, knowsAgent, countAgentsAt, countChanges, countExceptions, pageAgents, pageAgentsAt, pageChanges, pageExceptions } from "../audit/queries.js";
import { chooseReportFormat, footerText, formatReport, type LedgerFooter, type PageFooter } from "../audit/report-format.js";
import { accessReviewAtReport, accessReviewReport, agentAtReport, changesReport, exceptionsReport } from "../audit/reports.js";
import { openSqliteIndex } from "../audit/sqlite-index.js";
import { updateIndex } from "../audit/update-index.js";
import { type Answer, writeAnswer } from "../audit/write-answer.js";
import { AGENT_CHANGE_KINDS, GOVERNANCE_CHANGE_KINDS } from "../change/change-set.js";
import { CharterError, isCharterError } from "../errors.js";
import { dataClassifications } from "../manifest/data-classifications.js";
import { gitOutput } from "../git/run-git.js";
import { EXIT, type CliIo } from "./io.js";
import { auditActionsCommand, auditTraceCommand } from "./audit-actions-command.js";
import { parseOptions } from "./parse-options.js";
import { gitRepository } from "./repository-option.js";
import { DEFAULT_EVIDENCE_BRANCH } from "./verify-command.js";

const AUDIT_HELP = `Usage: charter audit changes [--since TIME] [--until TIME] [--agent ID] [--kind KIND] [--approver LOGIN]
                             [--data-class CLASS] [--decision DECISION] [--emergency] [--retro-days N]
       charter audit agent ID --at TIME
       charter audit access-review [--at TIME]
       charter audit exceptions [--since TIME] [--until TIME] [--retro-days N] [--as-of TIME]
       the action trail's reports, actions and trace: see charter audit actions --help
       common options: [--format table|csv|json|md] [--limit N | --all] [--after CURSOR]
                       [--repo DIR] [--branch NAME] [--index PATH] [--rebuild]

Answers audit requests from an index of the evidence ledger. Every run first brings the index
up to the branch's tip, reading only records it has not seen; every line names the record(s) it
rests on (seq and SHA-256 prefix; charter evidence show --seq N shows one with its proof).

changes        recorded changes by GitHub's merge time: --since is inclusive, --until exclusive.
               --data-class matches the classes the agent held before or after the change;
               --kind is a change kind (permission-added, model-changed, ...); --emergency keeps
               emergency changes, with their retro-review status.
agent          the manifest facts in force at --at (owners, permissions, data classes, provider),
               the change record that put them there, and any exception after it.
access-review  every agent that is not deleted: owners, permissions, data classes, credential
               provider, last change, last approval, last sync, drift (SOC 2 CC6.2). With --at,
               every agent as it was approved at that moment, with the record that set it.
exceptions     admin bypasses, direct pushes, emergency changes without a completed retro-review
               --retro-days (default 7) after merge or flagged overdue, and unresolved drift.

Times are ISO 8601 (2026-03-03, 2026-03-03T14:00:00Z); without a zone they are UTC. A filter
value no record can hold (an unknown kind, data class or decision, an agent no record names) is
an error that lists what exists: an empty answer always means none.

  --limit N      show N rows and the population's size; the line under them gives the cursor
                 of the next page. The table shows 100 rows unless told otherwise; CSV, JSON and
                 Markdown write every row (streamed as read) unless --limit is given.
  --after CURSOR start after the last row of a previous page (the cursor it printed).
  --all          every row, in any format.

  --index PATH   the SQLite index (default: .charter/audit.sqlite in the clone's git directory).
                 Without --index and with DATABASE_URL set, the index is the PostgreSQL schema
                 CHARTER_AUDIT_SCHEMA (default ${DEFAULT_POSTGRES_SCHEMA}), shared by app replicas.
  --rebuild      drop the index and read every record again (after charter verify, when the
                 branch was rewritten).

Run charter verify first: the index reads the branch, it does not verify it.

Exit status: 0 answered (an empty answer means none), 2 usage error, a filter value no record can
hold, no evidence branch, a rewritten branch without --rebuild, or internal error.
`;

const SUBCOMMANDS = ["changes", "agent", "access-review", "exceptions"] as const;
const DECISIONS = ["approved", "pending", "blocked", "invalid"];
const CHANGE_KINDS: readonly string[] = [...AGENT_CHANGE_KINDS, ...GOVERNANCE_CHANGE_KINDS];
/** The manifest schema's agent id: a lowercase DNS label. */
const AGENT_ID = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** GitHub's logins: letters, digits and single hyphens, at most 39; apps end in [bot]. */
const LOGIN = /^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}(\[bot\])?$/;

/**
 * A filter value that no record can hold would answer "0 rows", which reads as "none": such
 * values are refused with the values that exist, so an answer of none always means none.
 */
function checkFilterValues(values: { readonly kind?: string | undefined; readonly "data-class"?: string | undefined; readonly decision?: string | undefined; readonly agent?: string | undefined; readonly approver?: string | undefined }): void {
  const oneOf = (option: string, value: string | undefined, allowed: readonly string[]): void => {
    if (value !== undefined && !allowed.includes(value)) throw new CharterError("USAGE", `--${option} ${JSON.stringify(value)} is not one that exists`, { hint: `Use one of: ${allowed.join(", ")}.` });
  };
  oneOf("kind", values.kind, CHANGE_KINDS);
  oneOf("data-class", values["data-class"], dataClassifications());
  oneOf("decision", values.decision, DECISIONS);
  if (values.agent !== undefined && !AGENT_ID.test(values.agent)) {
    throw new CharterError("USAGE", `--agent ${JSON.stringify(values.agent)} is not an agent id`, { hint: "Agent ids are lowercase DNS labels, as in agents/<id>/agent.yaml (e.g. support-triage)." });
  }
  const approver = values.approver?.replace(/^@/, "");
  if (approver !== undefined && !LOGIN.test(approver)) {
    throw new CharterError("USAGE", `--approver ${JSON.stringify(values.approver)} is not a GitHub login`, { hint: "Give the reviewer's login, e.g. --approver dana-support." });
  }
}

export async function auditCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    io.out(AUDIT_HELP);
    return sub === undefined ? EXIT.error : EXIT.ok;
  }
  // The action trail's questions read the trail store, not the ledger's index.
  if (sub === "actions") return auditActionsCommand(rest, io);
  if (sub === "trace") return auditTraceCommand(rest, io);
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) {
    throw new CharterError("USAGE", `unknown audit command "${sub}"`, { hint: `Use one of: ${SUBCOMMANDS.join(", ")}, actions, trace.` });
  }
  const { values, positionals } = parseOptions({
    args: rest,
    allowPositionals: sub === "agent",
    strict: true,
    options: {
      since: { type: "string" },
      until: { type: "string" },
      agent: { type: "string" },
      kind: { type: "string" },
      approver: { type: "string" },
      "data-class": { type: "string" },
      decision: { type: "string" },
      emergency: { type: "boolean" },
      "retro-days": { type: "string" },
      "as-of": { type: "string" },
      at: { type: "string" },
      format: { type: "string", default: "table" },
      repo: { type: "string" },
      branch: { type: "string" },
      index: { type: "string" },
      rebuild: { type: "boolean" },
      limit: { type: "string" },
      after: { type: "string" },
      all: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  }, AUDIT_HELP);
  if (values.help) {
    io.out(AUDIT_HELP);
    return EXIT.ok;
  }
  const format = chooseReportFormat(values.format);
  const since = values.since === undefined ? undefined : timeOption(values.since, "--since");
  const until = values.until === undefined ? undefined : timeOption(values.until, "--until");
  const now = values["as-of"] === undefined ? Date.now() : timeOption(values["as-of"], "--as-of");
  const retroDays = values["retro-days"] === undefined ? 7 : /^\d{1,6}$/.test(values["retro-days"]) ? Number(values["retro-days"]) : Number.NaN;
  if (Number.isNaN(retroDays)) throw new CharterError("USAGE", `--retro-days ${values["retro-days"] ?? ""} is not a number of days`, { hint: "Use a whole number, e.g. --retro-days 7." });
  checkFilterValues(values);
  if (values.all === true && values.limit !== undefined) throw new CharterError("USAGE", "--all and --limit ask for different things", { hint: "Give one of them." });
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!/^\d+$/.test(values.limit ?? "") || !Number.isSafeInteger(limit) || limit < 1)) {
    throw new CharterError("USAGE", `--limit ${values.limit ?? ""} is not a number of rows`, { hint: "Use a whole number of at least 1, e.g. --limit 100, or --all." });
  }
  if (sub === "agent" && (values.limit !== undefined || values.after !== undefined || values.all === true)) {
    throw new CharterError("USAGE", "charter audit agent answers about one agent; it has no pages", { hint: "Leave out --limit, --after and --all." });
  }
  const pageSize = values.all === true ? undefined : (limit ?? (format === "table" ? TABLE_ROWS : undefined));
  let agentId: string | undefined;
  let at: number | undefined;
  if (sub === "agent") {
    agentId = positionals[0];
    if (agentId === undefined || positionals.length > 1) throw new CharterError("USAGE", "name one agent", { hint: "charter audit agent finance-reconciliation --at 2026-03-03" });
    if (!AGENT_ID.test(agentId)) throw new CharterError("USAGE", `${JSON.stringify(agentId)} is not an agent id`, { hint: "Agent ids are lowercase DNS labels, as in agents/<id>/agent.yaml (e.g. support-triage)." });
    if (values.at === undefined) throw new CharterError("USAGE", "charter audit agent needs --at TIME", { hint: "charter audit agent finance-reconciliation --at 2026-03-03T12:00:00Z" });
    at = timeOption(values.at, "--at");
  } else if (values.at !== undefined) {
    if (sub !== "access-review") throw new CharterError("USAGE", `charter audit ${sub} has no --at`, { hint: "Use --since and --until for a period; --at is for audit agent and audit access-review." });
    at = timeOption(values.at, "--at");
  }

  const root = await gitRepository(io.cwd, values.repo, "--repo");
  const { branch, source } = await openBranch(root, values.branch);
  let store: AuditStore | undefined;
  try {
    store = await openIndex(root, io.cwd, values.index);
    const updated = await updateIndex(store, source, { rebuild: values.rebuild === true });
    const footer: LedgerFooter = { branch, commit: source.commit, size: updated.size, tipHash: updated.lastHash, index: store.location };
    const named = sub === "agent" ? agentId : values.agent;
    if (named !== undefined && !(await knowsAgent(store, named))) {
      throw new CharterError("NOT_FOUND", `no record of the ledger names an agent ${JSON.stringify(named)}`, { hint: "charter audit access-review lists the agents; deleted agents keep their records." });
    }
    if (sub === "agent") {
      const answer = await agentAt(store, agentId ?? "", at ?? 0);
      io.out(format === "json" ? JSON.stringify({ report: "agent", ledger: footer, ...answer }, null, 2) + "\n" : formatReport(agentAtReport(answer), format, footer));
      if (format === "csv") io.err(`${footerText(footer)}\n`);
      return EXIT.ok;
    }
    const auditStore = store;
    const write = <T>(answer: Answer<T>): Promise<PageFooter | undefined> => writeAnswer(answer, { format, footer, pageSize, after: values.after, out: (text) => {
      io.out(text);
    } });
    let page: PageFooter | undefined;
    if (sub === "changes") {
      const filter = {
        ...(since === undefined ? {} : { since }),
        ...(until === undefined ? {} : { until }),
        ...(values.agent === undefined ? {} : { agent: values.agent }),
        ...(values.kind === undefined ? {} : { kind: values.kind }),
        ...(values.approver === undefined ? {} : { approver: values.approver.replace(/^@/, "") }),
        ...(values["data-class"] === undefined ? {} : { dataClass: values["data-class"] }),
        ...(values.decision === undefined ? {} : { decision: values.decision }),
        ...(values.emergency === true ? { emergency: true } : {}),
      };
      page = await write({
        read: (p) => pageChanges(auditStore, filter, p),
        count: () => countChanges(auditStore, filter),
        report: (rows) => changesReport(rows, now, retroDays),
        rendered: (p, rendered) => pageChangeLines(auditStore, filter, p, rendered, now, retroDays),
      });
    } else if (sub === "access-review" && at !== undefined) {
      const atMs = at;
      page = await write({ read: (p) => pageAgentsAt(auditStore, atMs, p), count: () => countAgentsAt(auditStore, atMs), report: (rows) => accessReviewAtReport(rows, new Date(atMs).toISOString()) });
    } else if (sub === "access-review") {
      page = await write({ read: (p) => pageAgents(auditStore, p), count: () => countAgents(auditStore), report: accessReviewReport });
    } else {
      const filter = { ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }), now, retroDays };
      page = await write({ read: (p) => pageExceptions(auditStore, filter, p), count: () => countExceptions(auditStore, filter), report: exceptionsReport });
    }
    // CSV stays pure data; what it was computed from, and where the next page starts, go to stderr.
    if (format === "csv") {
      const paging = page === undefined ? "" : `; ${page.total} rows in all${page.next === null ? "" : `; the next page: --after ${page.next}`}`;
      io.err(`${footerText(footer)}${paging}\n`);
    }
    return EXIT.ok;
  } finally {
    await source.close();
    await store?.close();
  }
}

/** Rows a table shows when no --limit or --all is given: a screenful that says how many there are in all. */
const TABLE_ROWS = 100;
export async function openIndex(root: string, cwd: string, indexOption: string | undefined): Promise<AuditStore> {
  if (indexOption !== undefined) return openSqliteIndex(resolve(cwd, indexOption));
  const url = process.env["DATABASE_URL"];
  if (url !== undefined && url !== "") return openPostgresIndex(url, process.env["CHARTER_AUDIT_SCHEMA"] ?? DEFAULT_POSTGRES_SCHEMA);
  const gitDir = (await gitOutput(root, ["rev-parse", "--absolute-git-dir"])).toString("utf8").trim();
  return openSqliteIndex(join(gitDir, ".charter", "audit.sqlite"));
}

/** The evidence branch: as named, or its remote-tracking copy in a fresh clone. */
export async function openBranch(root: string, name: string | undefined): Promise<{ branch: string; source: LedgerSource }> {
  const candidates = name === undefined ? [DEFAULT_EVIDENCE_BRANCH, `origin/${DEFAULT_EVIDENCE_BRANCH}`] : name.includes("/") ? [name] : [name, `origin/${name}`];
  for (const branch of candidates) {
    try {
      return { branch, source: await gitLedgerSource(root, branch) };
    } catch (error) {
      if (!isCharterError(error) || error.code !== "NOT_FOUND") throw error;
    }
  }
  throw new CharterError("NOT_FOUND", `no evidence branch ${candidates.join(" or ")} in ${root}`, { hint: `Fetch it first (git fetch origin ${DEFAULT_EVIDENCE_BRANCH}), or name it with --branch.` });
}
