import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { CharterError, isCharterError } from "../errors.js";
import { parseCanonical } from "../evidence/canonical-json.js";
import { checkCompleteness, firstRecordedCommit } from "../evidence/completeness.js";
import type { EvidenceRecord } from "../evidence/evidence-record.generated.js";
import { CHECKPOINT_PATH, PUBLIC_KEY_PATH } from "../evidence/ledger.js";
import { verifyLedger, type VerifyReport } from "../evidence/verify.js";
import { findRepositoryRoot } from "../fs/find-manifests.js";
import { readBranchFiles } from "../git/branch-files.js";
import { isRemoteSpec, withRemoteClone } from "../git/remote-clone.js";
import { defaultBranch, firstParent, governedHistory } from "../git/governed-history.js";
import { chooseFormat } from "./choose-format.js";
import { EXIT, type CliIo } from "./io.js";

export const VERIFY_FORMATS = ["text", "json"] as const;
export const DEFAULT_EVIDENCE_BRANCH = "charter-evidence";

export const VERIFY_HELP = `Usage: charter verify [--repo DIR|URL] [--branch NAME] [--key KEY]... [--trusted-checkpoint FILE] [--format text|json]

Verifies the evidence ledger on a clone, offline: every record is canonical JSON and matches
its schema, no record is missing, duplicated, edited, reordered or backdated (each holds the
previous record's hash), the Merkle root of all records matches the branch's checkpoint, the
checkpoint is signed by a trusted key, and the log still contains the tree of a checkpoint you
saved earlier (catches truncation and rewritten history), and complete: every commit on the
default branch that changed agents or governance files since the first recorded merge is a
recorded pull request's merge or part of a recorded exception.

  --repo DIR|URL            a clone of the repository (default: the nearest directory holding .git),
                            or its address (https://…, ssh://…, git@host:…, file://…), cloned
                            bare into a temporary directory for the check and removed afterwards
  --branch NAME             the evidence branch (default: ${DEFAULT_EVIDENCE_BRANCH}, or origin/${DEFAULT_EVIDENCE_BRANCH})
  --key KEY                 a verifier key you trust, as published in your documentation
                            (repeatable). Without it the key published on the branch itself is
                            used, which proves integrity but not who signed.
  --trusted-checkpoint FILE a checkpoint you saved from an earlier verification
  --default-branch REF      the branch whose history must be complete (default: origin/HEAD,
                            main or master)
  --format                  text (default) or json: { ok, branch, commit, size, root, keySource, problems[] }

Exit status: 0 verified, 1 not verified (the first problem names the record and why), 2 usage
or internal error.
`;

export async function verifyCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    allowPositionals: false,
    strict: true,
    options: {
      repo: { type: "string" },
      branch: { type: "string" },
      key: { type: "string", multiple: true },
      "trusted-checkpoint": { type: "string" },
      "default-branch": { type: "string" },
      format: { type: "string", default: "text" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.out(VERIFY_HELP);
    return EXIT.ok;
  }
  const format = chooseFormat(values.format, VERIFY_FORMATS);
  if (values.repo !== undefined && isRemoteSpec(values.repo)) return withRemoteClone(values.repo, (root) => verifyAt(root, values, format, io));
  const root = values.repo === undefined ? findRepositoryRoot(io.cwd) : resolve(io.cwd, values.repo);
  return verifyAt(root, values, format, io);
}

interface VerifyOptions {
  readonly branch?: string | undefined;
  readonly key?: string[] | undefined;
  readonly "trusted-checkpoint"?: string | undefined;
  readonly "default-branch"?: string | undefined;
}

async function verifyAt(root: string, values: VerifyOptions, format: (typeof VERIFY_FORMATS)[number], io: CliIo): Promise<number> {
  const { branch, read } = await readEvidenceBranch(root, values.branch);

  const text = (path: string): string | undefined => {
    const file = read.files.find((f) => f.path === path);
    return file ? new TextDecoder().decode(file.bytes) : undefined;
  };
  const published = text(PUBLIC_KEY_PATH)?.trim();
  const keys = values.key ?? (published ? [published] : []);
  if (keys.length === 0) {
    throw new CharterError("USAGE", `${branch} has no ${PUBLIC_KEY_PATH} file and no --key was given`, { hint: "Pass the verifier key from your documentation with --key." });
  }
  let trusted: string | undefined;
  if (values["trusted-checkpoint"] !== undefined) {
    try {
      trusted = readFileSync(resolve(io.cwd, values["trusted-checkpoint"]), "utf8");
    } catch {
      throw new CharterError("NOT_FOUND", `${values["trusted-checkpoint"]}: no such file`, { hint: "Pass a checkpoint saved from an earlier charter verify." });
    }
  }

  const records = read.files.filter((f) => f.path.startsWith("records/"));
  const report = verifyLedger({
    records,
    checkpoint: text(CHECKPOINT_PATH) ?? "",
    verifierKeys: keys,
    ...(trusted === undefined ? {} : { trustedCheckpoint: trusted }),
  });
  const unexpected = read.unexpected.map((path) => ({ path, code: "path-invalid" as const, message: `${path} is not a regular file (a link or submodule cannot be evidence)` }));
  const completeness = await checkHistory(root, values["default-branch"], records);
  const problems: Problem[] = [...report.problems, ...unexpected, ...completeness.problems];
  const keySource = values.key ? "given" : "branch";
  const ok = problems.length === 0;
  io.out(render({ ...report, ok, problems }, { branch, commit: read.commit, keySource, checkpoint: text(CHECKPOINT_PATH), completeness: completeness.summary }, format));
  return ok ? EXIT.ok : EXIT.findings;
}

interface Problem {
  readonly seq?: number;
  readonly path?: string;
  readonly code: string;
  readonly message: string;
}

/** Reconciles the default branch's history with the records (see checkCompleteness). */
async function checkHistory(root: string, branchOption: string | undefined, files: readonly { path: string; bytes: Uint8Array }[]): Promise<{ problems: Problem[]; summary: string }> {
  const records: EvidenceRecord[] = [];
  for (const f of files) {
    try {
      records.push(parseCanonical(f.bytes) as EvidenceRecord);
    } catch (error) {
      // Unparseable records are already reported by the ledger check.
      if (!isCharterError(error)) throw error;
    }
  }
  records.sort((a, b) => a.seq - b.seq);
  const branch = branchOption ?? (await defaultBranch(root));
  if (branch === null) {
    return { problems: [{ code: "completeness-unchecked", message: "no default branch found to reconcile the records with; pass --default-branch" }], summary: "" };
  }
  const first = firstRecordedCommit(records);
  if (first === null) return { problems: [], summary: `complete: no change recorded yet, nothing on ${branch} to reconcile` };
  const since = await firstParent(root, first);
  const history = since === null ? [] : await governedHistory(root, branch, since);
  const result = checkCompleteness(records, history, since);
  const problems = result.uncovered.map((c) => ({
    code: "incomplete",
    message: `commit ${c.sha.slice(0, 12)} on ${branch} changed ${c.paths.slice(0, 3).join(", ")}${c.paths.length > 3 ? "…" : ""} but no change or exception record covers it`,
  }));
  return { problems, summary: `complete: ${result.checked} governed commit${result.checked === 1 ? "" : "s"} on ${branch} since ${since?.slice(0, 12) ?? "the start"}, each recorded` };
}

/** The evidence branch: as named, or its remote-tracking copy in a fresh clone. */
async function readEvidenceBranch(root: string, name: string | undefined) {
  const candidates = name === undefined ? [DEFAULT_EVIDENCE_BRANCH, `origin/${DEFAULT_EVIDENCE_BRANCH}`] : name.includes("/") ? [name] : [name, `origin/${name}`];
  let last: unknown;
  for (const branch of candidates) {
    try {
      return { branch, read: await readBranchFiles(root, branch, ["records/", CHECKPOINT_PATH, PUBLIC_KEY_PATH]) };
    } catch (error) {
      if (!isCharterError(error) || error.code !== "NOT_FOUND") throw error;
      last = error;
    }
  }
  throw new CharterError("NOT_FOUND", `no evidence branch ${candidates.join(" or ")} in ${root}`, {
    hint: `Fetch it first (git fetch origin ${DEFAULT_EVIDENCE_BRANCH}), or name it with --branch.`,
    cause: last,
  });
}

function render(
  report: Omit<VerifyReport, "problems"> & { problems: readonly Problem[] },
  context: { branch: string; commit: string; keySource: string; checkpoint: string | undefined; completeness: string },
  format: (typeof VERIFY_FORMATS)[number],
): string {
  if (format === "json") {
    return JSON.stringify({ ok: report.ok, branch: context.branch, commit: context.commit, size: report.size, root: report.root, keySource: context.keySource, problems: report.problems }, null, 2) + "\n";
  }
  let out = "";
  if (report.ok) {
    out += `verified: ${report.size} record${report.size === 1 ? "" : "s"} on ${context.branch} (${context.commit.slice(0, 12)}), Merkle root ${report.root}\n`;
    if (context.completeness) out += `${context.completeness}\n`;
    if (context.keySource === "branch") out += "note: checked against the key published on the branch itself; pass --key from your documentation to also prove who signed.\n";
    if (context.checkpoint) out += "\nSave this checkpoint; pass it with --trusted-checkpoint next time to prove nothing was rewritten since:\n\n" + context.checkpoint;
    return out;
  }
  out += `NOT verified: ${report.problems.length} problem${report.problems.length === 1 ? "" : "s"} on ${context.branch} (${context.commit.slice(0, 12)})\n`;
  for (const p of report.problems) out += `${p.path ?? (p.seq === undefined ? "checkpoint" : `record ${p.seq}`)}  ${p.code}  ${p.message}\n`;
  return out;
}
