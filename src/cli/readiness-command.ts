import { timeOption } from "../evidence/instant.js";
import { CharterError } from "../errors.js";
import { dataClassifications } from "../manifest/data-classifications.js";
import { parseDuration } from "../manifest/duration.js";
import { evaluateReadiness } from "../readiness/evaluate.js";
import { periodArgs as readinessPeriodArgs } from "../readiness/record-body.js";
import type { AuditStore } from "../audit/audit-store.js";
import { openBranch, openIndex } from "./audit-command.js";
import { chooseFormat } from "./choose-format.js";
import { EXIT, type CliIo } from "./io.js";
import { parseOptions } from "./parse-options.js";
import { readinessAt } from "./readiness-at.js";
import { gatherReadinessFacts } from "./readiness-facts.js";
import { formatReadiness, READINESS_FORMATS } from "./readiness-formats.js";
import { gitRepository } from "./repository-option.js";

const READINESS_HELP = `Usage: charter readiness [--since TIME] [--until TIME] [--format text|json|csv|md]
                         [--query-budget MS] [--respond-within DURATION] [--retro-days N] [--data-class CLASS]
                         [--key VERIFIER_KEY]... [--witness KEY]... [--min-witnesses N]
                         [--repo DIR] [--branch NAME] [--index PATH] [--db PATH]
       charter readiness --at TIME [--format text|json|csv|md] [--key VERIFIER_KEY]...
                         [--witness KEY]... [--min-witnesses N] [--repo DIR] [--branch NAME]

SOC 2 readiness, item by item, judged on the evidence itself for the period (--since inclusive,
default the beginning; --until exclusive, default now): the ledger on the evidence branch, the
action trail and the alerts. Each item answers pass, fail or not applicable (nothing to check,
and why), with the number checked, every failure named with how to fix it, and the records,
events, alerts and commands that prove it, so an auditor can sample from it.

  inventory          every identity that acted belongs to an agent with a manifest (CC6.1)
  identities         none is shared by two agents or used outside its agent (CC6.1, CC6.2)
  enforcement        every permission of an active agent is enforced by a configured provider
                     and recorded by an attested trail source, per agent and system (CC6.1, CC6.3)
  integrity          the ledger and the trail verify, as charter verify and charter trail verify
                     check them; sealed segments are anchored; --witness as charter verify (CC7.2, CC8.1)
  queryable          the seed query (--data-class, default customer-pii, outside allowed hours)
                     runs on the real store within --query-budget (default 1000 ms) (CC7.2, CC7.3)
  change-management  every model, prompt or permission change approved before merge (emergency:
                     a completed retro-review), tested, with a rollback plan; every exception
                     followed up (CC8.1)
  alerting           every alert evaluated within --respond-within (default 24h), with a reason (CC7.2, CC7.3)
  completeness       no attested source silent or gapped in the period (CC7.2)

The verifier key is --key, else evidence.verifierKey pinned in .github/charter.yml at HEAD; a
ledger checked only against the key the branch itself publishes fails integrity. The providers
are the policy's at HEAD. --db, --index and --branch find the stores as charter trail and
charter audit do (DATABASE_URL for PostgreSQL).

--at TIME shows the report as it stood then: the readiness record the app wrote last at or
before TIME (CHARTER_READINESS_INTERVAL), on a ledger verified as charter verify checks it. The
items that rest on the ledger are re-evaluated from the records before that record, the rest on
the facts it froze (the trail's counts and verification, the seed query's time, the alerts); a
record that disagrees with its evidence is reported and fails. It needs only a clone of the
evidence branch: no trail, no alert store, no index.

Exit status: 0 every item passes or has nothing to check, 1 an item fails (with --at, also: the ledger does not verify or the record disagrees with it), 2 usage error, no
evidence branch, or internal error.
`;

/** Milliseconds from --query-budget: a whole number, at least 1. */
function budget(value: string | undefined): number {
  if (value === undefined) return 1000;
  if (!/^\d{1,7}$/.test(value) || Number(value) < 1) throw new CharterError("USAGE", `--query-budget ${JSON.stringify(value)} is not a number of milliseconds`, { hint: "e.g. --query-budget 1000" });
  return Number(value);
}

export async function readinessCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      since: { type: "string" },
      until: { type: "string" },
      at: { type: "string" },
      format: { type: "string", default: "text" },
      "query-budget": { type: "string" },
      "respond-within": { type: "string" },
      "retro-days": { type: "string" },
      "data-class": { type: "string" },
      key: { type: "string", multiple: true },
      witness: { type: "string", multiple: true },
      "min-witnesses": { type: "string" },
      repo: { type: "string" },
      branch: { type: "string" },
      index: { type: "string" },
      db: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }, READINESS_HELP);
  if (values.help) {
    io.out(READINESS_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new CharterError("USAGE", `unexpected argument ${JSON.stringify(positionals[0])}`, { hint: "charter readiness takes options only; see charter readiness --help." });
  const format = chooseFormat(values.format, READINESS_FORMATS);
  if (values.at !== undefined) {
    const live = (["since", "until", "query-budget", "respond-within", "retro-days", "data-class", "index", "db"] as const).find((name) => values[name] !== undefined);
    if (live !== undefined) throw new CharterError("USAGE", `--at cannot be combined with --${live}`, { hint: "--at shows a recorded report as it was judged; its period and limits are the record's." });
  }
  const atMs = values.at === undefined ? undefined : timeOption(values.at, "--at");
  const nowMs = Date.now();
  const sinceMs = values.since === undefined ? null : timeOption(values.since, "--since");
  const untilMs = values.until === undefined ? nowMs : timeOption(values.until, "--until");
  if (sinceMs !== null && sinceMs >= untilMs) throw new CharterError("USAGE", "--since is not before --until", { hint: "Give a period that starts before it ends." });
  const respond = parseDuration(values["respond-within"] ?? "24h");
  if (respond === undefined || respond <= 0) throw new CharterError("USAGE", `--respond-within ${JSON.stringify(values["respond-within"])} is not a duration`, { hint: "e.g. 30m, 4h, 1d" });
  const retroDays = values["retro-days"] === undefined ? 7 : /^\d{1,6}$/.test(values["retro-days"]) ? Number(values["retro-days"]) : Number.NaN;
  if (Number.isNaN(retroDays)) throw new CharterError("USAGE", `--retro-days ${values["retro-days"] ?? ""} is not a number of days`, { hint: "Use a whole number, e.g. --retro-days 7." });
  const seedClass = values["data-class"] ?? "customer-pii";
  if (!dataClassifications().includes(seedClass)) throw new CharterError("USAGE", `--data-class ${JSON.stringify(seedClass)} is not a data classification`, { hint: `Use one of: ${dataClassifications().join(", ")}.` });
  const witnesses = values.witness ?? [];
  const minWitnesses = values["min-witnesses"] === undefined ? witnesses.length : /^\d{1,3}$/.test(values["min-witnesses"]) ? Number(values["min-witnesses"]) : Number.NaN;
  if (Number.isNaN(minWitnesses) || minWitnesses > witnesses.length) throw new CharterError("USAGE", `--min-witnesses ${values["min-witnesses"] ?? ""} is not a number of the --witness keys given`, { hint: "Give at most as many as there are --witness keys." });
  const periodArgs = readinessPeriodArgs(sinceMs, untilMs);

  const root = await gitRepository(io.cwd, values.repo, "--repo");
  const { branch, source } = await openBranch(root, values.branch);
  if (atMs !== undefined) {
    try {
      return await readinessAt({ root, branch, source, atMs, keys: values.key ?? [], witnesses, minWitnesses, format }, io);
    } finally {
      await source.close();
    }
  }
  let index: AuditStore | undefined;
  try {
    index = await openIndex(root, io.cwd, values.index);
    const { facts, notes } = await gatherReadinessFacts({
      root,
      cwd: io.cwd,
      env: process.env,
      branch,
      source,
      index,
      sinceMs,
      untilMs,
      nowMs,
      periodArgs,
      keys: values.key ?? [],
      witnesses,
      minWitnesses,
      db: values.db,
      queryBudgetMs: budget(values["query-budget"]),
      respondWithinMs: respond * 1000,
      retroDays,
      seedClass,
    });
    for (const note of notes) io.err(`charter readiness: ${note}\n`);
    const report = evaluateReadiness(facts);
    io.out(formatReadiness(report, format));
    return report.status === "pass" ? EXIT.ok : EXIT.findings;
  } finally {
    await source.close();
    await index?.close();
  }
}
