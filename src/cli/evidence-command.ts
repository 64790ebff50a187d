import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseCanonical } from "../evidence/canonical-json.js";
import type { EvidenceRecord } from "../evidence/evidence-record.generated.js";
import { inclusionProof, leafHash, rootOf } from "../evidence/merkle.js";
import { recordHash } from "../evidence/record.js";
import { csvTable } from "../evidence/csv.js";
import { inPopulation, POPULATION_COLUMNS, populationRow } from "../evidence/population.js";
import { CharterError, isCharterError } from "../errors.js";
import { findRepositoryRoot } from "../fs/find-manifests.js";
import { readBranchFiles } from "../git/branch-files.js";
import { chooseFormat } from "./choose-format.js";
import { EXIT, type CliIo } from "./io.js";
import { DEFAULT_EVIDENCE_BRANCH } from "./verify-command.js";

export const EVIDENCE_HELP = `Usage: charter evidence export [--since DATE] [--until DATE] [--format csv|json] [--repo DIR] [--branch NAME]
       charter evidence show (PR_NUMBER | --seq N) [--repo DIR] [--branch NAME]

export   the population of recorded changes and exceptions, one row each, for sampling:
         seq, kind, pull request, title, author, merged by, merged at (GitHub's time), decision,
         emergency, agents, change kinds, highest risk, approvers, checks, record path and hash.
         --since/--until filter by GitHub's merge time (exceptions: by when they were observed);
         dates are ISO 8601 (2026-01-01 or 2026-01-01T00:00:00Z), --until is exclusive.
show     one record as stored, with its hash and its Merkle inclusion proof in the current log.

Run charter verify first: these commands read the branch, they do not check it.
`;

const EXPORT_FORMATS = ["csv", "json"] as const;

export async function evidenceCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    io.out(EVIDENCE_HELP);
    return sub === undefined ? EXIT.error : EXIT.ok;
  }
  const { values, positionals } = parseArgs({
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
    },
  });
  const root = values.repo === undefined ? findRepositoryRoot(io.cwd) : resolve(io.cwd, values.repo);
  const ledger = await readLedger(root, values.branch);
  if (sub === "export") {
    const format = chooseFormat(values.format, EXPORT_FORMATS);
    const since = parseDate(values.since, "--since");
    const until = parseDate(values.until, "--until");
    const rows = ledger.filter((e) => inPopulation(e.record)).map((e) => populationRow(e.record, e.path, recordHash(e.bytes))).filter((r) => within(r.mergedAt, since, until));
    io.out(format === "json" ? JSON.stringify(rows, null, 2) + "\n" : csvTable(POPULATION_COLUMNS, rows, (row, column) => row[column]));
    return EXIT.ok;
  }
  if (sub === "show") {
    const wanted = values.seq !== undefined ? Number(values.seq) : Number(positionals[0]);
    if (!Number.isSafeInteger(wanted) || wanted < 0) throw new CharterError("USAGE", "give a pull request number or --seq N", { hint: "charter evidence show 42, or charter evidence show --seq 7" });
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
  throw new CharterError("USAGE", `unknown evidence command "${sub}"`, { hint: "Use charter evidence export or charter evidence show." });
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

