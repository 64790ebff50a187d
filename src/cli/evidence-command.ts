import { parseCanonical } from "../evidence/canonical-json.js";
import type { EvidenceRecord } from "../schema-types/evidence-record.generated.js";
import { inclusionProof, leafHash, rootOf } from "../evidence/merkle.js";
import { recordHash } from "../evidence/record.js";
import { csvTable } from "../evidence/csv.js";
import { inPopulation, POPULATION_COLUMNS, populationRow, populationTime } from "../evidence/population.js";
import { CharterError, isCharterError } from "../errors.js";
import { readBranchFiles } from "../git/branch-files.js";
import { chooseFormat } from "./choose-format.js";
import { EXIT, type CliIo } from "./io.js";
import { parseOptions, usageOf } from "./parse-options.js";
import { gitRepository } from "./repository-option.js";
import { DEFAULT_EVIDENCE_BRANCH } from "./verify-command.js";

const EVIDENCE_HELP = `Usage: charter evidence export [--since DATE] [--until DATE] [--format csv|json] [--repo DIR] [--branch NAME]
       charter evidence show (PR_NUMBER | --seq N) [--repo DIR] [--branch NAME]

export   the population of recorded changes and exceptions, one row each, for sampling:
         seq, kind, pull request, title, url, author, merged by, merged at (GitHub's time),
         recorded at, decision, exception kind, reason, emergency, agents, change kinds,
         highest risk, approvers, checks, commits, record path and hash. A column a record
         does not carry is empty (an exception has no decision, a change no reason).
         --since/--until filter by GitHub's merge time, or for an exception by when it was
         recorded; dates are ISO 8601 (2026-01-01 or 2026-01-01T00:00:00Z), --until is exclusive.
show     one record as stored, with its hash and its Merkle inclusion proof in the current log.

Run charter verify first: these commands read the branch, they do not check it.

Exit status: 0 printed, 2 usage error, no such record, no evidence branch, or internal error.
`;

const EXPORT_FORMATS = ["csv", "json"] as const;

export async function evidenceCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    io.out(EVIDENCE_HELP);
    return sub === undefined ? EXIT.error : EXIT.ok;
  }
  if (sub !== "export" && sub !== "show") throw new CharterError("USAGE", `unknown evidence command "${sub}"`, { hint: usageOf(EVIDENCE_HELP) });
  const { values, positionals } = parseOptions(
    {
      args: rest,
      allowPositionals: sub === "show",
      strict: true,
      options: {
        since: { type: "string" },
        until: { type: "string" },
        seq: { type: "string" },
        format: { type: "string", default: sub === "export" ? "csv" : "text" },
        repo: { type: "string" },
        branch: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    },
    EVIDENCE_HELP,
  );
  if (values.help) {
    io.out(EVIDENCE_HELP);
    return EXIT.ok;
  }
  const root = await gitRepository(io.cwd, values.repo, "--repo");
  const ledger = await readLedger(root, values.branch);
  if (sub === "export") {
    const format = chooseFormat(values.format, EXPORT_FORMATS);
    const since = parseDate(values.since, "--since");
    const until = parseDate(values.until, "--until");
    const rows = ledger
      .filter((e) => inPopulation(e.record) && within(populationTime(e.record), since, until))
      .map((e) => populationRow(e.record, e.path, recordHash(e.bytes)));
    io.out(format === "json" ? JSON.stringify(rows, null, 2) + "\n" : csvTable(POPULATION_COLUMNS, rows, (row, column) => row[column]));
    return EXIT.ok;
  }
  const given = values.seq ?? positionals[0] ?? "";
  const wanted = /^\d{1,15}$/.test(given) ? Number(given) : Number.NaN;
  if (Number.isNaN(wanted) || positionals.length > (values.seq === undefined ? 1 : 0)) throw new CharterError("USAGE", "give a pull request number or --seq N", { hint: "charter evidence show 42, or charter evidence show --seq 7" });
  const entry = values.seq !== undefined ? ledger.find((e) => e.record.seq === wanted) : ledger.find((e) => e.record.kind === "change" && e.record.body.pullRequest.number === wanted);
  if (!entry) throw new CharterError("NOT_FOUND", values.seq !== undefined ? `no record ${wanted}` : `no change record for pull request #${wanted}`, { hint: "charter evidence export lists what is recorded." });
  const leaves = ledger.map((e) => leafHash(e.bytes));
  const index = ledger.indexOf(entry);
  const proof = inclusionProof(index, leaves).map((h) => Buffer.from(h).toString("hex"));
  io.out(
    [
      `record ${entry.record.seq} (${entry.record.kind}) at ${entry.path}`,
      `sha256 ${recordHash(entry.bytes)}`,
      `included in a log of ${leaves.length} records with Merkle root ${Buffer.from(rootOf(leaves)).toString("hex")}`,
      `inclusion proof (RFC 6962, leaf ${index}):`,
      ...proof.map((h) => `  ${h}`),
      "",
      JSON.stringify(entry.record, null, 2),
      "",
    ].join("\n"),
  );
  return EXIT.ok;
}

interface LedgerEntry {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly record: EvidenceRecord;
}

async function readLedger(root: string, branchOption: string | undefined): Promise<LedgerEntry[]> {
  const candidates = branchOption === undefined ? [DEFAULT_EVIDENCE_BRANCH, `origin/${DEFAULT_EVIDENCE_BRANCH}`] : [branchOption];
  for (const branch of candidates) {
    try {
      const read = await readBranchFiles(root, branch, ["records/"]);
      return read.files.map((f) => ({ path: f.path, bytes: f.bytes, record: parseCanonical(f.bytes) as EvidenceRecord })).sort((a, b) => a.record.seq - b.record.seq);
    } catch (error) {
      if (!isCharterError(error) || error.code !== "NOT_FOUND") throw error;
    }
  }
  throw new CharterError("NOT_FOUND", `no evidence branch ${candidates.join(" or ")}`, { hint: `Fetch it first (git fetch origin ${DEFAULT_EVIDENCE_BRANCH}), or name it with --branch.` });
}

function parseDate(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new CharterError("USAGE", `${option} ${JSON.stringify(value)} is not a date`, { hint: "Use ISO 8601, e.g. 2026-01-01 or 2026-01-01T00:00:00Z." });
  return ms;
}

function within(time: string, since: number | undefined, until: number | undefined): boolean {
  const ms = Date.parse(time);
  return (since === undefined || ms >= since) && (until === undefined || ms < until);
}

